"""The follow action: an Open or Merged proposal becomes Merged, Closed or Applied from its PR (a fake forge) and
from the chart version the cluster runs, with one event per transition and nothing written while nothing changed."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from fluxcd_helm_upgrader.forges import base
from fluxcd_helm_upgrader.proposals import failures, following
from fluxcd_helm_upgrader.proposals.pulls import OpenPulls
from tests.fakes import FakeSecrets
from tests.unit.proposals.conftest import BRANCH, TITLE, World


def _pr(state: base.PullRequestState, title: str = TITLE) -> base.PullRequest:
    return base.PullRequest(12, "https://github.test/acme/fleet/pull/12", state, BRANCH, title)


@pytest.mark.parametrize(
    ("phase", "deployed", "pulls", "expected", "event", "asks_forge"),
    [
        ("Open", "6.7.1", [_pr("open")], "Applied",
         ("UpgradeApplied", "apps/podinfo runs chart podinfo 6.7.1 (target 6.7.1)"), False),
        ("Open", "v6.7.1", [], "Applied", ("UpgradeApplied", "apps/podinfo runs chart podinfo v6.7.1 (target 6.7.1)"),
         False),
        ("Merged", "6.7.1", [_pr("merged")], "Applied",
         ("UpgradeApplied", "apps/podinfo runs chart podinfo 6.7.1 (target 6.7.1)"), False),
        ("Open", "6.5.0", [_pr("merged")], "Merged",
         ("PullRequestMerged", "pull request #12 merged; waiting for Flux to apply 6.7.1"), True),
        ("Open", "6.5.0", [_pr("closed")], "Closed",
         ("PullRequestClosed", "pull request #12 closed without merge; 6.7.1 is skipped until a newer version"), True),
        ("Open", "6.5.0", [_pr("open")], None, None, True),  # under review: nothing to say
        # Someone retitled the PR, then merged it: it is still the one status records (by branch and number).
        ("Open", "6.5.0", [_pr("merged", "podinfo 6.7.1, reviewed by ops")], "Merged",
         ("PullRequestMerged", "pull request #12 merged; waiting for Flux to apply 6.7.1"), True),
        ("Merged", "6.5.0", [_pr("merged")], None, None, False),  # waiting for Flux: the forge is not asked again
    ],
    ids=["applied", "applied-v-prefix", "merged-then-applied", "merged", "closed", "open", "retitled-then-merged",
         "merged-waiting"],
)  # fmt: skip
async def test_follow(
    world: World, phase: str, deployed: str | None, pulls: list[base.PullRequest], expected: str | None,
    event: tuple[str, str] | None, asks_forge: bool,
) -> None:
    world.forge.pulls.extend(pulls)
    body = world.proposal(phase, pullRequest={"branch": BRANCH, "number": 12})
    status, posted = await following.follow(FakeSecrets({}), world.job(deployed_version=deployed), body, OpenPulls())
    assert (status or {}).get("phase") == expected
    assert posted == (("Normal", *event) if event else None)
    assert bool(world.forge.calls) is asks_forge
    if status is not None:
        assert event is not None and status["conditions"][0]["reason"] == event[0]
        assert status["pullRequest"] == {"branch": BRANCH, "number": 12}, "the PR stays on record"
        assert status.get("skippedTargets", []) == (["6.7.1"] if expected == "Closed" else [])
    assert not world.workspace.commands, "following never runs git"


async def test_a_forge_that_cannot_be_asked_is_forge_failed(world: World) -> None:
    world.forge.failures["open_pull_requests"] = base.ForgeError("API rate limit exceeded", "rate_limited", status=403)
    with pytest.raises(failures.JobError) as caught:
        await following.follow(FakeSecrets({}), world.job(), world.proposal("Open"), OpenPulls())
    assert (caught.value.reason, str(caught.value)) == ("ForgeFailed", "rate_limited: API rate limit exceeded")


@pytest.mark.parametrize(
    ("spec", "branch", "title"),
    [
        ({"release": {"namespace": "apps", "name": "podinfo"}, "chart": "podinfo", "targetVersion": "6.7.1"},
         BRANCH, TITLE),
        ({"release": {"namespace": "data", "name": "cache"}, "chart": "redis", "targetVersion": "18.x"},
         "helm-upgrader/data/cache", "Update redis to 18.x in data/cache"),
    ],
)  # fmt: skip
def test_a_proposals_pull_request_is_named_by_its_branch_and_title(
    world: World, spec: dict[str, Any], branch: str, title: str
) -> None:
    assert following.branch_of(world.job(), spec) == branch
    assert following.title_of(spec) == title


async def test_the_open_pull_requests_are_listed_once_per_cycle_and_a_pr_is_asked_for_only_when_it_left_the_list(
    world: World,
) -> None:
    others = [base.PullRequest(n, f"https://github.test/acme/fleet/pull/{n}", "open", f"helm-upgrader/apps/x{n}",
                               f"Update x to 1.{n}") for n in range(20, 25)]  # fmt: skip
    world.forge.pulls.extend([_pr("open"), *others])
    open_pulls, job = OpenPulls(), world.job(deployed_version="6.5.0")
    body = world.proposal("Open", pullRequest={"branch": BRANCH, "number": 12})
    for _ in range(3):  # three proposals of one repository in one cycle
        assert await following.follow(FakeSecrets({}), job, body, open_pulls) == (None, None)
    assert world.forge.calls == ["open_pull_requests"]
    world.forge.pulls[0] = _pr("closed", "renamed by a person")
    status, _ = await following.follow(FakeSecrets({}), dataclasses.replace(job, cycle=2), body, open_pulls)
    assert status is not None and status["phase"] == "Closed"
    assert world.forge.calls == ["open_pull_requests", "open_pull_requests", "get"]


async def test_a_recorded_pull_request_the_forge_does_not_know_is_forge_failed_and_one_never_recorded_is_waited_for(
    world: World,
) -> None:
    recorded = world.proposal("Open", pullRequest={"branch": BRANCH, "number": 12})
    with pytest.raises(failures.JobError) as caught:
        await following.follow(FakeSecrets({}), world.job(), recorded, OpenPulls())
    assert (caught.value.reason, str(caught.value)) == ("ForgeFailed", "not_found: pull request #12 not found")
    # No number on record (provider none, or a status from before the PR was known): its branch and title decide.
    world.forge.pulls.append(_pr("merged", "Update podinfo to 6.6.0 in apps/podinfo"))  # an older target's PR
    unrecorded = world.proposal("Open", pullRequest={"branch": BRANCH})
    assert await following.follow(FakeSecrets({}), world.job(), unrecorded, OpenPulls()) == (None, None)
    assert world.forge.calls == ["open_pull_requests", "get", "open_pull_requests", "find_pull_request"]
