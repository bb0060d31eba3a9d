"""One serialized worker per Git repository: proposals of one repository are processed one at a time.

The check cycle submits a `Job` for every proposal that may need Git or PR work; jobs for the same
(git URL, base branch) go through one asyncio queue and one task, so two pushes to one repository never overlap,
while different repositories proceed in parallel. A newer job for a proposal already queued replaces the queued
one (no pile-up). A failing job is logged and never stops the worker.

With a `batch` callable (the operator's: `processing.process_batch`), the worker takes every job waiting in the
queue, up to BATCH_SIZE, and hands them over together: still one batch at a time per repository, but its commits
go to the remote in one push (issue 17: 1,000 branches in under a minute).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.checking import indexes
from fluxcd_helm_upgrader.proposals import risking, targets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """Everything the worker needs about one proposal besides the proposal object itself."""

    namespace: str  # the proposal's (and config's) namespace
    name: str  # the proposal's name
    config_name: str
    config_uid: str  # the worker acts only on a proposal whose ownerReference carries this uid
    config: config_.UpgraderConfigSpec
    kustomization: tuple[str, str] | None = None  # Flux Kustomization (namespace, name) that applied the release
    kustomization_path: str | None = None  # its spec.path, relative to the repository root
    deployed_version: str | None = None  # the chart version the cluster runs now
    versions: tuple[indexes.ChartVersion, ...] = ()  # the chart's index entries: appVersion, changes, deprecated
    edit: targets.EditPlan | None = None  # what to edit; None: the release's spec.chart.spec.version
    risk: risking.Subject | None = None  # what the upgrade risk compares; None: the source was not checked
    cycle: int = 0  # which check cycle made the job: each cycle's jobs read the repository's PRs afresh

    @property
    def repo_key(self) -> tuple[str, str]:
        return (self.config.git.url.original, self.config.git.branch or "")

    @property
    def clone_key(self) -> tuple[str, str, str]:
        """The working copy this job uses: one per config (uid) and repository."""
        return (self.config_uid, *self.repo_key)

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


Process = Callable[[Job], Awaitable[None]]
ProcessBatch = Callable[[list[Job]], Awaitable[None]]
BATCH_SIZE = 50  # jobs per batch: the first status of a batch waits for the whole batch's commits and push


class WorkerPool:
    """Queues and tasks, one per repository; `process` is called for each job, serially per repository."""

    def __init__(
        self,
        process: Process,
        on_drained: Callable[[tuple[str, str]], None] | None = None,
        batch: ProcessBatch | None = None,
    ) -> None:
        self._process = process
        self._batch = batch
        self._on_drained = on_drained
        self._queues: dict[tuple[str, str], asyncio.Queue[tuple[str, str]]] = {}
        self._latest: dict[tuple[str, str], Job] = {}
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def submit(self, job: Job) -> None:
        """Queue a job; a job already queued for the same proposal is replaced by this newer one."""
        queued = job.key in self._latest
        self._latest[job.key] = job
        if queued:
            return
        queue = self._queues.get(job.repo_key)
        if queue is None:
            queue = self._queues[job.repo_key] = asyncio.Queue()
            self._tasks[job.repo_key] = asyncio.create_task(self._run(job.repo_key, queue))
        queue.put_nowait(job.key)

    def discard(self, key: tuple[str, str]) -> None:
        """Drop the queued job of a proposal (held back by flood control); one already running finishes."""
        self._latest.pop(key, None)

    async def _run(self, repo_key: tuple[str, str], queue: asyncio.Queue[tuple[str, str]]) -> None:
        while True:
            keys = [await queue.get()]
            while self._batch is not None and len(keys) < BATCH_SIZE and not queue.empty():
                keys.append(queue.get_nowait())
            # A key without a job cannot happen (one queue entry per pending job) but never leaves join() hanging.
            jobs = [job for key in keys if (job := self._latest.pop(key, None)) is not None]
            try:
                if self._batch is not None and jobs:
                    await self._batch(jobs)
                for job in jobs if self._batch is None else ():
                    await self._guarded(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # the batch callable guards each job; this is the last resort
                logger.exception("repository %s: unexpected error in the Git worker", repo_key[0])
            finally:
                if queue.empty() and self._on_drained is not None:
                    self._on_drained(repo_key)
                for _ in keys:
                    queue.task_done()

    async def _guarded(self, job: Job) -> None:
        try:
            await self._process(job)
        except asyncio.CancelledError:
            raise
        except Exception:  # one broken proposal never stops the others
            logger.exception(
                "proposal %s/%s: unexpected error in the Git worker", *job.key,
                extra={"proposal": f"{job.key[0]}/{job.key[1]}", "config": f"{job.namespace}/{job.config_name}"},
            )  # fmt: skip

    async def join(self) -> None:
        """Wait until every queued job is done (tests and the demo use it)."""
        for queue in list(self._queues.values()):
            await queue.join()

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        self._queues.clear()
