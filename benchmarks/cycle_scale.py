"""Benchmark: one check cycle over a large fleet, the real operator against the API emulator.

Run by hand: ``python benchmarks/cycle_scale.py [--releases 1000] [--repositories 50]``; the scale run is
``--releases 10000 --repositories 500``. It starts the emulator and a local chart server with REPOSITORIES
repositories (20 charts x 100 versions each), creates RELEASES HelmReleases spread over them (two in three outdated)
and one UpgraderConfig (provider `none`, a Git URL that does not exist, so the Git worker fails fast and does not
take part in the timing), runs the real operator until the first cycle has written its status, then asks for a
second, quiet cycle (nothing changed: every index answers 304), started as the interval would start it (the
webhook's trigger: no edit of the config).

It prints the two cycles' durations (from the cycle-duration metric), the proposals created and their phases, the
index requests per cycle, the peak RSS of the process (emulator, chart server and operator together) and the API
writes of each cycle, counted from the emulator's audit log by resource and verb (so proposal creations, proposal
status patches, the config's status patches and events are told apart). A cycle's writes are those made from its
start until the API has been quiet for SETTLE seconds: the Git worker's follow-up writes (a proposal marked Failed)
land after the cycle's status and belong to it.

Exits 1 when a target is missed: per 1,000 releases, first cycle under 60 s and quiet cycle under 30 s; one index
request per repository per cycle; the quiet cycle writes nothing but at most one config status patch (issue 11: no
UpgradeProposal write, no event).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
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
SETTLE = 3.0  # seconds without any API write that end a cycle's write count


def chart_server(repositories: int, charts_per_repo: int, versions: int) -> charts.ChartServer:
    """`repo<r>` repositories of `chart<c>` charts, versions 1.0.0, 1.0.1, ... (ten patches a minor); not started."""
    server = charts.ChartServer()
    for r in range(repositories):
        repo = server.repo(f"repo{r}")
        for c in range(charts_per_repo):
            for v in range(versions):
                repo.add(f"chart{c}", f"1.{v // 10}.{v % 10}")
        repo.index()  # render each index once now: the stand-in server's YAML dumping is not what we measure
    return server


def _metric(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def main(releases: int, repositories: int) -> int:
    patience = 300 * max(1.0, releases / 1000)  # how long to wait for a cycle before giving up
    setup_started = time.monotonic()
    server = chart_server(repositories, CHARTS_PER_REPO, VERSIONS)
    await server.start()
    try:
        # The audit log is a bounded deque: make it hold every write of both cycles.
        async with cluster.local_cluster(audit_size=100 * releases + 100_000) as local:
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
                         # maxOpen 0: every proposal gets its Git job, as before flood control (issue 17)
                         "pullRequests": {"provider": "none", "maxOpen": 0}},
            })  # fmt: skip
            setup = time.monotonic() - setup_started
            print(f"setup (chart server, {releases} HelmReleases): {setup:.1f} s", flush=True)
            started = time.monotonic()
            async with local.run_operator() as memo:
                status = await _wait(local, lambda s: bool(s.get("lastCheckTime")), patience)
                first_wall = time.monotonic() - started
                first_requests = len(server.seen)
                first_text = memo.services.metrics.exposition()
                await _settle(local, patience)
                first_writes = list(local.api.audit)
                mark = len(first_writes)
                # The next cycle as the interval would start it: a reconcile request edits the config, and Kopf
                # records the edit (a write that is the request's, not the cycle's); the webhook trigger does not.
                checked = _status(local).get("lastCheckTime")
                await asyncio.sleep(1.1)  # lastCheckTime has a one-second resolution
                quiet_started = time.monotonic()
                memo.services.triggers.config("flux-system", "fleet")
                await _wait(local, lambda s: s.get("lastCheckTime") != checked, patience)
                quiet_wall = time.monotonic() - quiet_started
                second_requests = len(server.seen) - first_requests
                text = memo.services.metrics.exposition()
                await _settle(local, patience)
                quiet_writes = list(local.api.audit)[mark:]
            all_proposals = local.list("upgradeproposals")
            proposals = len(all_proposals)
            phases = collections.Counter(str((p.get("status") or {}).get("phase")) for p in all_proposals)
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
    print(f"before the first cycle: {first_wall - first:.1f} s from operator start (Kopf lists and indexes every "
          f"object); quiet cycle: {quiet_wall:.2f} s wall from the trigger to its status")
    print(f"proposal phases after both cycles: {dict(sorted(phases.items()))}")
    print(f"peak RSS of the whole process (emulator + chart server + operator): {rss_mib:.1f} MiB")
    _print_writes("first cycle", first_writes)
    _print_writes("quiet cycle", quiet_writes)
    quiet = _by_resource(quiet_writes)
    proposal_writes = sum(n for (kind, _), n in quiet.items() if kind.startswith("upgradeproposals"))
    config_patches = quiet.get(("upgraderconfigs/status", "PATCH"), 0)
    events = quiet.get(("events", "POST"), 0)
    print(f"quiet cycle goal: 0 UpgradeProposal writes (now {proposal_writes}), 0 events (now {events}), at most 1 "
          f"config status patch and no other write (now {config_patches} of {sum(quiet.values())} writes)")
    budget = releases / 1000
    ok = (
        first < 60 * budget
        and total - first < 30 * budget
        and first_requests == repositories
        and second_requests == repositories
        and proposal_writes == 0
        and events == 0
        and config_patches <= 1
        and sum(quiet.values()) == config_patches
    )
    print("OK: all targets met" if ok else "FAILED: a target was missed")
    return 0 if ok else 1


def _by_resource(entries: list) -> collections.Counter[tuple[str, str]]:  # type: ignore[type-arg]
    """Writes counted by (resource[/subresource], verb)."""
    return collections.Counter(
        (e.resource + (f"/{e.subresource}" if e.subresource else ""), e.method) for e in entries
    )


def _status(local: cluster.LocalCluster) -> dict:  # type: ignore[type-arg]
    return (local.get("upgraderconfigs", "flux-system", "fleet") or {}).get("status") or {}


def _print_writes(label: str, entries: list) -> None:  # type: ignore[type-arg]
    failed = sum(1 for e in entries if e.status >= 400)
    print(f"API writes, {label}: {len(entries)} ({failed} refused by the API)")
    for (kind, method), count in sorted(_by_resource(entries).items()):
        print(f"  {kind:<28} {method:<6} {count:>6}")


async def _settle(local: cluster.LocalCluster, timeout: float) -> None:
    """Wait until no API write has arrived for SETTLE seconds (the cycle's follow-up writes are done)."""
    deadline = time.monotonic() + timeout
    seen, quiet_since = len(local.api.audit), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        now = len(local.api.audit)
        if now != seen:
            seen, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= SETTLE:
            return
    raise TimeoutError("the API writes did not settle")


async def _wait(local: cluster.LocalCluster, predicate, timeout: float) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _status(local)
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
