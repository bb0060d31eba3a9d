"""ApiEmulator lifecycle, kubeconfig, in-process helpers, audit log and throughput."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import yaml

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator
from tests.unit.testkit.emulator import support
from tests.unit.testkit.emulator.support import WIDGETS, make_emulator, widget


async def test_start_binds_loopback_ephemeral_port_and_stop_closes_it() -> None:
    emulator = ApiEmulator()
    url = await emulator.start()
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    async with aiohttp.ClientSession() as session, session.get(f"{url}/version") as response:
        assert response.status == 200
        assert (await response.json())["major"] == "1"
    await emulator.stop()
    async with aiohttp.ClientSession() as session:
        try:
            await session.get(f"{url}/version")
        except aiohttp.ClientConnectionError:
            pass
        else:
            raise AssertionError("the emulator still answers after stop()")


async def test_kubeconfig_points_at_the_server_without_credentials(
    emulator: ApiEmulator, tmp_path: Path
) -> None:
    path = emulator.write_kubeconfig(tmp_path / "config")
    config = yaml.safe_load(path.read_text())
    assert config["clusters"][0]["cluster"] == {"server": emulator.url}
    assert config["users"][0]["user"] == {}
    assert config["current-context"] == config["contexts"][0]["name"]


async def test_put_object_seeds_status_and_get_list_read_it(emulator: ApiEmulator) -> None:
    seeded = emulator.put_object({**widget("a", size=3), "status": {"ready": True}})
    emulator.put_object({**widget("b"), "metadata": {"name": "b", "labels": {"tier": "x"}}})
    assert seeded["metadata"]["uid"] and seeded["metadata"]["generation"] == 1
    assert emulator.get("widgets", "default", "a")["status"] == {"ready": True}  # type: ignore[index]
    assert emulator.get("Widget", "default", "missing") is None
    assert [o["metadata"]["name"] for o in emulator.list("wdg")] == ["a", "b"]
    assert [o["metadata"]["name"] for o in emulator.list("widgets", label_selector="tier=x")] == ["b"]


async def test_audit_records_mutations_with_status_and_is_bounded() -> None:
    emulator = make_emulator(audit_size=3)
    url = await emulator.start()
    try:
        async with aiohttp.ClientSession(url) as session:
            await session.get(WIDGETS)
            for name in ("a", "b", "a", "c"):
                await session.post(WIDGETS, json=widget(name))
        assert len(emulator.audit) == 3
        last = emulator.audit[-1]
        assert (last.method, last.group, last.resource, last.namespace, last.status) == (
            "POST",
            "example.com",
            "widgets",
            "default",
            201,
        )
        assert [entry.status for entry in emulator.failures] == [409]
    finally:
        await emulator.stop()


async def test_thousand_creates_take_seconds_not_minutes(
    emulator: ApiEmulator, http: aiohttp.ClientSession
) -> None:
    started = time.monotonic()
    semaphore = asyncio.Semaphore(20)

    async def create(index: int) -> int:
        async with semaphore, http.post(WIDGETS, json=widget(f"w{index}")) as response:
            return response.status

    statuses = await asyncio.gather(*(create(i) for i in range(1000)))
    assert set(statuses) == {201}
    assert len(emulator.list("widgets")) == 1000
    assert time.monotonic() - started < 15


async def test_register_crds_reads_files_and_directories(tmp_path: Path) -> None:
    crd = support.widget_crd_versions(["v1"], unserved=[])
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "things.yaml").write_text(
        yaml.safe_dump_all([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "skip"}}, crd])
    )
    single = tmp_path / "widgets.yaml"
    single.write_text(yaml.safe_dump(support.WIDGET_CRD))
    emulator = ApiEmulator()
    emulator.register_crds([tmp_path / "dir", single])
    assert emulator.resource("things").group == "multi.example.com"
    assert emulator.resource("wdg").kind == "Widget"
    assert {c["metadata"]["name"] for c in emulator.list("crd")} == {
        "things.multi.example.com",
        "widgets.example.com",
    }
