"""`fluxcd-helm-upgrader demo`: the whole flow on this machine, with no network and no real cluster.

Starts the API emulator, a local chart repository, a local bare Git repository seeded with a small Flux fleet
(base + overlay) and the real operator with provider `none` (push the branch only). Applies the fleet's Flux
objects and an UpgraderConfig, waits until every proposal's branch is pushed, then prints `kubectl get` of the
config and the proposals (the real kubectl against the emulator when it is installed; otherwise the same table
printed by the demo, and it says so) and the `git diff` of each pushed branch. Exit code 0 when the config became
Ready and every proposal is Open, 1 otherwise. With `serve=True` everything keeps running afterwards until
Ctrl-C or SIGTERM (see `demo.serving`); the temporary directory is removed on the way out either way (a
`--workdir` given by the user is kept).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from fluxcd_helm_upgrader.testkit.demo import charts, cluster, fleet, serving, tables

NAMESPACE = fleet.FLUX_NAMESPACE
CONFIG = "demo"
CHART_REPOSITORY = "demo"
CHANGES = "- kind: added\n  description: {text}\n"
CHARTS = {
    "podinfo": ["6.4.1", "6.5.0", "6.6.3", "6.7.1", "7.0.0-rc.1"],
    "redis": ["17.11.0", "17.17.1", "18.0.0", "18.19.4"],
}


def chart_server() -> charts.ChartServer:
    server = charts.ChartServer()
    repo = server.repo(CHART_REPOSITORY)
    for chart, versions in CHARTS.items():
        for version in versions:
            note = CHANGES.format(text=f"{chart} {version} release notes")
            repo.add(chart, version, appVersion=version, annotations={"artifacthub.io/changes": note})
    return server


def upgrader_config(git_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "helmupgrader.io/v1alpha1",
        "kind": "UpgraderConfig",
        "metadata": {"name": CONFIG, "namespace": NAMESPACE},
        "spec": {"interval": "30m", "git": {"url": git_url, "branch": "main"}, "pullRequests": {"provider": "none"}},
    }


async def main(*, workdir: str | None, timeout: float, out: TextIO, serve: bool = False) -> int:
    os.environ.setdefault("UPGRADER_METRICS_PORT", "0")  # the demo serves no metrics: never clash with a real one
    os.environ.setdefault("UPGRADER_ALLOW_FILE_GIT_URLS", "true")  # the demo fleet is a local bare repository
    server = chart_server()
    with tempfile.TemporaryDirectory(prefix="upgrader-demo-") as scratch:
        base = Path(workdir) if workdir else Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        if serve:
            server.repos[CHART_REPOSITORY].publish_to(base / "charts")
        await server.start()
        git_url = fleet.seed(base)
        try:
            async with cluster.local_cluster(base) as local:
                for body in [*fleet.cluster_objects(server.repo_url(CHART_REPOSITORY)), upgrader_config(git_url)]:
                    local.apply(body)
                async with local.run_operator():
                    config = await _wait(local, timeout)
                    proposals = sorted(local.list("upgradeproposals"), key=lambda b: b["metadata"]["name"])
                    await _report(local, proposals, git_url, out)
                    ready = _ready(config)
                    all_open = bool(proposals) and all(_phase(p) == "Open" for p in proposals)
                    code = 0 if ready and ready.get("status") == "True" and all_open else 1
                    if serve:
                        await serving.serve(local, base, git_url, proposals, out, config=CONFIG)
                return code
        finally:
            await server.stop()


async def _report(local: cluster.LocalCluster, proposals: list[dict[str, Any]], git_url: str, out: TextIO) -> None:
    """`kubectl get` of the config and the proposals, then the diff of every pushed branch."""
    for plural in ("upgraderconfigs", "upgradeproposals"):
        shown = await tables.kubectl_get(local.api, local.kubeconfig, plural)
        print(f"$ kubectl get {plural} -A", file=out)
        if not shown.real:
            print(tables.FALLBACK_NOTE, file=out)
        print(shown.text, file=out)
        print(file=out)
    for proposal in proposals:
        branch = ((proposal.get("status") or {}).get("pullRequest") or {}).get("branch")
        if branch:
            print(f"$ git diff main...{branch}", file=out)
            print(fleet.branch_diff(git_url, branch).rstrip(), file=out)
            print(file=out)
    out.flush()


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
        config = local.get("upgraderconfigs", NAMESPACE, CONFIG) or {}
        proposals = local.list("upgradeproposals", NAMESPACE)
        settled = proposals and all(_phase(p) not in ("", "Pending") for p in proposals)
        if (_ready(config) and settled) or time.monotonic() > deadline:
            return config
        await asyncio.sleep(0.1)
