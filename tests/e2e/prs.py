"""Shared setup for the pull-request e2e tests: a seeded fleet, charts, a GitHub stand-in and the cluster."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxcd_helm_upgrader.testkit import github as standin
from fluxcd_helm_upgrader.testkit.demo import charts, fleet
from fluxcd_helm_upgrader.testkit.demo import running as demo
from tests import builders
from tests.e2e import backends, harness

CANARY = "ghp_CANARY0123456789abcdefCANARY0123456789"
NAMESPACE = fleet.FLUX_NAMESPACE


@dataclass
class Setup:
    local: backends.Cluster
    charts: charts.ChartServer
    github: standin.GitHubStandIn
    git_url: str

    def config(self, git: dict[str, Any] | None = None, **pull_requests: Any) -> dict[str, Any]:
        body = demo.upgrader_config(self.git_url)
        body["metadata"]["name"] = "fleet"
        body["spec"]["git"].update(git or {})
        body["spec"]["pullRequests"] = {
            "provider": "github", "apiURL": self.github.api_url, "repository": "acme/fleet",
            "secretRef": {"name": "github"}, "labels": ["dependencies"], **pull_requests,
        }  # fmt: skip
        return body

    def proposal(self, name: str) -> dict[str, Any] | None:
        return self.local.get("upgradeproposals", NAMESPACE, name)

    def phase(self, name: str) -> str | None:
        return ((self.proposal(name) or {}).get("status") or {}).get("phase")

    async def opened(self, name: str) -> int:
        """Wait until proposal `name` is Open; the number of its PR."""
        await harness.wait_for(lambda: self.phase(name) == "Open", what=f"{name} Open")
        return int(self.proposal(name)["status"]["pullRequest"]["number"])  # type: ignore[index]

    async def reconcile(self, stamp: str) -> None:
        """Ask for a cycle now (as `flux reconcile` would) and wait until it ran."""
        body = self.local.get("upgraderconfigs", NAMESPACE, "fleet")
        assert body is not None
        body["metadata"].setdefault("annotations", {})["reconcile.fluxcd.io/requestedAt"] = stamp
        self.local.apply(body)
        await harness.wait_for(
            lambda: (self.local.get("upgraderconfigs", NAMESPACE, "fleet") or {}).get("status", {}).get(
                "lastHandledReconcileAt") == stamp,
            what=f"cycle {stamp}",
        )  # fmt: skip


    async def reconcile_until(self, done: Callable[[], bool], what: str, attempts: int = 3) -> None:
        """Request cycles until `done()` holds (each waits a few seconds for the worker); fail after `attempts`."""
        for attempt in range(attempts):
            await self.reconcile(f"{what}-{attempt}")
            with contextlib.suppress(AssertionError):
                await harness.wait_for(done, timeout=7, what=what)
                return
        raise AssertionError(f"{what}: not reached after {attempts} requested cycles")


@contextlib.asynccontextmanager
async def setup(
    tmp_path: Path,
    rules: list[dict[str, Any]] | None = None,
    *,
    app: standin.App | None = None,
    prefix: str = "",
) -> AsyncIterator[Setup]:
    """The fleet, charts, GitHub stand-in and the test's cluster (emulator or real API server); with `rules`, the
    operator runs with only those permissions (the test's own writes, i.e. the user or Flux, are not limited)."""
    git_url = fleet.seed(tmp_path)
    server = demo.chart_server()
    await server.start()
    try:
        async with (
            standin.GitHubStandIn(token=CANARY, repositories=("acme/fleet",), app=app, prefix=prefix) as github,
            backends.cluster(tmp_path, rules=rules) as local,
        ):
            for body in fleet.cluster_objects(server.repo_url("demo")):
                local.apply(body)
            local.apply(builders.secret("github", {"token": CANARY}))
            yield Setup(local, server, github, git_url)
    finally:
        await server.stop()


PROPOSALS = {"apps.podinfo": "helm-upgrader/apps/podinfo", "apps.cache": "helm-upgrader/apps/cache"}
"""The demo fleet's proposals and their branches."""


def assert_one_pr_each(s: Setup) -> dict[str, Any]:
    """Exactly one PR per release of the demo fleet, open, and each proposal Open with its number and URL; the PRs
    by branch."""
    assert sorted(pr.head for pr in s.github.pull_requests()) == sorted(PROPOSALS.values()), "one PR per release"
    pulls = {pr.head: pr for pr in s.github.pull_requests()}
    for name, branch in PROPOSALS.items():
        status = (s.proposal(name) or {}).get("status") or {}
        assert status.get("phase") == "Open", (name, status)
        assert status["pullRequest"]["number"] == pulls[branch].number, name
        assert status["pullRequest"]["url"].endswith(f"/pull/{pulls[branch].number}")
        assert pulls[branch].state == "open"
    return pulls
