"""Run the real Kopf operator with our handlers: used by `fluxcd-helm-upgrader run`, the demo and e2e tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import kopf

from fluxcd_helm_upgrader import (
    handlers,  # noqa: F401  (importing registers every handler with Kopf)
    kopf_toggles,
)

DEFAULT_LIVENESS = "http://0.0.0.0:8080/healthz"


async def operate(
    *,
    namespaces: Sequence[str] = (),
    liveness: str | None = DEFAULT_LIVENESS,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
    memo: kopf.Memo | None = None,
) -> None:
    """Run Kopf until `stop_flag` is set (or forever): cluster-wide when no namespaces are given."""
    kopf_toggles.install()  # start-up in O(n), not O(n^3), with many watched objects
    settings = kopf.OperatorSettings()
    # With namespaces given, Kopf would still list namespaces cluster-wide to match patterns, which namespaced
    # RBAC forbids (a minute of retries at start-up). Our namespaces are plain names: no scanning needed.
    settings.scanning.disabled = bool(namespaces)
    await kopf.operator(
        settings=settings,
        clusterwide=not namespaces,
        namespaces=list(namespaces),
        standalone=True,
        liveness_endpoint=liveness or None,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
        memo=memo if memo is not None else kopf.Memo(),
    )
