"""Benchmark: what a quiet cycle costs when every release has an open pull request (issue 11).

Run by hand: ``python benchmarks/pull_request_calls.py [--releases 1000]``. It starts the API emulator, a local
chart server (10 repositories x 20 charts x 20 versions), the GitHub stand-in and RELEASES outdated HelmReleases,
with one UpgraderConfig (provider `github`; a Git URL that does not exist). A first run of the operator creates the
proposals (they fail in Git); the benchmark then plays the state of a fleet whose PRs are all open: each proposal
`Open` with the PR status records, each PR open in the stand-in under its branch with the title the operator writes.
The operator is started again: its first cycle follows every PR, then a second, quiet cycle (nothing changed
upstream, in GitHub or in the cluster) is asked for the way the interval would start it (no edit of the config).

It prints, for each of the two cycles, the GitHub calls by method and kind (list pages, one PR, writes) and the API
writes by resource, from the stand-in's call log and the emulator's audit log. A cycle's calls are those made from
its start until the API and GitHub have been quiet for SETTLE seconds and the Git worker's queue is empty.

Exits 1 when the quiet cycle misses its goal: no GitHub write, no UpgradeProposal write, no event, at most one
config status patch, and at most one list call per 100 open PRs (GitHub's largest page) plus one.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import sys
import time

import cycle_scale  # the benchmark beside this one: its environment defaults, audit and settling helpers

from fluxcd_helm_upgrader.forges import texts
from fluxcd_helm_upgrader.proposals import naming
from fluxcd_helm_upgrader.testkit import github as standin
from fluxcd_helm_upgrader.testkit import github_payloads as payloads
from fluxcd_helm_upgrader.testkit.demo import cluster, fleet

REPOSITORIES, CHARTS_PER_REPO, VERSIONS = 10, 20, 20
NAMESPACE, TOKEN, PREFIX = "flux-system", "ghp_bench", "helm-upgrader/"
SETTLE = 2.0


def _config(api_url: str) -> dict:  # type: ignore[type-arg]
    return {
        "apiVersion": "helmupgrader.io/v1alpha1", "kind": "UpgraderConfig",
        "metadata": {"name": "fleet", "namespace": NAMESPACE},
        "spec": {"interval": "30m", "git": {"url": "file:///nonexistent/fleet.git"},
                 "pullRequests": {"provider": "github", "apiURL": api_url, "repository": "acme/fleet",
                                  "secretRef": {"name": "github"}}},
    }  # fmt: skip


async def main(releases: int) -> int:
    server = cycle_scale.chart_server(REPOSITORIES, CHARTS_PER_REPO, VERSIONS)
    await server.start()
    try:
        async with (
            standin.GitHubStandIn(token=TOKEN) as github,
            cluster.local_cluster(audit_size=100 * releases + 100_000) as local,
        ):
            for r in range(REPOSITORIES):
                local.apply({
                    "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                    "metadata": {"name": f"repo{r}", "namespace": NAMESPACE},
                    "spec": {"url": server.repo_url(f"repo{r}"), "interval": "10m"},
                })  # fmt: skip
            for i in range(releases):
                local.apply(fleet.release(f"team{i % 20}", f"app{i}", f"chart{i % CHARTS_PER_REPO}", "1.0.0",
                                          repository=f"repo{i % REPOSITORIES}"))  # fmt: skip
            local.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "github", "namespace": NAMESPACE},
                         "data": {"token": base64.b64encode(TOKEN.encode()).decode()}})  # fmt: skip
            local.apply(_config(github.api_url))
            async with local.run_operator() as memo:
                await _cycle_done(local, None)
                await _settle(local, github, memo)
            opened = _open_every_pull_request(local, github)
            print(f"fleet: {releases} HelmReleases, {opened} proposals Open with an open PR each", flush=True)
            marks = _marks(local, github)
            await asyncio.sleep(1.1)  # lastCheckTime has a one-second resolution
            async with local.run_operator() as memo:
                first = await _measure(local, github, memo, marks)
                quiet = await _measure(local, github, memo, None)
    finally:
        await server.stop()
    _print("first cycle after a restart (follows every PR)", *first)
    _print("quiet cycle", *quiet)
    calls, writes = quiet
    github_writes = sum(n for (method, _), n in calls.items() if method != "GET")
    proposal_writes = sum(n for (kind, _), n in writes.items() if kind.startswith("upgradeproposals"))
    lists = calls.get(("GET", "list pages"), 0)
    ok = (
        github_writes == 0
        and proposal_writes == 0
        and writes.get(("events", "POST"), 0) == 0
        and writes.get(("upgraderconfigs/status", "PATCH"), 0) <= 1
        and sum(calls.values()) <= releases // 100 + 1
        and lists == sum(calls.values())
    )
    print("OK: the quiet cycle met its goal" if ok else "FAILED: the quiet cycle missed its goal")
    return 0 if ok else 1


def _open_every_pull_request(local: cluster.LocalCluster, github: standin.GitHubStandIn) -> int:
    """Each proposal Open with its PR on record, each PR open in the stand-in under its branch."""
    pulls = github.pulls["acme/fleet"]
    for number, body in enumerate(sorted(local.list("upgradeproposals", NAMESPACE), key=_name), start=1):
        spec = body["spec"]
        release = spec["release"]
        branch = naming.branch_name(PREFIX, release["namespace"], release["name"])
        title = texts.title(spec["chart"], spec["targetVersion"], release["namespace"], release["name"])
        pulls[number] = payloads.PullState(number, 1000 + number, title, "body", branch, "main", False)
        url = f"{github.urls.html}/acme/fleet/pull/{number}"
        body["status"] = {**body.get("status", {}), "phase": "Open", "message": f"pull request #{number} opened",
                          "pullRequest": {"number": number, "url": url, "branch": branch}}  # fmt: skip
        local.apply(body)
    return len(pulls)


def _name(body: dict) -> str:  # type: ignore[type-arg]
    return str(body["metadata"]["name"])


async def _measure(local, github, memo, marks):  # type: ignore[no-untyped-def]
    """The GitHub calls and API writes of a cycle: the first of this process (`marks`: the last check time and the
    log positions before it started), or one started now as the interval would (the webhook's trigger)."""
    if marks is None:
        checked, api_mark, github_mark = _marks(local, github)
        await asyncio.sleep(1.1)  # lastCheckTime has a one-second resolution
        memo.services.triggers.config(NAMESPACE, "fleet")
    else:
        checked, api_mark, github_mark = marks
    await _cycle_done(local, checked)
    await _settle(local, github, memo)
    calls = collections.Counter((c.method, _kind(c)) for c in github.calls[github_mark:])
    return calls, cycle_scale._by_resource(list(local.api.audit)[api_mark:])


def _marks(local: cluster.LocalCluster, github: standin.GitHubStandIn) -> tuple[str | None, int, int]:
    """The config's last check time and where the API's and GitHub's logs stand."""
    return cycle_scale._status(local).get("lastCheckTime"), len(local.api.audit), len(github.calls)


def _kind(call: standin.Call) -> str:
    if call.path.endswith("/pulls") and call.method == "GET":
        return "list pages" if "head" not in call.query else "list of one branch"
    return "one pull request" if "/pulls/" in call.path and call.method == "GET" else call.path.rsplit("/", 1)[-1]


async def _cycle_done(local: cluster.LocalCluster, previous: str | None) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        checked = cycle_scale._status(local).get("lastCheckTime")
        if checked and checked != previous:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the cycle did not finish in time")


async def _settle(local, github, memo) -> None:  # type: ignore[no-untyped-def]
    """Wait for the Git worker's queue, then until neither the API nor GitHub has seen a call for SETTLE seconds."""
    await memo.services.workers.join()
    seen, quiet_since = (len(local.api.audit), len(github.calls)), time.monotonic()
    while time.monotonic() - quiet_since < SETTLE:
        await asyncio.sleep(0.2)
        now = (len(local.api.audit), len(github.calls))
        if now != seen:
            seen, quiet_since = now, time.monotonic()
    await memo.services.workers.join()


def _print(label: str, calls: collections.Counter, writes: collections.Counter) -> None:  # type: ignore[type-arg]
    print(f"GitHub calls, {label}: {sum(calls.values())}")
    for (method, kind), count in sorted(calls.items()):
        print(f"  {method:<6} {kind:<28} {count:>6}")
    print(f"API writes, {label}: {sum(writes.values())}")
    for (kind, method), count in sorted(writes.items()):
        print(f"  {kind:<28} {method:<6} {count:>6}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--releases", type=int, default=1000)
    sys.exit(asyncio.run(main(parser.parse_args().releases)))
