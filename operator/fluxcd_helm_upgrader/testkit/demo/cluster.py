"""A local cluster for the demo and the e2e tests: the API emulator with our CRDs and Flux's, plus the real
operator (Kopf, our handlers) running in this event loop against it.

The project's own `crds/*.yaml` are registered with the emulator, so a typo in a CRD breaks the tests and the demo.
They are found next to the source checkout (the README installs the project in editable mode).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

import kopf

from fluxcd_helm_upgrader import operating
from fluxcd_helm_upgrader.testkit import emulator

REPO_ROOT = Path(__file__).resolve().parents[4]


def crds_root() -> Path:
    """The directory holding `crds/`, or a clear error when the source checkout is not available."""
    override = os.environ.get("UPGRADER_CRDS_ROOT")
    root = Path(override) if override else REPO_ROOT
    if not (root / "crds").is_dir():
        raise RuntimeError(
            f"cannot find the project's crds/ directory under {root}; install the project from its source "
            "checkout with `pip install -e .` or set UPGRADER_CRDS_ROOT"
        )
    return root


class LocalCluster:
    """The emulator plus helpers to apply objects, and the operator when `run_operator()` is entered.

    The e2e tests also run against a real kube-apiserver through an object with the same surface
    (`tests/support/apiserver.RealCluster`): apply, get, list, delete, audit, failures, run_operator, kubeconfig.
    """

    def __init__(self, api: emulator.ApiEmulator, kubeconfig: Path) -> None:
        self.api = api
        self.kubeconfig = kubeconfig

    def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace an object in the emulator's store (like `kubectl apply`, without HTTP)."""
        return self.api.put_object(body)

    def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.api.get(plural, namespace, name)

    def list(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.api.list(plural, namespace)

    def delete(self, plural: str, namespace: str | None, name: str) -> None:
        """Delete as `kubectl delete` would (finalizers respected)."""
        self.api.delete_object(plural, namespace, name)

    @property
    def audit(self) -> builtins.list[emulator.AuditEntry]:
        """The writes the operator made over HTTP (the in-process helpers above are not recorded)."""
        return list(self.api.audit)

    @property
    def failures(self) -> builtins.list[emulator.AuditEntry]:
        """The operator's requests answered with a status >= 400."""
        return list(self.api.failures)

    def run_operator(self, namespaces: tuple[str, ...] = ()) -> contextlib.AbstractAsyncContextManager[kopf.Memo]:
        """Run the real operator until the block exits; yields Kopf's global memo (holds the services)."""
        return operator_running(namespaces)


@contextlib.asynccontextmanager
async def operator_running(namespaces: tuple[str, ...] = ()) -> AsyncIterator[kopf.Memo]:
    """Run the real operator in this event loop against $KUBECONFIG until the block exits; yields Kopf's memo."""
    stop, ready = asyncio.Event(), asyncio.Event()
    memo = kopf.Memo()
    task = asyncio.create_task(
        operating.operate(namespaces=namespaces, liveness=None, stop_flag=stop, ready_flag=ready, memo=memo)
    )
    try:
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait({task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            waiter.cancel()
            task.result()  # raises what stopped the operator
        if waiter not in done:
            raise TimeoutError("the operator did not become ready in 30 s")
        yield memo
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=15)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()


@contextlib.asynccontextmanager
async def local_cluster(
    workdir: Path | None = None, *, flux_crds: Iterable[Mapping[str, Any]] | None = None, **emulator_options: Any
) -> AsyncIterator[LocalCluster]:
    """Start the emulator with every CRD registered and point $KUBECONFIG at it for the block's duration.

    `flux_crds` replaces the emulator's minimal, permissive Flux CRDs (tests pass Flux's real ones when they are
    at hand, so test objects are validated and pruned as a real cluster would).
    """
    api = emulator.ApiEmulator(**emulator_options)
    api.register_crds(sorted((crds_root() / "crds").glob("*.yaml")))
    for doc in emulator.builtin_flux_crds() if flux_crds is None else flux_crds:
        api.register_crd(doc)
    await api.start()
    with contextlib.ExitStack() as stack:
        directory = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="upgrader-kube-")))
        kubeconfig = api.write_kubeconfig(directory / "kubeconfig")
        previous = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = str(kubeconfig)
        try:
            yield LocalCluster(api, kubeconfig)
        finally:
            if previous is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = previous
            await api.stop()
