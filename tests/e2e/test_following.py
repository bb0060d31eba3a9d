"""Following pull requests as people treat them: the real operator, a local Git remote and a GitHub stand-in.

A person who retitles the PR does not stop the operator from following it (it is matched by its branch and the
number the proposal records, not by the title the operator wrote). A PR closed without merge skips its target; a
newer version then gets a new PR.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxcd_helm_upgrader.testkit.demo import fleet
from tests.e2e import harness, prs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]


async def test_a_retitled_pull_request_is_still_followed(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            number = await s.opened("apps.podinfo")
            s.github.pulls["acme/fleet"][number].title = "podinfo 6.7.1 (checked by ops)"
            s.github.merge(number)
            await s.reconcile("merged")
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Merged", what="Merged")
            await memo.services.workers.join()
        assert s.proposal("apps.podinfo")["status"]["message"] == (
            f"pull request #{number} merged; waiting for Flux to apply 6.7.1"
        )
        assert s.github.pulls["acme/fleet"][number].title == "podinfo 6.7.1 (checked by ops)"
        assert len(s.github.pull_requests()) == 2


async def test_closed_without_merge_then_a_newer_version_gets_a_new_pull_request(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            first = await s.opened("apps.podinfo")
            s.github.close(first)
            await s.reconcile("closed")
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Closed", what="Closed")
            await s.reconcile("still-closed")  # nothing newer: the skipped target is not proposed again
            await memo.services.workers.join()
            assert s.phase("apps.podinfo") == "Closed"
            assert [p.number for p in s.github.pull_requests() if p.head == prs.PODINFO_BRANCH] == [first]

            s.charts.repos["demo"].add("podinfo", "6.8.0")
            await s.reconcile("newer")
            await harness.wait_for(
                lambda: s.phase("apps.podinfo") == "Open"
                and s.proposal("apps.podinfo")["spec"]["targetVersion"] == "6.8.0",
                what="a new PR for 6.8.0",
            )
            await memo.services.workers.join()
        status = s.proposal("apps.podinfo")["status"]
        podinfo = {p.number: p for p in s.github.pull_requests() if p.head == prs.PODINFO_BRANCH}
        second = status["pullRequest"]["number"]
        assert second != first and set(podinfo) == {first, second}
        assert (podinfo[first].state, podinfo[second].state) == ("closed", "open"), "the closed PR is never reopened"
        assert podinfo[second].title == "Update podinfo to 6.8.0 in apps/podinfo"
        assert status["skippedTargets"] == ["6.7.1"]
        assert "+      version: 6.8.0" in fleet.branch_diff(s.git_url, prs.PODINFO_BRANCH)
        events = [e["reason"] for e in s.local.list("events", prs.NAMESPACE)
                  if e["involvedObject"]["name"] == "apps.podinfo"]  # fmt: skip
        assert events.count("PullRequestClosed") == 1 and events.count("PullRequestOpened") == 2
        assert events.count("TargetUpdated") == 1


async def test_a_branch_a_person_committed_on_is_left_alone_until_the_pr_is_closed(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            first = await s.opened("apps.podinfo")
            theirs = _commit_as_a_person(tmp_path, s.git_url, prs.PODINFO_BRANCH)

            s.charts.repos["demo"].add("podinfo", "6.8.0")
            await s.reconcile("newer")
            await harness.wait_for(lambda: _ready_reason(s) == "BranchModified", what="BranchModified")
            await s.reconcile("still-modified")
            await memo.services.workers.join()
            assert _tip(s.git_url, prs.PODINFO_BRANCH) == theirs, "never pushed over"
            pull = s.github.pulls["acme/fleet"][first]
            assert len(pull.comments) == 1 and "someone else committed on" in pull.comments[0]
            assert pull.title == "Update podinfo to 6.7.1 in apps/podinfo"
            assert s.phase("apps.podinfo") == "Failed"
            assert f"{theirs[:12]} by Jane Ops" in s.proposal("apps.podinfo")["status"]["message"]

            s.github.close(first)  # they give up on it: the newer target gets its own PR
            await s.reconcile("closed")
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="a new PR for 6.8.0")
            await memo.services.workers.join()
        second = s.proposal("apps.podinfo")["status"]["pullRequest"]["number"]
        assert second != first
        assert s.github.pulls["acme/fleet"][second].title == "Update podinfo to 6.8.0 in apps/podinfo"
        assert "+      version: 6.8.0" in fleet.branch_diff(s.git_url, prs.PODINFO_BRANCH)
        assert len(s.github.pulls["acme/fleet"][first].comments) == 1
        reasons = [e["reason"] for e in s.local.list("events", prs.NAMESPACE)
                   if e["involvedObject"]["name"] == "apps.podinfo"]  # fmt: skip
        assert reasons.count("BranchModified") == 1


def _ready_reason(s: prs.Setup) -> str | None:
    return (harness.condition(s.proposal("apps.podinfo")) or {}).get("reason")


def _tip(git_url: str, branch: str) -> str:
    return fleet.git("rev-parse", f"refs/heads/{branch}", cwd=Path(git_url.removeprefix("file://"))).strip()


def _commit_as_a_person(tmp_path: Path, git_url: str, branch: str) -> str:
    """Jane pushes a commit of her own on the operator's branch; its sha."""
    work = tmp_path / "jane"
    fleet.git("clone", "--quiet", "--branch", branch, git_url, str(work), cwd=tmp_path)
    (work / "apps" / "NOTES.md").write_text("keep 6.7.1 until the migration\n")
    fleet.git("add", "apps/NOTES.md", cwd=work)
    fleet.git("-c", "user.name=Jane Ops", "-c", "user.email=jane@example.com", "commit", "--quiet", "-m", "notes",
              cwd=work)  # fmt: skip
    fleet.git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
    return fleet.git("rev-parse", "HEAD", cwd=work).strip()
