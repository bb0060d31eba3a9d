"""How each layer's error reads on the proposal: the reason and message in status and in the Warning event, and
no second event while the message stays the same (one event per transition)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from fluxcd_helm_upgrader import config
from fluxcd_helm_upgrader.forges import base
from fluxcd_helm_upgrader.gitops import credentials, repos
from fluxcd_helm_upgrader.proposals import failures
from fluxcd_helm_upgrader.proposals.worker import Job
from tests import builders
from tests.fakes import FakeSecrets


def _raising(error: BaseException) -> Callable[[], Awaitable[Any]]:
    async def call() -> Any:
        raise error

    return call


@pytest.mark.parametrize(
    ("guard", "error", "reason", "message"),
    [
        (failures.git_call, repos.GitError("git fetch failed: Permission denied", repos.ErrorKind.AUTH), "GitFailed",
         "git (auth): git fetch failed: Permission denied"),
        (failures.git_call, repos.GitError("timed out after 300s", repos.ErrorKind.TIMEOUT), "GitFailed",
         "git (timeout): timed out after 300s"),
        (failures.git_call, credentials.CredentialError("secret flux-system/git has no known_hosts"), "GitFailed",
         "secret flux-system/git has no known_hosts"),
        (failures.git_call, FileNotFoundError("apps/release.yaml not found at main"), "ManifestNotFound",
         "file vanished from the repository: apps/release.yaml not found at main"),
        (failures.forge_call, base.ForgeError("Bad credentials", "auth", status=401), "ForgeFailed",
         "auth: Bad credentials"),
        (failures.forge_call, base.ForgeError("Validation Failed", "invalid", status=422), "ForgeFailed",
         "invalid: Validation Failed"),
    ],
    ids=["git-auth", "git-timeout", "credentials", "file-vanished", "forge-auth", "forge-invalid"],
)  # fmt: skip
async def test_each_layers_error_becomes_a_reason_and_a_message(
    guard: Callable[[Awaitable[Any]], Awaitable[Any]], error: BaseException, reason: str, message: str
) -> None:
    with pytest.raises(failures.JobError) as caught:
        await guard(_raising(error)())
    assert (caught.value.reason, str(caught.value)) == (reason, message)


async def test_other_errors_are_not_swallowed() -> None:
    with pytest.raises(RuntimeError):
        await failures.git_call(_raising(RuntimeError("a bug"))())
    assert await failures.forge_call(_async(42)) == 42


async def _async(value: Any) -> Any:
    return value


def test_failed_sets_the_phase_and_posts_a_warning_once() -> None:
    failure = failures.JobError("GitFailed", "git (auth): denied")
    body = builders.upgrade_proposal(status={"phase": "Open", "message": "pull request #1 opened"}, generation=5)
    status, event = failures.failed(body, failure)
    assert status is not None
    assert (status["phase"], status["message"], status["observedGeneration"]) == ("Failed", "git (auth): denied", 5)
    ready = status["conditions"][0]
    assert (ready["status"], ready["reason"], ready["message"]) == ("False", "GitFailed", "git (auth): denied")
    assert event == ("Warning", "GitFailed", "git (auth): denied")
    # Retried next cycle and failing the same way: nothing is written, no new event.
    assert failures.failed({**body, "status": status}, failure) == (None, None)
    # The same message for another reason, or after a spec change (a new generation), is a new status.
    other, event = failures.failed({**body, "status": status}, failures.JobError("ForgeFailed", str(failure)))
    assert other is not None and other["conditions"][0]["reason"] == "ForgeFailed" and event is None
    newer = builders.upgrade_proposal(status=status, generation=6)
    again, event = failures.failed(newer, failure)
    assert again is not None and again["observedGeneration"] == 6 and event is None


CONFIG = config.parse({"git": {"url": "https://github.com/acme/fleet.git", "secretRef": {"name": "git-creds"}},
                       "pullRequests": {"provider": "github", "secretRef": {"name": "gh"}}})  # fmt: skip
JOB = Job(namespace="flux-system", name="apps.podinfo", config_name="fleet", config_uid="uid-1", config=CONFIG)


@pytest.mark.parametrize(
    ("stored", "forge", "git"),
    [
        ({}, ("ForgeFailed", "secret flux-system/gh not found"),
         ("GitFailed", "secret flux-system/git-creds not found")),
        ({("flux-system", "gh"): {"username": b"bot"}, ("flux-system", "git-creds"): {"username": b"bot"}},
         ("ForgeFailed", "invalid: the secret has no token, bearerToken, password or githubApp* keys"),
         ("GitFailed", "secret flux-system/git-creds: username and password must be set together")),
    ],
    ids=["missing", "unusable"],
)  # fmt: skip
async def test_secrets_that_cannot_be_used_name_the_secret(
    stored: dict[tuple[str, str], dict[str, bytes]], forge: tuple[str, str], git: tuple[str, str]
) -> None:
    with pytest.raises(failures.JobError) as caught:
        await failures.forge_for(FakeSecrets(stored), JOB)
    assert (caught.value.reason, str(caught.value)) == forge
    with pytest.raises(failures.JobError) as caught:
        await failures.git_credentials(FakeSecrets(stored), JOB)
    assert (caught.value.reason, str(caught.value)) == git
