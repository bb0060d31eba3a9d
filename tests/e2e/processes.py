"""The real operator as its own process (`python -m fluxcd_helm_upgrader run`), for tests that kill it.

Used by `tests/e2e/test_crashes.py` and the SIGKILL test of `test_pull_requests.py`: the operator talks to the
test's cluster through its kubeconfig, keeps its clones in `cache_dir` (the same directory on a restart, as a
container restarted in the same pod would), and logs to `log` so a failing test can show what it did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path


async def start(kubeconfig: Path, cache_dir: Path, log: Path, **env: str) -> asyncio.subprocess.Process:
    """Start the operator watching every namespace; `env` adds UPGRADER_* settings."""
    environment = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "UPGRADER_CACHE_DIR": str(cache_dir),
        "UPGRADER_METRICS_PORT": "0",
        "UPGRADER_TICK_SECONDS": "0.2",
        **env,
    }
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "fluxcd_helm_upgrader", "run", "--liveness", "",
            env=environment, stdout=out, stderr=out,
        )  # fmt: skip


async def stop(process: asyncio.subprocess.Process, timeout: float = 30.0) -> None:
    """SIGTERM (a pod deletion), SIGKILL if it does not exit in time; no-op when it is gone already."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def running(
    kubeconfig: Path, cache_dir: Path, log: Path, **env: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The operator process for the duration of the block, stopped (or reaped, when killed) after it."""
    process = await start(kubeconfig, cache_dir, log, **env)
    try:
        yield process
    finally:
        await stop(process)
