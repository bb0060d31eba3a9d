"""WATCH streams: spellings of `watch`, initial ADDED, resume by resourceVersion, 410, timeouts, stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp
import pytest

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator
from tests.unit.testkit.emulator.support import WIDGETS, make_emulator, widget

ALL_WIDGETS = "/apis/example.com/v1/widgets"


async def _events(response: aiohttp.ClientResponse, count: int) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    async with asyncio.timeout(3):
        while len(events) < count:
            line = await response.content.readline()
            if not line:
                break
            event = json.loads(line)
            events.append((event["type"], event["object"]))
    return events


def _names(events: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(kind, obj["metadata"].get("name", "")) for kind, obj in events]


@pytest.mark.parametrize("spelling", ["true", "1", "True"])
async def test_every_watch_spelling_streams(
    emulator: ApiEmulator, http: aiohttp.ClientSession, spelling: str
) -> None:
    emulator.put_object(widget("a"))
    async with http.get(ALL_WIDGETS, params={"watch": spelling}) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        first = await _events(response, 1)
        await http.post(WIDGETS, json=widget("b"))
        second = await _events(response, 1)
    assert _names(first + second) == [("ADDED", "a"), ("ADDED", "b")]


async def test_no_resource_version_sends_existing_then_live_events(
    emulator: ApiEmulator, http: aiohttp.ClientSession
) -> None:
    emulator.put_object(widget("a"))
    async with http.get(ALL_WIDGETS, params={"watch": "true", "resourceVersion": "0"}) as response:
        assert _names(await _events(response, 1)) == [("ADDED", "a")]
        await http.patch(
            f"{WIDGETS}/a",
            json={"spec": {"size": 5}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        await http.delete(f"{WIDGETS}/a")
        events = await _events(response, 2)
    assert _names(events) == [("MODIFIED", "a"), ("DELETED", "a")]
    assert events[0][1]["spec"]["size"] == 5


async def test_resume_from_resource_version_sends_only_later_events(
    emulator: ApiEmulator, http: aiohttp.ClientSession
) -> None:
    emulator.put_object(widget("a"))
    async with http.get(ALL_WIDGETS) as response:
        listed_rv = (await response.json())["metadata"]["resourceVersion"]
    await http.post(WIDGETS, json=widget("b"))  # happened while the client was not watching
    async with http.get(ALL_WIDGETS, params={"watch": "true", "resourceVersion": listed_rv}) as response:
        replayed = await _events(response, 1)
        await http.post(WIDGETS, json=widget("c"))
        live = await _events(response, 1)
    assert _names(replayed + live) == [("ADDED", "b"), ("ADDED", "c")]


async def test_too_old_resource_version_is_410_gone() -> None:
    emulator = make_emulator(history=5)
    url = await emulator.start()
    try:
        for index in range(10):
            emulator.put_object(widget(f"w{index}"))
        async with (
            aiohttp.ClientSession(url) as http,
            http.get(ALL_WIDGETS, params={"watch": "true", "resourceVersion": "1"}) as response,
        ):
            events = await _events(response, 2)
        assert len(events) == 1 and events[0][0] == "ERROR"
        assert (events[0][1]["code"], events[0][1]["kind"]) == (410, "Status")
    finally:
        await emulator.stop()


async def test_timeout_seconds_ends_the_stream(http: aiohttp.ClientSession) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with http.get(ALL_WIDGETS, params={"watch": "true", "timeoutSeconds": "1"}) as response:
        async with asyncio.timeout(5):
            body = await response.read()
    assert body == b"" and 0.9 <= loop.time() - started < 4


async def test_bookmarks_when_allowed() -> None:
    emulator = make_emulator(bookmark_interval=0.1)
    url = await emulator.start()
    try:
        emulator.put_object(widget("a"))
        async with (
            aiohttp.ClientSession(url) as http,
            http.get(ALL_WIDGETS, params={"watch": "true", "allowWatchBookmarks": "true"}) as response,
        ):
            events = await _events(response, 2)
        assert events[1][0] == "BOOKMARK"
        assert int(events[1][1]["metadata"]["resourceVersion"]) >= int(
            events[0][1]["metadata"]["resourceVersion"]
        )
    finally:
        await emulator.stop()


async def test_selector_transitions_look_like_add_and_delete(
    emulator: ApiEmulator, http: aiohttp.ClientSession
) -> None:
    emulator.put_object(widget("a"))
    params = {"watch": "true", "labelSelector": "pick=yes"}
    merge = {"Content-Type": "application/merge-patch+json"}
    async with http.get(ALL_WIDGETS, params=params) as response:
        await http.patch(f"{WIDGETS}/a", json={"metadata": {"labels": {"pick": "yes"}}}, headers=merge)
        await http.patch(f"{WIDGETS}/a", json={"metadata": {"labels": {"pick": "no"}}}, headers=merge)
        events = await _events(response, 2)
    assert _names(events) == [("ADDED", "a"), ("DELETED", "a")]


async def test_watch_subscribes_before_snapshot_under_concurrent_writes(http: aiohttp.ClientSession) -> None:
    async def watch_until(count: int) -> set[str]:
        seen: set[str] = set()
        async with http.get(ALL_WIDGETS, params={"watch": "true"}) as response:
            async with asyncio.timeout(5):
                while len(seen) < count:
                    seen.add(json.loads(await response.content.readline())["object"]["metadata"]["name"])
        return seen

    async def create_all() -> None:
        for index in range(50):
            await http.post(WIDGETS, json=widget(f"w{index}"))

    watchers = [asyncio.create_task(watch_until(50)) for _ in range(5)]
    await create_all()
    assert [len(seen) for seen in await asyncio.gather(*watchers)] == [50] * 5


async def test_stop_ends_open_streams() -> None:
    emulator = make_emulator()
    url = await emulator.start()
    async with (
        aiohttp.ClientSession(url) as http,
        http.get(ALL_WIDGETS, params={"watch": "true"}) as response,
    ):
        await asyncio.sleep(0.05)
        async with asyncio.timeout(5):
            await emulator.stop()
            with contextlib.suppress(aiohttp.ClientPayloadError):  # a cut stream is fine; hanging is not
                await response.read()
