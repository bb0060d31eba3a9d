"""Publishing when several clusters share the repository (one operator each), against a real file:// remote and a
fake forge: a second cluster making the same edit joins the branch and PR (no push, no second PR, its name added to
"requested by"); an older target on the branch is updated by the newer; a newer one is never overwritten; and a
proposal opened under the older release-named branch keeps it while its PR is open (migration)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from fluxcd_helm_upgrader.forges import base, texts
from fluxcd_helm_upgrader.gitops import repos
from fluxcd_helm_upgrader.proposals import failures, joining, phases, publishing
from tests.support import remotes
from tests.unit.proposals.conftest import BRANCH, LEGACY_BRANCH, TITLE, World


def _cluster(world: World, tmp_path: Path, name: str) -> publishing.Context:
    """Another operator on the same repository and forge: its own clone, its own UPGRADER_CLUSTER_NAME."""
    workspace = repos.Workspace(tmp_path / f"cache-{name}", network_timeout=30, local_timeout=30, allow_file_urls=True)
    return dataclasses.replace(world.ctx, workspace=workspace, cluster_name=name, unreachable={})


async def test_a_second_cluster_making_the_same_edit_joins_its_branch_and_pull_request(
    world: World, tmp_path: Path
) -> None:
    staging, production = _cluster(world, tmp_path, "staging"), _cluster(world, tmp_path, "production")
    _, opened = await publishing.publish(staging, world.job(), world.proposal("Pending"))
    assert opened is not None and opened[1] == "PullRequestOpened"
    tip = world.remote.sha(BRANCH)

    status, event = await publishing.publish(production, world.job(), world.proposal("Pending"))
    assert world.remote.sha(BRANCH) == tip, "nothing pushed: the branch already holds this edit"
    assert [p.number for p in world.forge.pulls] == [1], "no second PR"
    assert event == ("Normal", "PullRequestJoined", f"pull request #1 joined (branch {BRANCH} already held this "
                     "edit): apps/release.yaml:10 -> 6.7.1")  # fmt: skip
    assert status is not None and status["phase"] == "Open"
    recorded = {key: status["pullRequest"][key] for key in ("branch", "number", "url")}  # and openedAt (maxPerHour)
    assert recorded == {"branch": BRANCH, "number": 1, "url": "https://github.test/acme/fleet/pull/1"}
    body = world.forge.pulls[0].body
    assert "**Requested by:** staging, production" in body
    assert texts.parse_requested_by(body) == ("staging", "production")

    # Each cluster publishing again keeps both names, once each.
    await publishing.publish(staging, world.job(), world.proposal("Failed"))
    assert texts.parse_requested_by(world.forge.pulls[0].body) == ("staging", "production")


async def test_an_older_target_on_the_branch_is_updated_by_the_newer(world: World, tmp_path: Path) -> None:
    production, staging = _cluster(world, tmp_path, "production"), _cluster(world, tmp_path, "staging")
    await publishing.publish(production, world.job(target="6.6.3"), world.proposal("Pending", target="6.6.3"))
    older = world.remote.sha(BRANCH)
    status, event = await publishing.publish(staging, world.job(), world.proposal("Pending"))
    assert world.remote.sha(BRANCH) != older
    assert "+      version: 6.7.1 # pinned by the team" in world.pushed()
    assert [(p.number, p.title) for p in world.forge.pulls] == [(1, TITLE)]
    assert event is not None and event[1] == "PullRequestUpdated"
    assert status is not None and status["pullRequest"]["number"] == 1


async def test_a_newer_target_on_the_branch_is_never_overwritten(world: World, tmp_path: Path) -> None:
    staging, production = _cluster(world, tmp_path, "staging"), _cluster(world, tmp_path, "production")
    await publishing.publish(staging, world.job(target="6.8.0"), world.proposal("Pending", target="6.8.0"))
    newer = world.remote.sha(BRANCH)
    with pytest.raises(failures.JobError) as caught:
        await publishing.publish(production, world.job(), world.proposal("Pending"))
    assert caught.value.reason == "NewerTargetOnBranch"
    assert world.remote.sha(BRANCH) == newer
    assert [p.title for p in world.forge.pulls] == ["Update podinfo to 6.8.0 in apps/podinfo"]


async def _publish_after_legacy_pr(world: World, state: base.PullRequestState, phase: str) -> phases.Transition:
    """Publish 6.7.1 for a proposal that recorded PR #7 (6.6.0, in `state`) on the older release-named branch."""
    world.forge.pulls.append(base.PullRequest(7, "https://github.test/acme/fleet/pull/7", state, LEGACY_BRANCH,
                                              "Update podinfo to 6.6.0 in apps/podinfo"))  # fmt: skip
    body = world.proposal(phase, pullRequest={"branch": LEGACY_BRANCH, "number": 7})
    return await publishing.publish(world.ctx, world.job(), body)


async def test_a_proposal_opened_under_the_release_named_branch_keeps_it_while_its_pr_is_open(world: World) -> None:
    status, event = await _publish_after_legacy_pr(world, "open", "Open")
    assert world.remote.has(LEGACY_BRANCH) and not world.remote.has(BRANCH)
    assert "+      version: 6.7.1 # pinned by the team" in world.pushed(LEGACY_BRANCH)
    assert [(p.number, p.title) for p in world.forge.pulls] == [(7, TITLE)]
    assert status is not None and status["pullRequest"]["branch"] == LEGACY_BRANCH
    assert event == ("Normal", "PullRequestUpdated", "pull request #7 updated: apps/release.yaml:10 -> 6.7.1")


async def test_once_the_old_pr_is_closed_the_next_target_gets_the_edit_named_branch(world: World) -> None:
    status, event = await _publish_after_legacy_pr(world, "closed", "Pending")
    assert world.remote.has(BRANCH) and not world.remote.has(LEGACY_BRANCH)
    assert status is not None and status["pullRequest"]["branch"] == BRANCH
    assert event is not None and event[1] == "PullRequestOpened"


async def test_a_push_that_loses_the_race_to_another_cluster_fetches_again_and_joins(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production fetched before staging pushed the same edit: its lease fails, it fetches again and joins."""
    staging, production = _cluster(world, tmp_path, "staging"), _cluster(world, tmp_path, "production")
    real_on_branch = joining.on_branch
    raced: list[str] = []

    async def on_branch(workspace: repos.Workspace, *args: object, **kwargs: object) -> joining.Decision:
        if workspace is production.workspace and not raced:
            raced.append("staging pushed in between")
            await publishing.publish(staging, world.job(), world.proposal("Pending"))
            await asyncio.sleep(1.1)  # a commit made in the same second would be byte-identical, hence no race
        return await real_on_branch(workspace, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(joining, "on_branch", on_branch)
    tip_after_staging: list[str] = []
    status, event = await publishing.publish(production, world.job(), world.proposal("Pending"))
    tip_after_staging.append(world.remote.sha(BRANCH))
    assert raced, "the other cluster's push happened between production's fetch and its push"
    assert event is not None and event[1] == "PullRequestJoined"
    assert status is not None and status["pullRequest"]["number"] == 1
    assert [p.number for p in world.forge.pulls] == [1]
    assert texts.parse_requested_by(world.forge.pulls[0].body) == ("staging", "production")
    log = remotes.git(world.remote.bare, "log", "--format=%H", BRANCH).split()
    assert len(log) == 2 and log[0] == tip_after_staging[0], "staging's commit stays: one commit on top of main"
