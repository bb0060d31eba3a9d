"""The open pull requests of each repository, listed once per check cycle by the first job that needs them.

Held by `proposals.publishing.Context`, read by `proposals.following` (is a proposal's PR still open?) and
`proposals.publishing` (is there an open PR to update?). Issue 11: GitHub is asked once per repository per cycle
(one paginated list, `forges.base.Forge.open_pull_requests`), not once per proposal; a 1,000-PR repository costs 10
calls a cycle instead of 1,000. The list is keyed by head branch, so a person who edits a PR's title does not
stop the operator from following it. The jobs of a newer cycle (`Job.cycle`) list again, even while the queue
still drains an older cycle's jobs; the list is forgotten when the queue is drained (`forget`); a PR the worker
itself opens or updates meanwhile is recorded (`record`).
"""

from __future__ import annotations

from collections.abc import Mapping

from fluxcd_helm_upgrader.forges import base
from fluxcd_helm_upgrader.proposals import failures
from fluxcd_helm_upgrader.proposals.worker import Job


def _key(job: Job) -> tuple[str, str, str, str, str]:
    """Per config (its credentials), repository and branch prefix; starts with the job's clone key."""
    prs = job.config.pull_requests
    return (*job.clone_key, f"{prs.api_url}/{prs.repository}", prs.branch_prefix)


class OpenPulls:
    """Each repository's open PRs under the config's branch prefix, by head branch, as listed in this drain."""

    def __init__(self) -> None:
        self._listed: dict[tuple[str, str, str, str, str], tuple[int, dict[str, base.PullRequest]]] = {}

    async def of(self, job: Job, forge: base.Forge) -> Mapping[str, base.PullRequest]:
        """The open PRs of the job's repository, listed by the first job of its cycle (a ForgeError: ForgeFailed)."""
        key = _key(job)
        cycle, listed = self._listed.get(key, (None, None))
        if listed is None or cycle != job.cycle:
            listed = await failures.forge_call(forge.open_pull_requests(job.config.pull_requests.branch_prefix))
            self._listed[key] = (job.cycle, listed)
        return listed

    def record(self, job: Job, pull: base.PullRequest | None) -> None:
        """The worker opened or updated `pull`: later jobs see it as it is now."""
        _, listed = self._listed.get(_key(job), (None, None))
        if listed is not None and pull is not None:
            listed[pull.head_branch] = pull

    def forget(self, repo_key: tuple[str, str]) -> None:
        """The repository's queue is drained: the next job lists its PRs again."""
        for key in [k for k in self._listed if k[1:3] == repo_key]:
            del self._listed[key]
