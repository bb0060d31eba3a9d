"""The Git worker pool: one job at a time per repository, repositories in parallel, newest job wins, a failing
job never stops the worker, and a drained queue is reported."""

from __future__ import annotations

import asyncio

from fluxcd_helm_upgrader import config
from fluxcd_helm_upgrader.proposals.worker import Job, WorkerPool


def job(name: str, repo: str = "file:///a.git", **changes: object) -> Job:
    spec = config.parse({"git": {"url": repo}, "pullRequests": {"provider": "none"}})
    return Job(
        namespace="flux-system", name=name, config_name="fleet", config_uid="u1", config=spec, **changes  # type: ignore[arg-type]
    )


async def test_serial_per_repository_parallel_across() -> None:
    running: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}
    overlap = asyncio.Event()

    async def process(j: Job) -> None:
        repo = "a" if j.config.git.url.original.endswith("a.git") else "b"
        running[repo] += 1
        peak[repo] = max(peak[repo], running[repo])
        if running["a"] and running["b"]:
            overlap.set()
        await asyncio.sleep(0.02)
        running[repo] -= 1

    pool = WorkerPool(process)
    for i in range(5):
        pool.submit(job(f"a{i}", "file:///a.git"))
        pool.submit(job(f"b{i}", "file:///b.git"))
    await pool.join()
    await pool.close()
    assert peak == {"a": 1, "b": 1}
    assert overlap.is_set()


async def test_newer_job_replaces_a_queued_one_and_errors_do_not_stop_the_worker() -> None:
    seen: list[tuple[str, str | None]] = []
    drained: list[tuple[str, str]] = []
    gate = asyncio.Event()

    async def process(j: Job) -> None:
        if j.name == "first":
            await gate.wait()
        seen.append((j.name, j.deployed_version))
        if j.name == "boom":
            raise RuntimeError("a bug in one proposal")

    pool = WorkerPool(process, on_drained=drained.append)
    pool.submit(job("first"))
    await asyncio.sleep(0)
    pool.submit(job("p", deployed_version="old"))
    pool.submit(job("boom"))
    pool.submit(job("p", deployed_version="new"))  # replaces the queued "old" job, keeps its place
    pool.submit(job("last"))
    gate.set()
    await pool.join()
    await pool.close()
    assert seen == [("first", None), ("p", "new"), ("boom", None), ("last", None)]
    assert drained and drained[-1] == ("file:///a.git", "")


async def test_a_batch_gets_every_waiting_job_of_its_repository_and_a_discarded_one_is_skipped() -> None:
    batches: list[list[str]] = []
    gate = asyncio.Event()

    async def batch(jobs: list[Job]) -> None:
        if jobs[0].name == "first":
            await gate.wait()
        batches.append([j.name for j in jobs])

    async def single(j: Job) -> None:
        raise AssertionError("with a batch callable, jobs go through it")

    pool = WorkerPool(single, batch=batch)
    pool.submit(job("first"))
    await asyncio.sleep(0)
    for name in ("a", "held", "b", "c"):
        pool.submit(job(name))
    pool.discard(("flux-system", "held"))  # flood control held it back after it was queued
    pool.submit(job("other", "file:///b.git"))
    gate.set()
    await pool.join()
    await pool.close()
    assert sorted(batches) == [["a", "b", "c"], ["first"], ["other"]]
