"""Where a GitHub App's JWT goes (issue 10, item 7): only to the App's own API (`githubAppBaseURL` in the Secret,
else `pullRequests.apiURL`), and never over plain http to a remote host. The installation token it buys then
opens the pull requests at `apiURL`."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader import config
from fluxcd_helm_upgrader.forges import app_tokens
from fluxcd_helm_upgrader.proposals import access
from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.testkit import github as standin
from tests.fakes import FakeSecrets
from tests.unit.forges.support import REPO, TOKEN


def _secret(app_keys: tuple[str, str], base_url: str | None) -> FakeSecrets:
    data = {"githubAppID": b"4242", "githubAppInstallationID": b"77", "githubAppPrivateKey": app_keys[0].encode()}
    if base_url is not None:
        data["githubAppBaseURL"] = base_url.encode()
    return FakeSecrets({("flux-system", "app"): data})


def _cfg(api_url: str) -> config.UpgraderConfigSpec:
    return config.parse({
        "git": {"url": "https://github.com/acme/fleet.git", "secretRef": {"name": "app"}},
        "pullRequests": {"provider": "github", "apiURL": api_url, "repository": REPO},
    })  # fmt: skip


async def test_the_jwt_goes_to_the_app_base_url_and_the_token_to_the_api(app_keys: tuple[str, str]) -> None:
    app_tokens.clear_cache()
    app = standin.App(app_id=4242, installation_id=77, public_key_pem=app_keys[1])
    async with (
        standin.GitHubStandIn(token=TOKEN, repositories=(REPO,)) as api,
        standin.GitHubStandIn(repositories=(), app=app, prefix="/api/v3") as app_api,
    ):
        api.minted_tokens = app_api.minted_tokens  # one GitHub behind two URLs: the API accepts what the App minted
        forge = await access.forge_for(_secret(app_keys, app_api.api_url), "flux-system", _cfg(api.api_url))
        assert await forge.find_pull_request("helm-upgrader/apps/podinfo") is None
    assert [c.path for c in app_api.calls] == ["/app/installations/77/access_tokens"]
    assert api.calls and not any(c.path.startswith("/app/") for c in api.calls)
    assert all(c.has_authorization and c.status == 200 for c in api.calls)


async def test_without_a_base_url_the_jwt_goes_to_the_api_url(app_keys: tuple[str, str]) -> None:
    app_tokens.clear_cache()
    app = standin.App(app_id=4242, installation_id=77, public_key_pem=app_keys[1])
    async with standin.GitHubStandIn(token=TOKEN, repositories=(REPO,), app=app) as api:
        forge = await access.forge_for(_secret(app_keys, None), "flux-system", _cfg(api.api_url))
        assert await forge.find_pull_request("helm-upgrader/apps/podinfo") is None
    assert api.calls[0].path == "/app/installations/77/access_tokens"


async def test_a_plain_http_app_base_url_on_a_remote_host_is_refused(app_keys: tuple[str, str]) -> None:
    with pytest.raises(secrets.SourceAuthError, match="https is required"):
        await access.forge_for(_secret(app_keys, "http://github.example.test/api/v3"), "flux-system",
                               _cfg("https://api.github.com"))  # fmt: skip
