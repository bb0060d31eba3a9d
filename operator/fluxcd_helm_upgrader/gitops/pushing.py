"""Push many of our branches at once: the staged commits of a batch, PUSH_CHUNK branches per `git push`.

Called by `gitops.repos.Workspace.push` (the Git worker's batches, through `proposals.publishing.push`) with the
clone's runner (its lock held, in a worker thread, in a credential session). Each branch has its own lease
(`--force-with-lease=refs/heads/<branch>:<where we last saw it>`). When a many-branch push fails, the branches it
did not update are pushed again one by one, so each error is that branch's own (a lease, a rejection) exactly as a
single push reports it; a failure of the remote itself (network, auth, host key, timeout, not found) is given to
the rest of the chunk without trying each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fluxcd_helm_upgrader.gitops import commands

ErrorKind = commands.ErrorKind
GitError = commands.GitError
Runner = commands.Runner
Run = Callable[[Callable[[Runner], set[str]]], Awaitable[set[str]]]

PUSH_CHUNK = 100  # branches per `git push` command
# Failures of the remote, not of one branch: the branches after it in a push fail the same way without a retry.
_REMOTE_FAILURES = frozenset({ErrorKind.NETWORK, ErrorKind.AUTH, ErrorKind.HOST_KEY, ErrorKind.TIMEOUT,
                              ErrorKind.NOT_FOUND})  # fmt: skip


@dataclass(frozen=True)
class Staged:
    """A commit for our branch, written but not pushed yet (`Workspace.commit`, then `Workspace.push`)."""

    branch: str
    sha: str
    expected: str  # where our last fetch or push saw the branch ("": it must not exist): the push's lease
    pushed: bool = False  # the remote branch already holds this change: nothing to push


async def push(run: Run, path: Path, commits: Sequence[Staged]) -> dict[str, GitError | None]:
    """Push staged commits, each with its lease, PUSH_CHUNK branches per git command; per branch, None or the
    error. When a many-branch push fails, the branches it did not update are pushed again one by one, so each
    error is that branch's own (a lease, a rejection), exactly as a single push reports it."""
    results: dict[str, GitError | None] = {c.branch: None for c in commits if c.pushed}
    todo = [c for c in commits if not c.pushed]

    def work(batch: Sequence[Staged]) -> Callable[[Runner], set[str]]:
        def run_push(runner: Runner) -> set[str]:
            with runner.repo(path) as r:
                leases = [f"--force-with-lease=refs/heads/{c.branch}:{c.expected}" for c in batch]
                specs = [f"{c.sha}:refs/heads/{c.branch}" for c in batch]
                done = runner(r.git, "push", "--porcelain", "--no-verify", *leases, "origin", *specs,
                           options={"c": "core.hooksPath=/dev/null"}, network=True,
                           check=len(batch) == 1)  # fmt: skip
                return _pushed(done.stdout) if done.returncode else {c.branch for c in batch}

        return run_push

    for start in range(0, len(todo), PUSH_CHUNK):
        batch = todo[start : start + PUSH_CHUNK]
        if len(batch) > 1:
            updated = await run(work(batch))
            results.update({c.branch: None for c in batch if c.branch in updated})
            batch = [c for c in batch if c.branch not in updated]
        unreachable: GitError | None = None
        for one in batch:
            if unreachable is not None:  # the remote itself failed: the others would wait for it again
                results[one.branch] = unreachable
                continue
            try:
                await run(work([one]))
                results[one.branch] = None
            except GitError as error:
                results[one.branch] = error
                if error.kind in _REMOTE_FAILURES:
                    unreachable = error
    return results


def _pushed(porcelain: bytes) -> set[str]:
    """The branches a `git push --porcelain` updated (flags ' ', '+', '*', '='; '!' is a rejection)."""
    done = set()
    for line in porcelain.decode("utf-8", "replace").splitlines():
        flag, _, rest = line.partition("\t")
        refs = rest.partition("\t")[0]
        if flag in (" ", "+", "*", "=") and ":refs/heads/" in refs:
            done.add(refs.rpartition(":refs/heads/")[2])
    return done
