"""`fluxcd-helm-upgrader demo`: the whole flow on this machine, with no network and no real cluster.

Starts the API emulator, a local chart repository, a local bare Git repository seeded with a small Flux fleet
(base + overlay) and the real operator with provider `none` (push the branch only). Applies the fleet's Flux
objects and an UpgraderConfig, waits until every proposal's branch is pushed, then prints the config and the
proposals as `kubectl get` would, and the `git diff` of each pushed branch. Exit code 0 when the config became
Ready and every proposal is Open, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from fluxcd_helm_upgrader.demo import charts, cluster, fleet, tables

NAMESPACE = fleet.FLUX_NAMESPACE
CHANGES = "- kind: added\n  description: {text}\n"
CHARTS = {
    "podinfo": ["6.4.1", "6.5.0", "6.6.3", "6.7.1", "7.0.0-rc.1"],
    "redis": ["17.11.0", "17.17.1", "18.0.0", "18.19.4"],
}


def chart_server() -> charts.ChartServer:
    server = charts.ChartServer()
    repo = server.repo("demo")
    for chart, versions in CHARTS.items():
        for version in versions:
            note = CHANGES.format(text=f"{chart} {version} release notes")
            repo.add(chart, version, appVersion=version, annotations={"artifacthub.io/changes": note})
    return server


def upgrader_config(git_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "helmupgrader.io/v1alpha1",
        "kind": "UpgraderConfig",
        "metadata": {"name": "demo", "namespace": NAMESPACE},
        "spec": {"interval": "30m", "git": {"url": git_url, "branch": "main"}, "pullRequests": {"provider": "none"}},
    }


async def main(*, workdir: str | None, timeout: float, out: TextIO) -> int:
    os.environ.setdefault("UPGRADER_METRICS_PORT", "0")  # the demo serves no metrics: never clash with a real one
    os.environ.setdefault("UPGRADER_ALLOW_FILE_GIT_URLS", "true")  # the demo fleet is a local bare repository
    server = chart_server()
    await server.start()
    root = cluster.crds_root()
    with tempfile.TemporaryDirectory(prefix="upgrader-demo-") as scratch:
        base = Path(workdir) if workdir else Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        git_url = fleet.seed(base)
        try:
            async with cluster.local_cluster(base) as local:
                for body in [*fleet.cluster_objects(server.repo_url("demo")), upgrader_config(git_url)]:
                    local.apply(body)
                async with local.run_operator():
                    config = await _wait(local, timeout)
                proposals = sorted(local.list("upgradeproposals"), key=lambda b: b["metadata"]["name"])
                print("$ kubectl get upgraderconfigs -A", file=out)
                print(tables.render([config], tables.printer_columns(root / "crds/upgraderconfigs.yaml")), file=out)
                print(file=out)
                print("$ kubectl get upgradeproposals -A", file=out)
                print(tables.render(proposals, tables.printer_columns(root / "crds/upgradeproposals.yaml")), file=out)
                for proposal in proposals:
                    branch = ((proposal.get("status") or {}).get("pullRequest") or {}).get("branch")
                    if branch:
                        print(f"\n$ git diff main...{branch}", file=out)
                        print(fleet.branch_diff(git_url, branch).rstrip(), file=out)
                ready = _ready(config)
                all_open = bool(proposals) and all(_phase(p) == "Open" for p in proposals)
                return 0 if ready and ready.get("status") == "True" and all_open else 1
        finally:
            await server.stop()


def _phase(body: dict[str, Any]) -> str:
    return str((body.get("status") or {}).get("phase") or "")


def _ready(body: dict[str, Any] | None) -> dict[str, Any] | None:
    for condition in ((body or {}).get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return dict(condition)
    return None


async def _wait(local: cluster.LocalCluster, timeout: float) -> dict[str, Any]:
    """Until the config is Ready and no proposal is still Pending (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        config = local.get("upgraderconfigs", NAMESPACE, "demo") or {}
        proposals = local.list("upgradeproposals", NAMESPACE)
        settled = proposals and all(_phase(p) not in ("", "Pending") for p in proposals)
        if (_ready(config) and settled) or time.monotonic() > deadline:
            return config
        await asyncio.sleep(0.1)
