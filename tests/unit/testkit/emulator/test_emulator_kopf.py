"""Smoke test: the real Kopf operator runs against the emulator as it would against a cluster.

Private registry, standalone, cluster-wide, production-like persistence (finalizer and annotations
under helmupgrader.io). Asserts what breaks on plain kmock: one create per object, timer patches
landing on the right object, finalizer removal on delete, and no unexpected 4xx/5xx answers.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kopf
import pytest

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator
from tests.unit.testkit.emulator.support import make_emulator, widget

FINALIZER = "helmupgrader.io/finalizer"
DIFFBASE = "helmupgrader.io/last-handled-configuration"


def _settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="helmupgrader.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="helmupgrader.io", key=DIFFBASE.partition("/")[2]
    )
    settings.watching.server_timeout = 10
    settings.watching.client_timeout = 15
    return settings


def _registry(url: str, created: collections.Counter[str], deleted: collections.Counter[str]) -> Any:
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=url, insecure=True)

    @kopf.on.create("example.com", "v1", "widgets", registry=registry)
    def widget_create(name: str, **_: Any) -> None:
        created[name] += 1

    @kopf.on.delete("example.com", "v1", "widgets", registry=registry)
    def widget_delete(name: str, **_: Any) -> None:
        deleted[name] += 1

    @kopf.timer("example.com", "v1", "widgets", interval=0.2, registry=registry)
    def widget_tick(name: str, spec: Any, patch: kopf.Patch, **_: Any) -> None:
        patch.status["tickedBy"] = name
        patch.status["size"] = spec.get("size")

    return registry


async def _until(condition: Callable[[], bool]) -> None:
    """Poll the emulator's state (the operator acts on its own schedule) for up to 15 seconds."""
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the operator did not get there within 15 s")


async def test_kopf_operator_runs_handlers_once_and_patches_the_right_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    emulator: ApiEmulator = make_emulator()
    url = await emulator.start()
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    from kubernetes_asyncio.config import kube_config

    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))

    created: collections.Counter[str] = collections.Counter()
    deleted: collections.Counter[str] = collections.Counter()
    stop_flag, ready_flag = asyncio.Event(), asyncio.Event()
    operator = asyncio.create_task(
        kopf.operator(
            registry=_registry(url, created, deleted),
            settings=_settings(),
            standalone=True,
            clusterwide=True,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
        )
    )
    try:
        await asyncio.wait_for(ready_flag.wait(), 10)
        emulator.put_object(widget("alpha", size=1))
        emulator.put_object({**widget("beta", size=2), "metadata": {"name": "beta", "namespace": "apps"}})

        def ticked() -> bool:
            objects = [emulator.get("widgets", "default", "alpha"), emulator.get("widgets", "apps", "beta")]
            return all(
                o is not None
                and (o.get("status") or {}).get("tickedBy")
                and DIFFBASE in (o["metadata"].get("annotations") or {})
                for o in objects
            )

        await _until(ticked)
        alpha = emulator.get("widgets", "default", "alpha")
        beta = emulator.get("widgets", "apps", "beta")
        assert alpha is not None and beta is not None
        assert (alpha["status"]["tickedBy"], alpha["status"]["size"]) == ("alpha", 1)
        assert (beta["status"]["tickedBy"], beta["status"]["size"]) == ("beta", 2)
        assert FINALIZER in alpha["metadata"]["finalizers"]
        assert alpha["metadata"]["annotations"][DIFFBASE].startswith("{")

        emulator.delete_object("widgets", "default", "alpha")
        await _until(lambda: emulator.get("widgets", "default", "alpha") is None)
        await asyncio.sleep(0.5)  # give a duplicate handler run the chance to show up
        assert created == {"alpha": 1, "beta": 1}
        assert deleted == {"alpha": 1}
        assert any(
            e.resource == "widgets" and e.subresource == "status" and e.status == 200 for e in emulator.audit
        )
        assert list(emulator.failures) == []
    finally:
        stop_flag.set()
        await asyncio.wait_for(operator, 15)
        await emulator.stop()
