"""The publish action against a real file:// remote and a fake forge: what the reviewer gets (the branch with a
one-line diff, the PR's title, body, base and labels) and what `kubectl get uprop` shows (phase Open with the PR,
the manifest location, one event). A PR already merged or closed for this target is recorded, never reopened; a
target the last check did not allow is never pushed."""

from __future__ import annotations

import dataclasses
from unittest import mock

import pytest

from fluxcd_helm_upgrader.forges import base
from fluxcd_helm_upgrader.gitops import repos
from fluxcd_helm_upgrader.proposals import failures, publishing
from tests.support import remotes
from tests.unit.proposals.conftest import BRANCH, RELEASE, TITLE, World


async def test_a_pending_proposal_gets_its_branch_and_a_new_pull_request(world: World) -> None:
    body = world.proposal("Pending")
    status, event = await publishing.publish(world.ctx, world.job(), body)

    diff = world.pushed()
    assert "-      version: 6.5.0 # pinned by the team\n+      version: 6.7.1 # pinned by the team" in diff
    assert diff.count("\n-") - diff.count("\n---") == 1 and diff.count("\n+") - diff.count("\n+++") == 1
    (request,) = world.forge.requests
    assert (request.repository, request.base, request.head, request.title, request.labels) == (
        "acme/fleet", "main", BRANCH, TITLE, ("dependencies",))  # fmt: skip
    assert "apps/release.yaml" in request.body and "6.5.0" in request.body
    assert status is not None
    assert status["phase"] == "Open"
    assert status["pullRequest"] == {"branch": BRANCH, "number": 1, "url": "https://github.test/acme/fleet/pull/1",
                                     "openedAt": mock.ANY}  # fmt: skip
    assert status["manifest"] == {"path": "apps/release.yaml", "line": 10}
    assert status["conditions"][0]["reason"] == "PullRequestOpen"
    assert event == ("Normal", "PullRequestOpened", "pull request #1 opened: apps/release.yaml:10 -> 6.7.1")
    message = remotes.git(world.remote.bare, "log", "-1", "--format=%B", BRANCH)
    assert message == f"{TITLE}\n\nProposed by fluxcd-helm-upgrader (flux-system/apps.podinfo)."


async def test_an_open_pull_request_for_the_branch_is_updated_not_duplicated(world: World) -> None:
    older = base.PullRequest(7, "https://github.test/acme/fleet/pull/7", "open", BRANCH,
                             "Update podinfo to 6.6.0 in apps/podinfo")  # fmt: skip
    world.forge.pulls.append(older)
    status, event = await publishing.publish(world.ctx, world.job(), world.proposal("Pending"))
    assert [p.number for p in world.forge.pulls] == [7]
    assert world.forge.pulls[0].title == TITLE
    assert status is not None and status["pullRequest"]["number"] == 7
    assert event == ("Normal", "PullRequestUpdated", "pull request #7 updated: apps/release.yaml:10 -> 6.7.1")


@pytest.mark.parametrize(
    ("state", "phase", "event"),
    [
        ("merged", "Merged", ("Normal", "PullRequestMerged",
                              "pull request #3 was merged; waiting for Flux to apply 6.7.1")),
        ("closed", "Closed", ("Normal", "PullRequestClosed",
                              "pull request #3 was closed without merge; 6.7.1 is skipped until a newer version")),
    ],
)  # fmt: skip
async def test_a_pull_request_for_this_target_that_is_no_longer_open_is_recorded_not_reopened(
    world: World, state: base.PullRequestState, phase: str, event: tuple[str, str, str]
) -> None:
    world.forge.pulls.append(base.PullRequest(3, "https://github.test/acme/fleet/pull/3", state, BRANCH, TITLE))
    status, posted = await publishing.publish(world.ctx, world.job(), world.proposal("Failed"))
    assert status is not None and status["phase"] == phase
    assert posted == event
    assert world.forge.calls == ["open_pull_requests", "find_pull_request"]
    assert not world.remote.has(BRANCH), "nothing is pushed for a target whose PR was merged or closed"
    assert status.get("skippedTargets", []) == (["6.7.1"] if state == "closed" else [])


async def test_provider_none_pushes_the_branch_only(world: World) -> None:
    status, event = await publishing.publish(world.ctx, world.job(provider="none"), world.proposal("Pending"))
    assert world.remote.has(BRANCH)
    assert status is not None and status["pullRequest"] == {"branch": BRANCH, "openedAt": mock.ANY}
    assert event == ("Normal", "BranchPushed", f"branch {BRANCH} pushed (apps/release.yaml:10 -> 6.7.1); provider "
                     "none opens no pull request")  # fmt: skip


async def test_the_same_change_again_is_not_pushed_twice(world: World) -> None:
    await publishing.publish(world.ctx, world.job(), world.proposal("Pending"))
    first = world.remote.sha(BRANCH)
    _, event = await publishing.publish(world.ctx, world.job(), world.proposal("Failed"))
    assert world.remote.sha(BRANCH) == first
    assert event is not None and event[1] == "PullRequestUpdated"
    assert len([c for c in world.workspace.commands if "push" in c]) == 1


@pytest.mark.parametrize(
    ("job_target", "spec_target", "message"),
    [
        ("6.7.1", "9.9.9", "spec.targetVersion '9.9.9' is not what the last check of the release allowed (6.7.1); "
                           "nothing was pushed"),
        (None, "6.7.1", "no check of this release has allowed a target yet; nothing pushed"),
    ],
    ids=["edited-by-hand", "never-checked"],
)  # fmt: skip
async def test_a_target_the_last_check_did_not_allow_is_never_pushed(
    world: World, job_target: str | None, spec_target: str, message: str
) -> None:
    job = world.job(target=job_target or "6.7.1")
    if job_target is None:
        job = dataclasses.replace(job, edit=None)
    with pytest.raises(failures.JobError) as caught:
        await publishing.publish(world.ctx, job, world.proposal("Pending", target=spec_target))
    assert (caught.value.reason, str(caught.value)) == ("TargetNotAllowed", message)
    assert world.forge.calls == [] and not world.workspace.commands


