"""GitHub App authentication, installation tokens for Git, secrets never leaking, stand-in payload shapes."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import pytest
from githubkit.compat import type_validate_python
from githubkit_schemas.v2026_03_10 import models

from fluxcd_helm_upgrader.forges import app_tokens, base, github, retrying
from fluxcd_helm_upgrader.testkit import github as standin
from fluxcd_helm_upgrader.testkit import github_payloads as payloads
from tests.unit.forges.support import REPO, TOKEN, Sleeps

BRANCH = "helm-upgrader/apps/podinfo"


def request() -> base.PullRequestRequest:
    return base.PullRequestRequest(
        repository=REPO,
        base="main",
        head=BRANCH,
        title="Update podinfo to 6.7.1 in apps/podinfo",
        body="body",
        labels=("dependencies",),
    )


def app_forge(
    gh: standin.GitHubStandIn, private_pem: str, policy: retrying.RetryPolicy, installation_id: int = 77
) -> github.GitHubForge:
    credentials = github.AppCredentials(app_id=4242, installation_id=installation_id, private_key_pem=private_pem)
    return github.GitHubForge(REPO, credentials, api_url=gh.api_url, retry=policy)


async def test_app_installation_token_is_minted_by_jwt_then_used(
    gh: standin.GitHubStandIn, app_keys: tuple[str, str], policy: retrying.RetryPolicy
) -> None:
    forge = app_forge(gh, app_keys[0], policy)
    result = await forge.open_or_update(request())
    await forge.find_pull_request(BRANCH)

    assert result.action == "created"
    mints = [c for c in gh.calls if c.path == "/app/installations/77/access_tokens"]
    assert [c.status for c in mints] == [201]  # the stand-in verified the JWT with the public key
    assert len(gh.minted_tokens) == 1  # cached by githubkit for the later calls
    repo_calls = [c for c in gh.calls if c.path.startswith("/repos/")]
    assert repo_calls and all(c.status in (200, 201) for c in repo_calls)


async def test_app_key_the_server_does_not_know_is_an_auth_error(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    with pytest.raises(base.ForgeError) as caught:
        await app_forge(gh, other, policy).find_pull_request(BRANCH)
    assert caught.value.kind == "auth"
    assert gh.minted_tokens == []
    assert "PRIVATE KEY" not in str(caught.value)


async def test_app_key_that_is_not_pem_is_invalid(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy, sleeps: Sleeps
) -> None:
    with pytest.raises(base.ForgeError) as caught:
        await app_forge(gh, "not a key at all", policy).find_pull_request(BRANCH)
    assert caught.value.kind == "invalid" and "private key" in str(caught.value)
    assert sleeps.delays == []


async def test_installation_token_for_git_is_cached_until_five_minutes_before_expiry(
    gh: standin.GitHubStandIn, app_keys: tuple[str, str], policy: retrying.RetryPolicy
) -> None:
    real_now = datetime.datetime.now(datetime.UTC)

    async def token_at(offset: datetime.timedelta) -> str:
        return await app_tokens.installation_token(
            gh.api_url, 4242, 77, app_keys[0], retry=policy, now=lambda: real_now + offset
        )

    first = await token_at(datetime.timedelta())
    assert first in gh.minted_tokens and first.startswith("ghs_")
    assert await token_at(datetime.timedelta(minutes=54)) == first
    assert len(gh.minted_tokens) == 1
    # The stand-in's tokens live one hour: with less than 5 minutes left a new one is minted.
    renewed = await token_at(datetime.timedelta(minutes=56))
    assert renewed != first and len(gh.minted_tokens) == 2
    # ...and it works for the API too (the same token Git would push with).
    forge = github.GitHubForge(REPO, github.TokenCredentials(renewed), api_url=gh.api_url, retry=policy)
    assert await forge.find_pull_request(BRANCH) is None


async def test_installation_token_for_unknown_installation_is_not_found(
    gh: standin.GitHubStandIn, app_keys: tuple[str, str], policy: retrying.RetryPolicy
) -> None:
    with pytest.raises(base.ForgeError) as caught:
        await app_tokens.installation_token(gh.api_url, 4242, 999, app_keys[0], retry=policy)
    assert caught.value.kind == "not_found"


async def test_canary_token_never_appears_in_errors_or_logs(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    forge = github.GitHubForge(REPO, github.TokenCredentials(TOKEN), api_url=gh.api_url, retry=policy)
    errors: list[base.ForgeError] = []
    # A server error page that echoes the credential back, retried until the attempts run out...
    gh.fail_next(4, status=500, message=f"upstream said: token {TOKEN} is odd")
    with pytest.raises(base.ForgeError) as echoed:
        await forge.open_or_update(request())
    errors.append(echoed.value)
    # ...and a plain auth failure with a wrong canary-like token.
    wrong = github.GitHubForge(REPO, github.TokenCredentials(TOKEN + "x"), api_url=gh.api_url, retry=policy)
    with pytest.raises(base.ForgeError) as denied:
        await wrong.open_or_update(request())
    errors.append(denied.value)

    assert "upstream said" in str(errors[0])  # the message is kept, only the secret is masked
    for error in errors:
        assert TOKEN not in str(error) and TOKEN not in repr(error)
    assert TOKEN not in caplog.text
    assert "retrying" in caplog.text  # the retries were logged, without the secret


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"token": "t1"}, github.TokenCredentials("t1")),
        ({"bearerToken": "t2"}, github.TokenCredentials("t2")),
        ({"username": "git", "password": "t3"}, github.TokenCredentials("t3")),
        (
            {"githubAppID": "12", "githubAppInstallationID": "34", "githubAppPrivateKey": "PEM"},
            github.AppCredentials(12, 34, "PEM"),
        ),
    ],
)
def test_credentials_from_secret(data: dict[str, str], expected: github.Credentials) -> None:
    assert github.credentials_from_secret(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "git"},
        {"githubAppID": "12", "githubAppPrivateKey": "PEM"},
        {"githubAppID": "x", "githubAppInstallationID": "34", "githubAppPrivateKey": "PEM"},
    ],
)
def test_incomplete_secrets_are_invalid(data: dict[str, str]) -> None:
    with pytest.raises(base.ForgeError) as caught:
        github.credentials_from_secret(data)
    assert caught.value.kind == "invalid"
    assert "PEM" not in str(caught.value)


def test_credentials_repr_hides_secrets() -> None:
    assert "s3cret" not in repr(github.TokenCredentials("s3cret"))
    assert "KEYDATA" not in repr(github.AppCredentials(1, 2, "KEYDATA"))


@pytest.mark.parametrize("repository", ["fleet", "acme/fleet/extra", "acme/", "/fleet", "ac me/fleet"])
def test_repository_must_be_owner_slash_name(repository: str) -> None:
    with pytest.raises(base.ForgeError):
        github.split_repository(repository)


URLS = payloads.Urls(api="http://127.0.0.1:1/api/v3", html="http://127.0.0.1:1")
PR = payloads.PullState(
    number=3,
    id=1003,
    title="t",
    body=None,
    head="b",
    base="main",
    draft=False,
    labels=["dependencies"],
    assignees=["alice"],
    reviewers=["bob"],
)


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        (models.PullRequest, payloads.pull(URLS, "acme", "fleet", PR)),
        (models.PullRequestSimple, payloads.pull(URLS, "acme", "fleet", PR)),
        (models.FullRepository, payloads.repository(URLS, "acme", "fleet")),
        (models.Label, payloads.label(URLS, "acme", "fleet", "dependencies")),
        (models.Issue, payloads.issue(URLS, "acme", "fleet", PR)),
        (models.InstallationToken, payloads.installation_token("ghs_x", "2030-01-01T00:00:00Z")),
    ],
)
def test_stand_in_payloads_satisfy_githubkit_models(model: Any, payload: dict[str, Any]) -> None:
    parsed = type_validate_python(model, payload)
    assert parsed.model_dump(by_alias=True, exclude_unset=True).keys() <= payload.keys()


def test_merged_payload_reads_as_merged() -> None:
    merged = payloads.PullState(
        number=1,
        id=1,
        title="t",
        body="b",
        head="h",
        base="main",
        draft=False,
        state="closed",
        merged=True,
        merged_at="2024-02-02T00:00:00Z",
    )
    parsed = type_validate_python(models.PullRequest, payloads.pull(URLS, "acme", "fleet", merged))
    assert parsed.merged and parsed.merged_at is not None and parsed.state == "closed"
