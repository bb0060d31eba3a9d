"""Benchmark: onboarding a big fleet, from the first proposal to the last branch pushed (issue 17).

Run by hand: ``python benchmarks/branch_scale.py [--releases 1000]``; ``--releases 10000`` is the scale run.
It seeds one local bare Git repository (file://) with RELEASES HelmReleases, each in its own file
(``apps/<team>/<name>.yaml``; with ``--kustomization``, the HelmReleases carry kustomize-controller's labels and
the Flux Kustomization's ``spec.path`` is ``./apps``, so the cluster-aware path is timed instead of the scan), starts
the API emulator and a local chart server (every release outdated), and runs the real operator with one
UpgraderConfig (``provider: none``, ``pullRequests.maxOpen: 0`` so flood control holds nothing back) until every
proposal is Open, i.e. its branch is pushed.

It prints the time from the first proposal created to the last branch pushed, branches per second, the check
cycle's duration and the branches found in the bare repository. Exits 1
when a branch is missing or the goal is missed: 1,000 branches within 60 s of the first proposal (scaled linearly).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

os.environ.setdefault("UPGRADER_TICK_SECONDS", "0.2")
os.environ.setdefault("UPGRADER_METRICS_PORT", "0")
os.environ.setdefault("UPGRADER_CACHE_DIR", tempfile.mkdtemp(prefix="upgrader-bench-"))
os.environ.setdefault("UPGRADER_ALLOW_FILE_GIT_URLS", "true")  # the fleet is a local bare repository
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "operator"))

import yaml

from fluxcd_helm_upgrader.testkit.demo import charts, cluster, fleet

CHARTS = 20
TEAMS = 20
LABELS = {"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}


def _release(i: int, url_repo: str, labelled: bool) -> dict:  # type: ignore[type-arg]
    return fleet.release(
        f"team{i % TEAMS}", f"app{i}", f"chart{i % CHARTS}", "1.0.0", repository=url_repo,
        labels=LABELS if labelled else None,
    )  # fmt: skip


def _files(releases: int, labelled: bool) -> dict[str, str]:
    files = {}
    for i in range(releases):
        body = _release(i, "charts", labelled=False)  # Git holds what the team wrote: no controller labels
        body["metadata"].pop("labels")
        files[f"apps/team{i % TEAMS}/app{i}.yaml"] = yaml.safe_dump(body, sort_keys=False)
    if labelled:
        files["clusters/fleet/apps.yaml"] = yaml.safe_dump({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"interval": "10m", "path": "./apps", "prune": True,
                     "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        }, sort_keys=False)  # fmt: skip
    return files


async def main(releases: int, labelled: bool) -> int:
    patience = 600 * max(1.0, releases / 1000)
    work = Path(tempfile.mkdtemp(prefix="upgrader-branches-"))
    server = charts.ChartServer()
    repo = server.repo("charts")
    for c in range(CHARTS):
        for version in ("1.0.0", "1.1.0", "2.0.0"):
            repo.add(f"chart{c}", version)
    repo.index()
    await server.start()
    seeded = time.monotonic()
    git_url = fleet.seed(work, _files(releases, labelled))
    print(f"seeded {releases} HelmReleases, one file each, in one repository: {time.monotonic() - seeded:.1f} s",
          flush=True)  # fmt: skip
    try:
        async with cluster.local_cluster(audit_size=100 * releases + 10_000) as local:
            local.apply({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                "metadata": {"name": "charts", "namespace": "flux-system"},
                "spec": {"url": server.repo_url("charts"), "interval": "10m"},
            })  # fmt: skip
            for i in range(releases):
                local.apply(_release(i, "charts", labelled))
            local.apply({
                "apiVersion": "helmupgrader.io/v1alpha1", "kind": "UpgraderConfig",
                "metadata": {"name": "fleet", "namespace": "flux-system"},
                "spec": {"interval": "30m", "git": {"url": git_url, "branch": "main"},
                         "pullRequests": {"provider": "none", "maxOpen": 0}},
            })  # fmt: skip
            async with local.run_operator() as memo:
                started = time.monotonic()
                first = last = None
                phases: collections.Counter[str] = collections.Counter()
                while time.monotonic() - started < patience:
                    phases = local.api.tally("upgradeproposals", "flux-system", _phase)
                    if phases and first is None:
                        first = time.monotonic()
                    if phases.total() == releases and phases["Open"] + phases["Failed"] == releases:
                        last = time.monotonic()
                        break
                    await asyncio.sleep(max(0.2, releases / 10_000))  # the probe shares the operator's loop
                text = memo.services.metrics.exposition()
    finally:
        await server.stop()
    pushed = [b for b in fleet.branches(git_url) if b != "main"]
    cycle = _metric(text, 'fluxcd_helm_upgrader_cycle_duration_seconds_sum{config="flux-system/fleet"}')
    mode = "cluster-aware (Flux Kustomization ./apps)" if labelled else "scan (no kustomize-controller labels)"
    print(f"fleet: {releases} outdated HelmReleases, one file each, one repository; locating: {mode}")
    print(f"check cycle (cycle-duration metric): {cycle:.2f} s")
    print(f"proposal phases: {dict(sorted(phases.items()))}; branches in the repository: {len(pushed)}")
    if first is None or last is None:
        print("FAILED: not every branch was pushed in time")
        return 1
    span = last - first
    print(f"first proposal -> last branch pushed: {span:.1f} s ({releases / span:.1f} branches/s, "
          f"{1000 * span / releases:.0f} ms per branch)")  # fmt: skip
    ok = len(pushed) == releases and phases["Open"] == releases and span < 60 * releases / 1000
    print("OK: goal met (1,000 branches within 60 s)" if ok else "FAILED: goal missed or a branch is missing")
    return 0 if ok else 1


def _phase(proposal: Mapping[str, Any]) -> str:
    return str((proposal.get("status") or {}).get("phase"))


def _metric(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--kustomization", action="store_true", help="time the cluster-aware path")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.releases, args.kustomization)))
