"""Helpers for e2e tests: a polling wait and a condition reader. The objects they apply come from `tests.builders`."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_for(predicate: Callable[[], T | None], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll until `predicate()` returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


def condition(body: dict[str, Any] | None, type_: str = "Ready") -> dict[str, Any] | None:
    for item in ((body or {}).get("status") or {}).get("conditions") or ():
        if item.get("type") == type_:
            return dict(item)
    return None


def table(output: str) -> tuple[list[str], list[dict[str, str]]]:
    """Split kubectl's table into its header and rows keyed by header (cells never contain 3 spaces here)."""
    lines = [line for line in output.splitlines() if line.strip()]
    header = re.split(r"\s{3,}", lines[0].strip())
    starts, position = [], 0
    for name in header:
        position = lines[0].index(name, position)
        starts.append(position)
        position += len(name)
    rows = []
    for line in lines[1:]:
        bounds = [*starts[1:], None]
        rows.append({name: line[start:end].strip() for name, start, end in zip(header, starts, bounds, strict=True)})
    return header, rows


async def request_cycle(
    local: Any, stamp: str, name: str = "fleet", namespace: str = "flux-system", timeout: float = 20.0
) -> dict[str, Any]:
    """Ask for a cycle of the UpgraderConfig now (as `flux reconcile` would); its status once that cycle ran."""
    body = local.get("upgraderconfigs", namespace, name)
    assert body is not None, f"no UpgraderConfig {namespace}/{name}"
    body["metadata"].setdefault("annotations", {})["reconcile.fluxcd.io/requestedAt"] = stamp
    local.apply(body)
    status: dict[str, Any] = await wait_for(
        lambda: (s := (local.get("upgraderconfigs", namespace, name) or {}).get("status") or {})
        .get("lastHandledReconcileAt") == stamp and s,
        timeout=timeout,
        what=f"cycle {stamp}",
    )
    return status
