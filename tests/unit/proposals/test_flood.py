"""Flood control (proposals.flood): which proposals open a pull request this cycle, which wait and what they say."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from fluxcd_helm_upgrader import config
from fluxcd_helm_upgrader.proposals import flood
from fluxcd_helm_upgrader.proposals.worker import Job
from fluxcd_helm_upgrader.status import reasons
from tests import builders, fakes

NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.UTC)


def cfg(**prs: Any) -> config.UpgraderConfigSpec:
    return config.parse({"git": {"url": "https://github.com/acme/fleet.git"}, "pullRequests": prs})


def proposal(name: str, current: str = "1.0.0", target: str = "1.0.1", created: str = "2026-12-01T00:00:00Z",
             **status: Any) -> dict[str, Any]:  # fmt: skip
    body = builders.upgrade_proposal(name=name, release=("apps", name), current=current, target=target,
                                     status={"phase": "Pending", **status})  # fmt: skip
    body["metadata"]["creationTimestamp"] = created
    return body


def job_for(spec: config.UpgraderConfigSpec, body: dict[str, Any]) -> Job:
    return Job(namespace="flux-system", name=body["metadata"]["name"], config_name="fleet", config_uid="uid-1",
               config=spec)  # fmt: skip


def run(spec: config.UpgraderConfigSpec, bodies: list[dict[str, Any]]) -> flood.Plan:
    return flood.plan(spec.pull_requests, bodies, [job_for(spec, b) for b in bodies], NOW)


def opened(name: str, at: str = "2026-12-02T11:30:00Z") -> dict[str, Any]:
    return proposal(name, phase="Open", pullRequest={"number": 1, "branch": f"helm-upgrader/{name}", "openedAt": at})


def test_default_limit_is_ten_and_the_rest_wait_in_order() -> None:
    bodies = [proposal(f"p{i:02}", created=f"2026-12-01T00:00:{i:02}Z") for i in range(12)]
    plan = run(cfg(), bodies)
    assert [j.name for j in plan.jobs] == [f"p{i:02}" for i in range(10)]
    assert [w.body["metadata"]["name"] for w in plan.waiting] == ["p10", "p11"]
    assert plan.waiting[0].message.startswith(
        "waiting: 0 proposal(s) ahead of it (pullRequests.maxOpen is 10 pull requests)"
    )
    assert plan.waiting[1].message.startswith("waiting: 1 proposal(s) ahead of it")
    assert plan.held == [("flux-system", "p10"), ("flux-system", "p11")]


def test_biggest_version_gap_first_then_oldest() -> None:
    bodies = [
        proposal("patch-old", "1.0.0", "1.0.5", created="2026-01-01T00:00:00Z"),
        proposal("minor", "1.0.0", "1.2.0", created="2026-06-01T00:00:00Z"),
        proposal("major-new", "1.0.0", "2.0.0", created="2026-12-01T00:00:00Z"),
        proposal("major-old", "1.4.0", "2.0.0", created="2026-02-01T00:00:00Z"),
        proposal("two-majors", "1.0.0", "3.0.0", created="2026-12-01T00:00:00Z"),
    ]
    plan = run(cfg(maxOpen=2), bodies)
    assert [j.name for j in plan.jobs] == ["two-majors", "major-old"]
    assert [w.body["metadata"]["name"] for w in plan.waiting] == ["major-new", "minor", "patch-old"]


@pytest.mark.parametrize(("current", "target", "gap"), [
    ("6.5.0", "6.7.1", (0, 2, 0)), ("6.5.0", "6.5.3", (0, 0, 3)), ("17.x", "18.19.4", (1, 0, 0)),
    (">=1.0.0 <2.0.0", "3.1.0", (2, 0, 0)), ("v1.2.3", "v2.0.0", (1, 0, 0)), ("sha256:abc", "latest", (0, 0, 0)),
])  # fmt: skip
def test_gap(current: str, target: str, gap: tuple[int, int, int]) -> None:
    assert flood.gap(current, target) == gap


def test_open_ones_and_retargets_keep_their_slot_and_their_jobs() -> None:
    spec = cfg(maxOpen=3)
    retarget = proposal("retarget", phase="Pending", pullRequest={"number": 7, "branch": "helm-upgrader/x"})
    bodies = [opened("a"), opened("b"), retarget, proposal("new1"), proposal("new2")]
    plan = run(spec, bodies)
    assert sorted(j.name for j in plan.jobs) == ["a", "b", "retarget"]  # followed, followed, updates its own PR
    assert [w.body["metadata"]["name"] for w in plan.waiting] == ["new1", "new2"]
    assert "pullRequests.maxOpen is 3 pull requests" in plan.waiting[0].message


def test_a_closed_or_merged_pr_frees_its_slot() -> None:
    bodies = [opened("a"), proposal("b", phase="Merged"), proposal("c", phase="Closed"), proposal("new")]
    plan = run(cfg(maxOpen=2), bodies)
    assert "new" in [j.name for j in plan.jobs] and plan.waiting == []


def test_zero_is_no_limit() -> None:
    plan = run(cfg(maxOpen=0), [proposal(f"p{i}") for i in range(50)])
    assert len(plan.jobs) == 50 and plan.waiting == []


def test_max_per_hour_counts_what_opened_in_the_last_hour() -> None:
    merged = proposal("merged", phase="Merged", pullRequest={"branch": "b", "openedAt": "2026-12-02T11:10:00Z"})
    bodies = [opened("recent1"), merged, opened("old", at="2026-12-02T10:00:00Z"), proposal("n1"), proposal("n2")]
    plan = run(cfg(maxOpen=0, maxPerHour=3), bodies)
    assert [j.name for j in plan.jobs if j.name.startswith("n")] == ["n1"]
    assert [w.body["metadata"]["name"] for w in plan.waiting] == ["n2"]
    assert "pullRequests.maxPerHour is 3 pull requests" in plan.waiting[0].message


def test_branch_only_mode_counts_branches() -> None:
    plan = run(cfg(provider="none", maxOpen=1), [opened("a"), proposal("b")])
    assert [j.name for j in plan.jobs] == ["a"]
    assert "pullRequests.maxOpen is 1 branches" in plan.waiting[0].message


async def test_hold_writes_pending_with_the_reason_once() -> None:
    body = proposal("p1", phase="Failed", message="push failed")
    store = fakes.FakeProposals(body)
    entry = flood.Waiting(body, "waiting: 0 proposal(s) ahead of it (pullRequests.maxOpen is 1 pull requests)")
    await flood.hold(store, [entry])  # type: ignore[arg-type]
    status = store.objects[("flux-system", "p1")]["status"]
    assert status["phase"] == "Pending" and status["message"] == entry.message
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", reasons.PULL_REQUEST_LIMIT)
    writes = len(store.writes)
    await flood.hold(store, [flood.Waiting(store.objects[("flux-system", "p1")], entry.message)])  # type: ignore[arg-type]
    assert len(store.writes) == writes  # unchanged: not written again
