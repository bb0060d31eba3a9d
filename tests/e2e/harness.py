"""Helpers for e2e tests: objects to apply and a polling wait. Imported by the e2e test modules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fluxcd_helm_upgrader.demo import fleet

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


def upgrader_config(name: str = "fleet", namespace: str = "flux-system", **spec: Any) -> dict[str, Any]:
    body_spec: dict[str, Any] = {
        "interval": "30m",
        "git": {"url": "file:///tmp/fleet.git"},
        "pullRequests": {"provider": "none"},
    }
    body_spec.update(spec)
    return {
        "apiVersion": "helmupgrader.io/v1alpha1",
        "kind": "UpgraderConfig",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body_spec,
    }


def helm_repository(name: str, url: str, namespace: str = "flux-system", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"url": url, "interval": "10m", **spec},
    }


def helm_release(
    name: str,
    chart: str,
    version: str,
    *,
    namespace: str = "apps",
    repo: str = "charts",
    repo_namespace: str = "flux-system",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    return fleet.release(
        namespace, name, chart, version, labels=labels, repository=repo, repository_namespace=repo_namespace
    )


def condition(body: dict[str, Any] | None, type_: str = "Ready") -> dict[str, Any] | None:
    for item in ((body or {}).get("status") or {}).get("conditions") or ():
        if item.get("type") == type_:
            return dict(item)
    return None
