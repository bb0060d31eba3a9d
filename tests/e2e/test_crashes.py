"""Crash at every step of the pipeline: the real operator process is SIGKILLed, started again, and the user still
sees exactly one PR per release, each proposal Open with its PR's number.

The pipeline of one proposal: commit on the branch in the clone, push, GitHub creates the PR, the operator reads
its number, the proposal's status is written. Each test kills the operator (its own process, as a pod's container
dies) right after one of those steps, from the test's side: a pre-receive hook on the bare remote (the commit
exists, the push never lands), a post-receive hook (the branch is pushed), the GitHub stand-in after it created the
PR and before it answers, and the test itself once it reads the Open status from the API server. The restarted
operator uses the same cache directory (left-over clone and commit included).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from fluxcd_helm_upgrader.testkit.demo import fleet
from tests.e2e import harness, processes, prs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]

PROPOSALS = prs.PROPOSALS
CREATE = "/repos/acme/fleet/pulls"


def _hook(s: prs.Setup, name: str, pid_file: Path, *, refuse: bool) -> None:
    """A hook on the bare remote that SIGKILLs the pid in `pid_file` once (it removes the file)."""
    hook = Path(s.git_url.removeprefix("file://")) / "hooks" / name
    hook.write_text(
        "#!/bin/sh\n"
        f'pid_file="{pid_file}"\n'
        '[ -f "$pid_file" ] || exit 0\n'
        'pid=$(cat "$pid_file"); rm -f "$pid_file"\n'
        'kill -9 "$pid"\n'
        f"exit {1 if refuse else 0}\n"
    )
    hook.chmod(0o755)


async def _killed(s: prs.Setup, tmp_path: Path, arm: Callable[[int], None], what: str) -> None:
    """Run the operator until `arm(pid)`'s trap SIGKILLs it; fail if it is still alive after a minute."""
    process = await processes.start(s.local.kubeconfig, tmp_path / "operator-cache", tmp_path / "operator.log")
    try:
        arm(process.pid)
        await asyncio.wait_for(process.wait(), 90)
    except TimeoutError:
        raise AssertionError(f"the operator was not killed {what}; log: {tmp_path / 'operator.log'}") from None
    finally:
        await processes.stop(process)
    assert process.returncode == -signal.SIGKILL, what


async def _restarted_ends_with_one_pr_each(s: prs.Setup, tmp_path: Path) -> None:
    """Start the operator again on the same cache: each release ends with one PR, its proposal Open with it."""
    async with processes.running(s.local.kubeconfig, tmp_path / "operator-cache", tmp_path / "operator.log"):
        await harness.wait_for(
            lambda: all(s.phase(name) == "Open" for name in PROPOSALS), timeout=90, what="every proposal Open"
        )
        await s.reconcile("after-restart")  # one more full cycle: still nothing created twice
    pulls = prs.assert_one_pr_each(s)
    assert all(pr.labels == ["dependencies"] for pr in pulls.values())
    created = [c for c in s.github.calls if c.method == "POST" and c.path == CREATE and c.status == 201]
    assert len(created) == len(PROPOSALS)
    podinfo_diff = fleet.branch_diff(s.git_url, PROPOSALS["apps.podinfo"])
    assert "+      version: 6.7.1  # what runs in the demo cluster" in podinfo_diff


async def test_killed_after_the_commit_before_the_push(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        pid_file = tmp_path / "kill-on-push.pid"
        _hook(s, "pre-receive", pid_file, refuse=True)  # the commit exists in the clone; the push is refused
        s.local.apply(s.config())
        await _killed(s, tmp_path, lambda pid: pid_file.write_text(str(pid)), "when its first push arrived")
        assert not [b for b in fleet.branches(s.git_url) if b.startswith("helm-upgrader/")]
        assert s.github.pull_requests() == []
        await _restarted_ends_with_one_pr_each(s, tmp_path)


async def test_killed_after_the_push(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        pid_file = tmp_path / "kill-after-push.pid"
        _hook(s, "post-receive", pid_file, refuse=False)  # the branch is updated before post-receive runs
        s.local.apply(s.config())
        await _killed(s, tmp_path, lambda pid: pid_file.write_text(str(pid)), "after its first push")
        # The worker pushes a batch's branches in one push (issue 17): both proposals' branches landed together.
        assert len([b for b in fleet.branches(s.git_url) if b.startswith("helm-upgrader/")]) == len(PROPOSALS)
        assert s.github.pull_requests() == []
        await _restarted_ends_with_one_pr_each(s, tmp_path)


async def test_killed_after_github_created_the_pr_before_the_answer(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())

        def arm(pid: int) -> None:
            s.github.before_answer("POST", CREATE, lambda: os.kill(pid, signal.SIGKILL))

        await _killed(s, tmp_path, arm, "after GitHub created its first PR")
        assert len(s.github.pull_requests()) == 1
        assert all(s.phase(name) != "Open" for name in PROPOSALS), "the operator never learned the PR's number"
        await _restarted_ends_with_one_pr_each(s, tmp_path)


async def test_killed_after_the_status_write(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())

        def arm(pid: int) -> None:
            async def kill_once_open() -> None:
                await harness.wait_for(
                    lambda: any(s.phase(name) == "Open" for name in PROPOSALS), timeout=90, what="a proposal Open"
                )
                os.kill(pid, signal.SIGKILL)

            tasks.append(asyncio.create_task(kill_once_open()))

        tasks: list[asyncio.Task[None]] = []
        await _killed(s, tmp_path, arm, "after it wrote an Open status")
        await asyncio.gather(*tasks)
        await _restarted_ends_with_one_pr_each(s, tmp_path)


async def test_killed_with_its_git_mid_commit_leaves_stale_locks(tmp_path: Path) -> None:
    """A container's crash kills its git too: the clone keeps git's lock files (index.lock, the branch's ref lock)
    as a git killed mid-commit leaves them. The restarted operator still ends with one PR per release."""
    async with prs.setup(tmp_path) as s:
        pid_file = tmp_path / "kill-on-push.pid"
        _hook(s, "pre-receive", pid_file, refuse=True)
        s.local.apply(s.config())
        await _killed(s, tmp_path, lambda pid: pid_file.write_text(str(pid)), "when its first push arrived")
        clones = [git_dir for git_dir in (tmp_path / "operator-cache" / "git").glob("*/.git") if git_dir.is_dir()]
        assert clones, "the killed operator left its clone"
        for git_dir in clones:
            (git_dir / "index.lock").touch()
            for branch in PROPOSALS.values():
                lock = git_dir / "refs" / "heads" / f"{branch}.lock"
                lock.parent.mkdir(parents=True, exist_ok=True)
                lock.touch()
        await _restarted_ends_with_one_pr_each(s, tmp_path)
