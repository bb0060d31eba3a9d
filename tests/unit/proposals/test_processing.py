"""One Git worker job end to end, minus the cluster: the phase picks the action, and what the user sees afterwards
is the proposal's status in the store and the events posted (one per transition, none when nothing changed)."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.forges import base
from fluxcd_helm_upgrader.proposals import processing
from tests.unit.proposals.conftest import BRANCH, TITLE, World


@pytest.mark.parametrize(
    ("phase", "action"),
    [("", processing.Action.PUBLISH), ("Pending", processing.Action.PUBLISH),
     ("Failed", processing.Action.PUBLISH), ("Open", processing.Action.FOLLOW),
     ("Merged", processing.Action.FOLLOW), ("Closed", processing.Action.NONE),
     ("Applied", processing.Action.NONE)],
)  # fmt: skip
def test_the_phase_decides_the_action(phase: str, action: processing.Action) -> None:
    assert processing.action_for(phase) is action


async def test_a_pending_proposal_ends_open_with_one_event(world: World) -> None:
    world.proposal("Pending")
    await processing.process(world.ctx, world.job())
    status = world.store.status("apps.podinfo")
    assert (status["phase"], status["pullRequest"]["number"]) == ("Open", 1)
    assert world.events.posted == [
        ("apps.podinfo", "Normal", "PullRequestOpened", "pull request #1 opened: apps/release.yaml:10 -> 6.7.1")
    ]
    # The PR is merged; the next cycle's job (after this drain of the queue) follows it.
    world.forge.pulls[0] = base.PullRequest(1, world.forge.pulls[0].url, "merged", BRANCH, TITLE)
    world.ctx.drained(world.job().repo_key)
    await processing.process(world.ctx, world.job())
    assert world.store.status("apps.podinfo")["phase"] == "Merged"
    assert world.events.reasons == ["PullRequestOpened", "PullRequestMerged"]


async def test_nothing_new_writes_nothing(world: World) -> None:
    world.forge.pulls.append(base.PullRequest(1, "https://github.test/acme/fleet/pull/1", "open", BRANCH, TITLE))
    world.proposal("Open")
    await processing.process(world.ctx, world.job(deployed_version="6.5.0"))
    assert world.store.writes == [] and world.events.posted == []


@pytest.mark.parametrize("phase", ["Closed", "Applied"])
async def test_final_phases_are_left_alone(world: World, phase: str) -> None:
    world.proposal(phase)
    await processing.process(world.ctx, world.job(deployed_version="6.7.1"))
    assert (world.store.writes, world.events.posted, world.forge.calls) == ([], [], [])
    assert not world.workspace.commands


async def test_a_deleted_proposal_is_skipped(world: World) -> None:
    await processing.process(world.ctx, world.job())
    assert (world.store.writes, world.forge.calls) == ([], [])


async def test_a_failure_is_the_proposals_status_and_one_warning(world: World) -> None:
    world.forge.failures["find_pull_request"] = base.ForgeError("Bad credentials", "auth", status=401)
    world.proposal("Pending")
    for _ in range(2):
        await processing.process(world.ctx, world.job())
    status = world.store.status("apps.podinfo")
    assert (status["phase"], status["message"]) == ("Failed", "auth: Bad credentials")
    assert status["conditions"][0]["reason"] == "ForgeFailed"
    assert world.events.posted == [("apps.podinfo", "Warning", "ForgeFailed", "auth: Bad credentials")]
    assert world.store.writes == [("patch_status", "apps.podinfo")]  # the retry that failed the same way: no write