async def test_a_forge_that_refuses_the_pull_request_fails_after_the_push(world: World) -> None:
    world.forge.failures["open_or_update"] = base.ForgeError("Bad credentials", "auth", status=401)
    with pytest.raises(failures.JobError) as caught:
        await publishing.publish(world.ctx, world.job(), world.proposal("Pending"))
    assert (caught.value.reason, str(caught.value)) == ("ForgeFailed", "auth: Bad credentials")
    assert world.remote.has(BRANCH), "the branch is pushed; the next attempt finds it and opens the PR"


async def test_an_unreachable_repository_is_tried_once_per_drain(world: World) -> None:
    missing = world.remote.bare.parent / "missing.git"
    job = world.job(url=missing.as_uri())
    with pytest.raises(failures.JobError) as first:
        await publishing.publish(world.ctx, job, world.proposal("Pending"))
    assert first.value.reason == "GitFailed" and str(first.value).startswith("git (not-found): ")
    ran = len(world.workspace.commands)
    with pytest.raises(failures.JobError) as second:
        await publishing.publish(world.ctx, job, world.proposal("Pending"))
    assert str(second.value) == str(first.value)
    assert len(world.workspace.commands) == ran, "the second proposal of a broken repository runs no git"
    world.ctx.drained(job.repo_key)
    with pytest.raises(failures.JobError):
        await publishing.publish(world.ctx, job, world.proposal("Pending"))
    assert len(world.workspace.commands) > ran, "after the queue drained, Git is tried again"


async def test_a_release_that_is_not_in_the_repository_is_manifest_not_found(world: World) -> None:
    job = world.job()
    assert job.edit is not None
    job = dataclasses.replace(job, edit=dataclasses.replace(job.edit, name="elsewhere"))
    with pytest.raises(failures.JobError) as caught:
        await publishing.publish(world.ctx, job, world.proposal("Pending"))
    assert caught.value.reason == "ManifestNotFound"
    assert "elsewhere" in str(caught.value)
    assert not world.remote.has(BRANCH)


async def test_another_clusters_operator_commit_on_a_shared_branch_is_joined_not_branch_modified(world: World) -> None:
    """Another cluster's operator (another git author, the operator's trailer) made this very edit on the branch."""
    status, _ = await publishing.publish(world.ctx, world.job(), world.proposal("Pending"))
    newer = RELEASE.replace(b"version: 6.5.0", b"version: 6.8.0")
    message = f"Update podinfo to 6.8.0 in apps/podinfo\n\n{repos.OPERATOR_TRAILER}flux-system/apps.podinfo)."
    theirs = world.remote.push_change(BRANCH, "apps/release.yaml", newer, message)
    body = world.proposal("Pending", target="6.8.0", pullRequest=status["pullRequest"] if status else {})
    status, _ = await publishing.publish(world.ctx, world.job(target="6.8.0", cycle=2), body)
    assert status is not None and status["phase"] == "Open"
    assert world.remote.sha(BRANCH) == theirs, "the same edit is joined: nothing pushed over it"
    assert not world.forge.comments


async def test_a_branch_someone_else_committed_on_is_not_rewritten_until_their_commits_are_gone(
    world: World,
) -> None:
    status, _ = await publishing.publish(world.ctx, world.job(), world.proposal("Pending"))
    ours = world.remote.sha(BRANCH)
    theirs = world.remote.push_change(BRANCH, "apps/notes.md", b"pinned until the migration\n")
    newer = world.job(target="6.8.0", cycle=2)
    body = world.proposal("Pending", target="6.8.0", pullRequest=status["pullRequest"] if status else {})

    with pytest.raises(failures.JobError) as caught:
        await publishing.publish(world.ctx, newer, body)
    assert caught.value.reason == "BranchModified"
    assert str(caught.value) == (
        f"branch {BRANCH} has commits by someone else ({theirs[:12]} by Someone Else): not rewritten; remove them or "
        "close pull request #1 to let the operator propose 6.8.0"
    )
    assert world.remote.sha(BRANCH) == theirs, "never pushed over"
    [(number, comment)] = world.forge.comments
    assert number == 1
    assert comment.startswith("**Edited/Blocked**: fluxcd-helm-upgrader will not update this pull request to podinfo "
                              "6.8.0, because someone else committed on")  # fmt: skip
    assert f"`{theirs[:12]} by Someone Else`" in comment
    assert world.forge.pulls[0].title == TITLE, "the PR still proposes what its branch holds"

    # The next cycle, status saying so already: still not rewritten, no second comment.
    blocked, _ = failures.failed(body, caught.value)
    with pytest.raises(failures.JobError):
        await publishing.publish(world.ctx, world.job(target="6.8.0", cycle=3), {**body, "status": blocked})
    assert len(world.forge.comments) == 1 and world.remote.sha(BRANCH) == theirs

    # They reset the branch to the operator's commit: the newer target goes on the same branch and PR.
    remotes.git(world.remote.bare, "update-ref", f"refs/heads/{BRANCH}", ours)
    status, event = await publishing.publish(world.ctx, world.job(target="6.8.0", cycle=4), {**body, "status": blocked})
    assert status is not None and status["phase"] == "Open" and status["pullRequest"]["number"] == 1
    assert event is not None and event[1] == "PullRequestUpdated"
    assert "+      version: 6.8.0 # pinned by the team" in world.pushed()
