"""``provider: none``: push the branch only, open no pull request; built by the proposal worker.

For Git hosts without a supported API (Gitea, plain SSH remotes, ``file://`` in the demo) or teams that
open pull requests by hand or with their own automation. The worker still pushes
``<branchPrefix><namespace>/<name>``; this forge reports ``action="pushed"`` with no number or URL,
and it can never see a pull request, so such proposals stay ``Open`` until the cluster runs the
target version (``Applied``) or a newer target replaces it.
"""

from __future__ import annotations

from fluxcd_helm_upgrader.forges import base


class NoneForge:
    """``base.Forge`` that does nothing: there is no pull request API."""

    async def find_pull_request(self, branch: str) -> base.PullRequest | None:
        return None

    async def open_pull_requests(self, prefix: str) -> dict[str, base.PullRequest]:
        return {}

    async def open_or_update(self, request: base.PullRequestRequest) -> base.PullRequestResult:
        return base.PullRequestResult(action="pushed", pull_request=None)

    async def comment(self, number: int, body: str) -> None:
        return None

    async def get(self, number: int) -> base.PullRequest:
        raise base.ForgeError(f"pull request #{number}: provider 'none' has no pull requests", "not_found")

    async def close(self) -> None:
        return None
