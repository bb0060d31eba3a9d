"""Benchmark: one check cycle over a large fleet, the real operator against the API emulator.

Run by hand: ``python benchmarks/cycle_scale.py [--releases 1000] [--repositories 50]``. It starts the emulator
and a local chart server with REPOSITORIES repositories (20 charts x 100 versions each), creates RELEASES
HelmReleases spread over them (two in three outdated) and one UpgraderConfig (provider `none`, a Git URL that does
not exist, so the Git worker fails fast and does not take part in the measurement), runs the real operator until
the first cycle has written its status, then asks for a second cycle (every index answers 304). It prints the two
cycles' durations (from the cycle-duration metric), the proposals created, the index requests per cycle and the
peak RSS of the process (emulator, chart server and operator together), and exits 1 when a target is missed:
first cycle under 60 s, second under 30 s, one index request per repository per cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("UPGRADER_TICK_SECONDS", "0.2")
os.environ.setdefault("UPGRADER_METRICS_PORT", "0")
os.environ.setdefault("UPGRADER_CACHE_DIR", tempfile.mkdtemp(prefix="upgrader-bench-"))
os.environ.setdefault("UPGRADER_ALLOW_FILE_GIT_URLS", "true")  # the fleet's Git URL is a local file:// path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "operator"))

from fluxcd_helm_upgrader.testkit.demo import charts, cluster, fleet

CHARTS_PER_REPO = 20
VERSIONS = 100


def _metric(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def main(releases: int, repositories: int) -> int:
    server = charts.ChartServer()
    for r in range(repositories):
        repo = server.repo(f"repo{r}")
        for c in range(CHARTS_PER_REPO):
            for v in range(VERSIONS):
                repo.add(f"chart{c}", f"1.{v // 10}.{v % 10}")
        repo.index()  # render each index once now: the stand-in server's YAML dumping is not what we measure
    await server.start()
    try:
        async with cluster.local_cluster() as local:
            for r in range(repositories):
                local.apply({
                    "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                    "metadata": {"name": f"repo{r}", "namespace": "flux-system"},
                    "spec": {"url": server.repo_url(f"repo{r}"), "interval": "10m"},
                })  # fmt: skip
            for i in range(releases):
                version = "1.9.9" if i % 3 == 0 else f"1.{i % 9}.0"
                local.apply(fleet.release(
                    f"team{i % 20}", f"app{i}", f"chart{i % CHARTS_PER_REPO}", version,
                    repository=f"repo{i % repositories}",
                ))  # fmt: skip
            local.apply({
                "apiVersion": "helmupgrader.io/v1alpha1", "kind": "UpgraderConfig",
                "metadata": {"name": "fleet", "namespace": "flux-system"},
                "spec": {"interval": "30m", "git": {"url": "file:///nonexistent/fleet.git"},
                         "pullRequests": {"provider": "none"}},
            })  # fmt: skip
            started = time.monotonic()
            async with local.run_operator() as memo:
                status = await _wait(local, lambda s: bool(s.get("lastCheckTime")), 300)
                first_wall = time.monotonic() - started
                first_requests = len(server.seen)
                first_text = memo.services.metrics.exposition()
                body = local.get("upgraderconfigs", "flux-system", "fleet")
                assert body is not None
                body["metadata"].setdefault("annotations", {})["reconcile.fluxcd.io/requestedAt"] = "bench"
                local.apply(body)
                await _wait(local, lambda s: s.get("lastHandledReconcileAt") == "bench", 300)
                second_requests = len(server.seen) - first_requests
                text = memo.services.metrics.exposition()
            proposals = len(local.list("upgradeproposals", "flux-system"))
    finally:
        await server.stop()
    duration = 'fluxcd_helm_upgrader_cycle_duration_seconds_sum{config="flux-system/fleet"}'
    first, total = _metric(first_text, duration), _metric(text, duration)
    count = _metric(text, 'fluxcd_helm_upgrader_cycle_duration_seconds_count{config="flux-system/fleet"}')
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shape = f"{repositories} repositories x {CHARTS_PER_REPO} charts x {VERSIONS} versions"
    print(f"fleet: {releases} HelmReleases, {shape}")
    print(f"first cycle:  checked {status.get('releasesChecked')} releases, {status.get('releasesOutdated')} outdated, "
          f"{proposals} proposals; {first_requests} index requests; wall time to status {first_wall:.2f} s")
    print(f"cycle-duration metric: first cycle {first:.2f} s (creates the proposals), second cycle "
          f"{total - first:.2f} s with {second_requests} index requests (all 304); {count:.0f} cycles")
    print(f"peak RSS of the whole process (emulator + chart server + operator): {rss_mib:.1f} MiB")
    ok = first < 60 and total - first < 30 and first_requests == repositories and second_requests == repositories
    print("OK: all targets met" if ok else "FAILED: a target was missed")
    return 0 if ok else 1


async def _wait(local: cluster.LocalCluster, predicate, timeout: float) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = (local.get("upgraderconfigs", "flux-system", "fleet") or {}).get("status") or {}
        if predicate(status):
            return status
        await asyncio.sleep(0.1)
    raise TimeoutError("the cycle did not finish in time")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--repositories", type=int, default=50)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.releases, args.repositories)))
