"""Batches of the Git worker: one fetch and one manifest index for many proposals of one repository.

Called by `proposals.publishing` for every proposal it publishes; `end_batches` is called by the worker (through
`publishing.Context.drained`) when a repository's queue is empty. The first proposal of a batch prepares the clone
(fetch, reset to the tip of the base branch) and gets the index of that commit (`gitops.index.ManifestIndex`); the
next ones of the same clone reuse both, so locating 1,000 proposals reads the checkout once instead of 1,000
times. A batch ends when the queue drains, after BATCH_SECONDS or after BATCH_JOBS proposals: the next proposal
fetches again, and when the base moved the index reads again only the files the new commits changed.

Decisions: within a batch every branch starts from the batch's base commit (at most BATCH_SECONDS old; GitHub
shows the PR's diff against its merge base either way) and is pushed with the credentials read when the batch
began. The index stays in memory between batches (one per clone: the checkout's manifests, parsed), so that a
new batch only reads what changed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fluxcd_helm_upgrader import metrics as metrics_
from fluxcd_helm_upgrader.gitops import credentials, index, repos
from fluxcd_helm_upgrader.proposals.worker import Job

BATCH_SECONDS = 60.0  # how old a batch's base commit may get before the next proposal fetches again
BATCH_JOBS = 1000  # proposals per batch at most


@dataclass
class Checkout:
    """A prepared clone and the index of its base commit, shared by the proposals of one batch."""

    repo: repos.PreparedRepo
    files: index.ManifestIndex
    started: float
    used: int = 1

    def current(self) -> bool:
        return self.used < BATCH_JOBS and time.monotonic() - self.started < BATCH_SECONDS


class Checkouts:
    """The open batch per clone (config uid, Git URL, base branch)."""

    def __init__(self, workspace: repos.Workspace, metrics: metrics_.Metrics | None = None) -> None:
        self.workspace = workspace
        self.metrics = metrics or metrics_.Metrics()
        self._batches: dict[tuple[str, str, str], Checkout] = {}
        self.prepared = 0  # fetches made (tests and the benchmark count them)

    async def get(self, job: Job, creds: Callable[[], Awaitable[credentials.Credentials]]) -> Checkout:
        """The job's checkout: the open batch's, or a freshly fetched one (`creds` is awaited only then)."""
        batch = self._batches.get(job.clone_key)
        if batch is not None and batch.current():
            batch.used += 1
            return batch
        git = job.config.git
        secret = await creds()
        with self.metrics.git_timer("fetch"):  # one per batch: what the fetch metric counts
            repo = await self.workspace.prepare(git.url.original, git.branch, secret, owner=job.config_uid)
        self.prepared += 1
        files = batch.files if batch is not None and batch.files.root == repo.path.resolve() else None
        if files is None:
            files = index.ManifestIndex(repo.path, repo.base_sha)
        elif files.sha != repo.base_sha:
            try:
                files.refresh(repo.base_sha, await self.workspace.changed_paths(repo, files.sha))
            except repos.GitError:  # the old commit is gone (a force-pushed base, a new clone): read afresh
                files = index.ManifestIndex(repo.path, repo.base_sha)
        self._batches[job.clone_key] = Checkout(repo, files, time.monotonic())
        return self._batches[job.clone_key]

    def end_batches(self, repo_key: tuple[str, str]) -> None:
        """The repository's queue is empty: its next proposal fetches again (the index is kept)."""
        for key, batch in self._batches.items():
            if key[1:] == repo_key:
                batch.started = float("-inf")

    def forget(self, clone_key: tuple[str, str, str]) -> None:
        """Drop a clone's batch and index (its clone failed: it may be cloned anew)."""
        self._batches.pop(clone_key, None)
