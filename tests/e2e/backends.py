"""Which Kubernetes an e2e test runs on: the package's API emulator, or a real kube-apiserver with etcd.

Tests that take the `backend` fixture (tests/conftest.py) run once per backend. They get their cluster from
`cluster()`, which gives the same surface on both (apply, get, list, delete, audit, failures, run_operator,
kubeconfig): `fluxcd_helm_upgrader.testkit.demo.cluster.LocalCluster` on the emulator,
`tests.support.apiserver.RealCluster` on the real server (started once per session, reset after each test).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import kopf

from fluxcd_helm_upgrader.testkit.demo import cluster as demo_cluster
from fluxcd_helm_upgrader.testkit.emulator import AuditEntry
from tests.support import apiserver, peers

EMULATOR, APISERVER = "emulator", "apiserver"
ALL = (EMULATOR, APISERVER)


class Cluster(Protocol):
    """What a test sees of its cluster, whichever backend runs it."""

    kubeconfig: Path

    def apply(self, body: Mapping[str, Any]) -> dict[str, Any]: ...
    def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None: ...
    def list(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]: ...
    def delete(self, plural: str, namespace: str | None, name: str) -> None: ...
    @property
    def audit(self) -> list[AuditEntry]: ...
    @property
    def failures(self) -> list[AuditEntry]: ...
    def run_operator(
        self, namespaces: tuple[str, ...] = ()
    ) -> contextlib.AbstractAsyncContextManager[kopf.Memo]: ...


class _Current:
    """Set by the `backend` fixture for the running test: the real server, or None for the emulator."""

    name: str = EMULATOR
    server: apiserver.ApiServerProcess | None = None


current = _Current()


@contextlib.asynccontextmanager
async def cluster(workdir: Path, *, rules: Iterable[Mapping[str, Any]] | None = None) -> AsyncIterator[Cluster]:
    """The running test's cluster; `rules` limit what the operator may do (a ClusterRole/Roles on the real
    server, the emulator's enforced rule list on the emulator)."""
    if current.server is None:
        flux_crds = apiserver.flux_crd_documents()  # the real schemas, as the real server has them
        async with demo_cluster.local_cluster(workdir, rules=rules, flux_crds=flux_crds) as local:
            yield local
    else:
        async with apiserver.real_cluster(current.server, workdir / "kube", rules) as real:
            yield real


@contextlib.asynccontextmanager
async def another_cluster(workdir: Path) -> AsyncIterator[Cluster]:
    """A second cluster of the running test's backend (a second emulator, or a second real API server started for
    the block and discarded after it), for tests of one repository shared by several clusters. $KUBECONFIG keeps
    pointing at the first cluster: a test runs each operator with its cluster's `kubeconfig` explicitly."""
    previous = os.environ.get("KUBECONFIG")
    workdir.mkdir(parents=True, exist_ok=True)
    if current.server is None:
        async with demo_cluster.local_cluster(workdir, flux_crds=apiserver.flux_crd_documents()) as local:
            _restore_kubeconfig(previous)
            yield local
        return
    kubectl = peers.require_binary("kubectl", package="kubectl")
    server = await asyncio.to_thread(apiserver.start, workdir / "apiserver")
    try:
        await asyncio.to_thread(apiserver.install_crds, server, kubectl)
        async with apiserver.real_cluster(server, workdir / "kube") as real:
            _restore_kubeconfig(previous)
            yield real
    finally:
        await asyncio.to_thread(server.discard)


def _restore_kubeconfig(previous: str | None) -> None:
    if previous is None:
        os.environ.pop("KUBECONFIG", None)
    else:
        os.environ["KUBECONFIG"] = previous
