"""Fixtures for the API emulator's tests: a running emulator, an HTTP session, a kubernetes_asyncio client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator
from tests.unit.testkit.emulator import support


@pytest.fixture
async def emulator() -> AsyncIterator[ApiEmulator]:
    emulator = support.make_emulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def http(emulator: ApiEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    assert emulator.url is not None
    async with aiohttp.ClientSession(emulator.url) as session:
        yield session


@pytest.fixture
async def kube_client(
    emulator: ApiEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    """A kubernetes_asyncio ApiClient configured only from the emulator's kubeconfig."""
    from kubernetes_asyncio import client, config
    from kubernetes_asyncio.config import kube_config

    path = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(path), client_configuration=configuration)
    async with client.ApiClient(configuration=configuration) as api:
        yield api
