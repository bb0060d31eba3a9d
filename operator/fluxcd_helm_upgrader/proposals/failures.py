"""Why a Git worker job failed, as the user reads it: the `JobError` exception, each layer's errors mapped to a
reason, and the Failed status with its one event.

Raised by the actions (`proposals.publishing`, `proposals.following`) and turned into the proposal's status by
`proposals.processing` through `failed`. The mapping, one reason per layer:

* Git (`gitops.repos.GitError`, `gitops.credentials.CredentialError`): GitFailed, "git (<kind>): ..." (`git_call`);
  a Git Secret that cannot be read or used: GitFailed with its message (`git_credentials`).
* The forge (`forges.base.ForgeError`): ForgeFailed, "<kind>: ..." (`forge_call`, `forge_for`); a PR Secret that
  cannot be read: ForgeFailed with its message.
* A file gone from the checkout between locating and reading it: ManifestNotFound.

Messages are the errors' own texts, which each layer keeps free of secrets (redacted URLs, no token values).
A failure whose message is the one already in status posts no event again (one event per transition), and a retry
that fails with the reason and message the status already holds writes nothing (issue 11: a quiet cycle costs no
API write); status.lastAttemptTime then says when the failure was first seen, not when it was last retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluxcd_helm_upgrader.forges import base
from fluxcd_helm_upgrader.gitops import credentials, repos
from fluxcd_helm_upgrader.proposals import access, phases
from fluxcd_helm_upgrader.proposals.worker import Job
from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import proposals as proposals_


class JobError(Exception):
    """A job failed for a reason the user can act on; becomes phase Failed."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def failed(body: Mapping[str, Any], failure: JobError) -> phases.Transition:
    """Phase Failed with the failure's reason and message, and a Warning event; nothing at all when the status says
    exactly that already (a retry that failed the same way writes nothing: no status patch, no event)."""
    if phases.fails_with(body.get("status") or {}, failure.reason, str(failure), phases.generation(body)):
        return None, None
    new_status = phases.failed(body.get("status"), failure.reason, str(failure), phases.generation(body))
    reported = proposals_.upgrade_proposal(body).status.message == str(failure)
    event = None if reported else ("Warning", failure.reason, str(failure))
    return new_status, event


async def forge_for(core: secrets.SecretsApi, job: Job) -> base.Forge:
    """The forge of the job's config; a Secret or App token that cannot be used is ForgeFailed."""
    try:
        return await access.forge_for(core, job.namespace, job.config)
    except secrets.SourceAuthError as error:
        raise JobError(reasons.FORGE_FAILED, str(error)) from None
    except base.ForgeError as error:  # an App token that could not be minted, an unusable Secret
        raise JobError(reasons.FORGE_FAILED, f"{error.kind}: {error}") from None


async def git_credentials(core: secrets.SecretsApi, job: Job) -> credentials.Credentials:
    """The job's Git credentials; a Secret that cannot be read or used is GitFailed."""
    try:
        return await access.git_credentials(core, job.namespace, job.config)
    except (secrets.SourceAuthError, credentials.CredentialError) as error:
        raise JobError(reasons.GIT_FAILED, str(error)) from None


async def forge_call(awaitable: Any) -> Any:
    """Await a forge call; its ForgeError becomes ForgeFailed."""
    try:
        return await awaitable
    except base.ForgeError as error:
        raise JobError(reasons.FORGE_FAILED, f"{error.kind}: {error}") from None


async def git_call(awaitable: Any) -> Any:
    """Await a Git call; its GitError or CredentialError becomes GitFailed, a vanished file ManifestNotFound."""
    try:
        return await awaitable
    except repos.GitError as error:
        raise JobError(reasons.GIT_FAILED, f"git ({error.kind}): {error}") from None
    except credentials.CredentialError as error:
        raise JobError(reasons.GIT_FAILED, str(error)) from None
    except FileNotFoundError as error:
        raise JobError(reasons.MANIFEST_NOT_FOUND, f"file vanished from the repository: {error}") from None
