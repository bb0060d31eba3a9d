"""`fluxcd-helm-upgrader demo`: the whole flow on this machine, with no network and no real cluster.

Starts the API emulator, a local chart repository and the real operator; applies a small Flux fleet (a
HelmRepository and three HelmReleases) and an UpgraderConfig; waits for a check cycle; prints the config and the
proposals as `kubectl get` would. Exit code 0 when the config became Ready, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, TextIO

from fluxcd_helm_upgrader.demo import charts, cluster, tables

NAMESPACE = "flux-system"
RELEASES = (
    # (namespace, name, chart, version in Git): what the demo fleet runs.
    ("apps", "podinfo", "podinfo", "6.5.0"),
    ("apps", "cache", "redis", "17.x"),
    ("ingress", "ingress-nginx", "ingress-nginx", "4.11.3"),
)
CHARTS = {
    "podinfo": ["6.4.1", "6.5.0", "6.6.3", "6.7.1", "7.0.0-rc.1"],
    "redis": ["17.11.0", "17.17.1", "18.0.0", "18.19.4"],
    "ingress-nginx": ["4.10.0", "4.11.3"],
}


def fleet(chart_url: str, git_url: str) -> list[dict[str, Any]]:
    """The Flux objects and the UpgraderConfig the demo applies."""
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": {"name": "demo-charts", "namespace": NAMESPACE},
            "spec": {"url": chart_url, "interval": "10m"},
        }
    ]
    for namespace, name, chart, version in RELEASES:
        objects.append(
            {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "interval": "10m",
                    "chart": {
                        "spec": {
                            "chart": chart,
                            "version": version,
                            "sourceRef": {
                                "kind": "HelmRepository",
                                "name": "demo-charts",
                                "namespace": NAMESPACE,
                            },
                        }
                    },
                },
            }
        )
    objects.append(
        {
            "apiVersion": "helmupgrader.io/v1alpha1",
            "kind": "UpgraderConfig",
            "metadata": {"name": "demo", "namespace": NAMESPACE},
            "spec": {"interval": "30m", "git": {"url": git_url}, "pullRequests": {"provider": "none"}},
        }
    )
    return objects


async def main(*, workdir: str | None, timeout: float, out: TextIO) -> int:
    server = charts.ChartServer()
    await server.start()
    server.repo("demo", CHARTS)
    root = cluster.crds_root()
    try:
        async with cluster.local_cluster(Path(workdir) if workdir else None) as local:
            for body in fleet(server.repo_url("demo"), "file:///tmp/demo-fleet.git"):
                local.apply(body)
            async with local.run_operator():
                config = await _wait_ready(local, timeout)
            print("$ kubectl get upgraderconfigs -A", file=out)
            print(tables.render([config], tables.printer_columns(root / "crds/upgraderconfigs.yaml")), file=out)
            print(file=out)
            print("$ kubectl get upgradeproposals -A", file=out)
            proposals = sorted(local.list("upgradeproposals"), key=lambda b: b["metadata"]["name"])
            print(
                tables.render(proposals, tables.printer_columns(root / "crds/upgradeproposals.yaml")),
                file=out,
            )
            ready = _ready(config)
            return 0 if ready and ready.get("status") == "True" else 1
    finally:
        await server.stop()


def _ready(body: dict[str, Any] | None) -> dict[str, Any] | None:
    for condition in ((body or {}).get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return dict(condition)
    return None


async def _wait_ready(local: cluster.LocalCluster, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        config = local.get("upgraderconfigs", NAMESPACE, "demo") or {}
        if _ready(config) or time.monotonic() > deadline:
            return config
        await asyncio.sleep(0.1)
