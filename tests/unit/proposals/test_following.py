"""The follow action: an Open or Merged proposal becomes Merged, Closed or Applied from its PR (a fake forge) and
from the chart version the cluster runs, with one event per transition and nothing written while nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from fluxcd_helm_upgrader.forges import base
from fluxcd_helm_upgrader.proposals import failures, following
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
        ("Open", None, [], None, None, True),  # the PR is gone (deleted branch): nothing to say either
        # A merged PR for an older target is not this proposal's.
        ("Open", "6.5.0", [_pr("merged", "Update podinfo to 6.6.0 in apps/podinfo")], None, None, True),
        ("Merged", "6.5.0", [_pr("merged")], None, None, False),  # waiting for Flux: the forge is not asked again
    ],
    ids=["applied", "applied-v-prefix", "merged-then-applied", "merged", "closed", "open", "no-pr", "older-title",
         "merged-waiting"],
)  # fmt: skip
async def test_follow(
    world: World, phase: str, deployed: str | None, pulls: list[base.PullRequest], expected: str | None,
    event: tuple[str, str] | None, asks_forge: bool,
) -> None:
    world.forge.pulls.extend(pulls)
    body = world.proposal(phase, pullRequest={"branch": BRANCH, "number": 12})
    status, posted = await following.follow(FakeSecrets({}), world.job(deployed_version=deployed), body)
    assert (status or {}).get("phase") == expected
    assert posted == (("Normal", *event) if event else None)
    assert bool(world.forge.calls) is asks_forge
    if status is not None:
        assert event is not None and status["conditions"][0]["reason"] == event[0]
        assert status["pullRequest"] == {"branch": BRANCH, "number": 12}, "the PR stays on record"
        assert status.get("skippedTargets", []) == (["6.7.1"] if expected == "Closed" else [])
    assert not world.workspace.commands, "following never runs git"


async def test_a_forge_that_cannot_be_asked_is_forge_failed(world: World) -> None:
    world.forge.failures["find_pull_request"] = base.ForgeError("API rate limit exceeded", "rate_limited", status=403)
    with pytest.raises(failures.JobError) as caught:
        await following.follow(FakeSecrets({}), world.job(), world.proposal("Open"))
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
