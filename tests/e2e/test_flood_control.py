"""Flood control (issue 17): with `pullRequests.maxOpen: 5` and 12 outdated releases, 5 PRs open and 7 wait.

What a user sees: exactly 5 pull requests on GitHub, the majors first; 7 proposals in phase Pending whose Ready
condition has reason PullRequestLimit and says how many are ahead; the config's status.proposalsWaiting; and after
one PR is closed, exactly one more opens (at the next cycle), never more.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxcd_helm_upgrader.testkit import github as standin
from fluxcd_helm_upgrader.testkit.demo import charts, fleet
from tests import builders
from tests.e2e import backends, harness, prs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]

NAMESPACE = fleet.FLUX_NAMESPACE
MAJORS = ("app09", "app10", "app11")  # 1.0.0 -> 2.0.1: they go before the nine patches (2.0.0 -> 2.0.1)


def _release(i: int) -> dict[str, Any]:
    return fleet.release("apps", f"app{i:02}", "app", "1.0.0" if f"app{i:02}" in MAJORS else "2.0.0",
                         repository="charts")  # fmt: skip


def _files() -> dict[str, str]:
    files = {}
    for i in range(12):
        body = _release(i)
        body["metadata"].pop("labels")
        files[f"apps/app{i:02}.yaml"] = yaml.safe_dump(body, sort_keys=False)
    return files


def _config(git_url: str, api_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "helmupgrader.io/v1alpha1", "kind": "UpgraderConfig",
        "metadata": {"name": "fleet", "namespace": NAMESPACE},
        "spec": {"interval": "30m", "git": {"url": git_url, "branch": "main"},
                 "pullRequests": {"provider": "github", "apiURL": api_url, "repository": "acme/fleet",
                                  "secretRef": {"name": "github"}, "maxOpen": 5}},
    }  # fmt: skip


def _reason(body: dict[str, Any]) -> str | None:
    return (harness.condition(body) or {}).get("reason")


async def test_max_open_holds_the_rest_and_a_closed_pr_lets_exactly_one_more_open(tmp_path: Path) -> None:
    git_url = fleet.seed(tmp_path, _files())
    server = charts.ChartServer()
    for version in ("1.0.0", "2.0.0", "2.0.1"):
        server.repo("charts").add("app", version)
    await server.start()
    try:
        async with (
            standin.GitHubStandIn(token=prs.CANARY, repositories=("acme/fleet",)) as github,
            backends.cluster(tmp_path) as local,
        ):
            local.apply(builders.helm_repository("charts", server.repo_url("charts")))
            local.apply(builders.secret("github", {"token": prs.CANARY}))
            for i in range(12):
                local.apply(_release(i))
            local.apply(_config(git_url, github.api_url))
            s = prs.Setup(local, server, github, git_url)

            def proposals() -> list[dict[str, Any]]:
                return local.list("upgradeproposals", NAMESPACE)

            def waiting() -> list[dict[str, Any]]:
                return [p for p in proposals() if _reason(p) == "PullRequestLimit"]

            def open_prs() -> list[Any]:
                return [p for p in github.pull_requests() if p.state == "open"]

            async with local.run_operator() as memo:
                await harness.wait_for(
                    lambda: len(open_prs()) == 5 and len(waiting()) == 7, timeout=40, what="5 PRs open, 7 waiting"
                )
                await memo.services.workers.join()
                assert len(github.pull_requests()) == 5  # never more than maxOpen
                heads = sorted(p.head for p in open_prs())
                # Biggest gap first (branches are named after the edit: `<dir>/<name>-<hash of the edit>`).
                assert {f"helm-upgrader/apps/{name}" for name in MAJORS} <= {prs.readable(h) for h in heads}
                held = waiting()
                assert {p["status"]["phase"] for p in held} == {"Pending"}
                ahead = sorted(int(re.match(r"waiting: (\d+) proposal", p["status"]["message"]).group(1))  # type: ignore[union-attr]
                               for p in held)  # fmt: skip
                assert ahead == list(range(7))
                assert all("pullRequests.maxOpen is 5 pull requests" in p["status"]["message"] for p in held)
                config = local.get("upgraderconfigs", NAMESPACE, "fleet")
                assert config is not None and config["status"]["proposalsWaiting"] == 7
                first = next(p for p in held if p["status"]["message"].startswith("waiting: 0 "))
                first_name = first["spec"]["release"]["name"]

                # The team closes one PR: the next cycle notices, the one after opens exactly one more.
                closed = open_prs()[0]
                github.close(closed.number)
                await s.reconcile_until(lambda: len(open_prs()) == 5 and len(waiting()) == 6, what="one more opened")
                await memo.services.workers.join()
                assert len(github.pull_requests()) == 6 and len(open_prs()) == 5
                # The first in line went.
                assert f"helm-upgrader/apps/{first_name}" in {prs.readable(p.head) for p in open_prs()}
                await s.reconcile("settled")
                await memo.services.workers.join()
                assert len(github.pull_requests()) == 6  # a quiet cycle opens nothing more
                config = local.get("upgraderconfigs", NAMESPACE, "fleet")
                assert config is not None and config["status"]["proposalsWaiting"] == 6
    finally:
        await server.stop()
