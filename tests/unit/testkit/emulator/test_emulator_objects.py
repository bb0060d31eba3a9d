"""Object semantics: server-owned metadata, generation, errors as Status, finalizers, /status, scope."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
import pytest

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator, objects
from tests.unit.testkit.emulator.support import WIDGETS, widget

MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


async def _call(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body)
    headers = headers or ({"Content-Type": "application/json"} if body is not None else {})
    async with http.request(method, path, data=data, headers=headers) as response:
        return response.status, await response.json()


async def test_create_fills_server_owned_metadata(http: aiohttp.ClientSession) -> None:
    status, obj = await _call(
        http,
        "POST",
        WIDGETS,
        {
            **widget("a"),
            "metadata": {"name": "a", "uid": "forged", "resourceVersion": "999", "generation": 7},
        },
    )
    meta = obj["metadata"]
    assert status == 201
    assert str(uuid.UUID(meta["uid"])) == meta["uid"] != "forged"
    assert meta["namespace"] == "default" and meta["generation"] == 1
    assert meta["creationTimestamp"].endswith("Z") and meta["resourceVersion"] != "999"
    _, other = await _call(http, "POST", WIDGETS, widget("b"))
    assert int(other["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert other["metadata"]["uid"] != meta["uid"]


async def test_generate_name_gets_a_random_suffix(http: aiohttp.ClientSession) -> None:
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"generateName": "w-"}}
    _, first = await _call(http, "POST", WIDGETS, body)
    _, second = await _call(http, "POST", WIDGETS, body)
    assert first["metadata"]["name"].startswith("w-") and len(first["metadata"]["name"]) == 7
    assert first["metadata"]["name"] != second["metadata"]["name"]
    status, error = await _call(http, "POST", WIDGETS, {"metadata": {}})
    assert (status, error["reason"]) == (422, "Invalid")


async def test_a_taken_generated_name_is_drawn_again_as_kube_apiserver_does(
    http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _call(http, "POST", WIDGETS, widget("w-bbbbb"))
    draws = iter(["w-bbbbb", "w-bbbbb", "w-ccccc"])  # two collisions, then a free name
    monkeypatch.setattr(objects, "generated_name", lambda prefix: next(draws))
    status, created = await _call(http, "POST", WIDGETS, {"metadata": {"generateName": "w-"}})
    assert (status, created["metadata"]["name"]) == (201, "w-ccccc")
    monkeypatch.setattr(objects, "generated_name", lambda prefix: "w-bbbbb")  # never free: 409 after the retries
    status, error = await _call(http, "POST", WIDGETS, {"metadata": {"generateName": "w-"}})
    assert (status, error["reason"]) == (409, "AlreadyExists")
    status, error = await _call(http, "POST", WIDGETS, widget("w-ccccc"))  # a given name is never replaced
    assert (status, error["reason"]) == (409, "AlreadyExists")


async def test_errors_are_status_bodies(http: aiohttp.ClientSession) -> None:
    await _call(http, "POST", WIDGETS, widget("a"))
    status, exists = await _call(http, "POST", WIDGETS, widget("a"))
    assert status == 409 and exists["reason"] == "AlreadyExists"
    status, missing = await _call(http, "GET", f"{WIDGETS}/zzz")
    assert status == 404
    assert {k: missing[k] for k in ("kind", "apiVersion", "status", "reason", "code")} == {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": "NotFound",
        "code": 404,
    }
    assert missing["message"] == 'widgets.example.com "zzz" not found'


async def test_generation_bumps_only_on_spec_changes(http: aiohttp.ClientSession) -> None:
    await _call(http, "POST", WIDGETS, widget("a", size=1))
    _, labelled = await _call(http, "PATCH", f"{WIDGETS}/a", {"metadata": {"labels": {"x": "y"}}}, MERGE)
    assert labelled["metadata"]["generation"] == 1
    _, with_status = await _call(http, "PATCH", f"{WIDGETS}/a/status", {"status": {"ok": True}}, MERGE)
    assert with_status["metadata"]["generation"] == 1
    _, resized = await _call(http, "PATCH", f"{WIDGETS}/a", {"spec": {"size": 2}}, MERGE)
    assert resized["metadata"]["generation"] == 2


async def test_noop_write_keeps_resource_version(http: aiohttp.ClientSession) -> None:
    _, created = await _call(http, "POST", WIDGETS, widget("a", size=1))
    _, same = await _call(http, "PATCH", f"{WIDGETS}/a", {"spec": {"size": 1}}, MERGE)
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_stale_resource_version_conflicts_on_put_and_patch(http: aiohttp.ClientSession) -> None:
    _, created = await _call(http, "POST", WIDGETS, widget("a", size=1))
    stale = created["metadata"]["resourceVersion"]
    status, updated = await _call(http, "PUT", f"{WIDGETS}/a", {**created, "spec": {"size": 5}})
    assert status == 200 and updated["spec"]["size"] == 5
    status, error = await _call(http, "PUT", f"{WIDGETS}/a", {**created, "spec": {"size": 6}})
    assert (status, error["reason"]) == (409, "Conflict")
    status, _ = await _call(
        http, "PATCH", f"{WIDGETS}/a", {"metadata": {"resourceVersion": stale}, "spec": {"size": 7}}, MERGE
    )
    assert status == 409
    status, _ = await _call(
        http,
        "PATCH",
        f"{WIDGETS}/a",
        [{"op": "replace", "path": "/metadata/resourceVersion", "value": stale}],
        JSON_PATCH,
    )
    assert status == 409


async def test_delete_without_finalizers_removes_at_once(http: aiohttp.ClientSession) -> None:
    await _call(http, "POST", WIDGETS, widget("a"))
    status, gone = await _call(http, "DELETE", f"{WIDGETS}/a")
    assert status == 200 and gone["metadata"]["name"] == "a"
    assert (await _call(http, "GET", f"{WIDGETS}/a"))[0] == 404


async def test_delete_with_finalizers_waits_for_the_last_one(http: aiohttp.ClientSession) -> None:
    await _call(
        http, "POST", WIDGETS, {**widget("a"), "metadata": {"name": "a", "finalizers": ["x/a", "x/b"]}}
    )
    status, marked = await _call(http, "DELETE", f"{WIDGETS}/a")
    assert status == 200 and marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["generation"] == 2
    status, error = await _call(
        http, "PATCH", f"{WIDGETS}/a", {"metadata": {"finalizers": ["x/a", "x/b", "x/new"]}}, MERGE
    )
    assert status == 422 and "no new finalizers" in error["message"]
    await _call(http, "PATCH", f"{WIDGETS}/a", {"metadata": {"finalizers": ["x/b"]}}, MERGE)
    assert (await _call(http, "GET", f"{WIDGETS}/a"))[0] == 200
    status, last = await _call(http, "PATCH", f"{WIDGETS}/a", {"metadata": {"finalizers": None}}, MERGE)
    assert status == 200 and last["metadata"]["name"] == "a"
    assert (await _call(http, "GET", f"{WIDGETS}/a"))[0] == 404


async def test_status_subresource_separates_status_from_the_rest(http: aiohttp.ClientSession) -> None:
    _, created = await _call(http, "POST", WIDGETS, {**widget("a", size=1), "status": {"ignored": True}})
    assert "status" not in created
    _, main = await _call(http, "PATCH", f"{WIDGETS}/a", {"spec": {"size": 2}, "status": {"x": 1}}, MERGE)
    assert main["spec"]["size"] == 2 and "status" not in main
    _, sub = await _call(
        http,
        "PATCH",
        f"{WIDGETS}/a/status",
        {"spec": {"size": 9}, "metadata": {"labels": {"a": "b"}}, "status": {"x": 1}},
        MERGE,
    )
    assert sub["status"] == {"x": 1} and sub["spec"]["size"] == 2 and "labels" not in sub["metadata"]
    status, put = await _call(http, "PUT", f"{WIDGETS}/a/status", {**sub, "status": {"x": 2}})
    assert status == 200 and put["status"] == {"x": 2} and put["metadata"]["generation"] == 2


async def test_status_is_an_ordinary_field_without_the_subresource(http: aiohttp.ClientSession) -> None:
    gadgets = "/apis/example.com/v1/gadgets"
    status, created = await _call(http, "POST", gadgets, {"metadata": {"name": "g"}, "status": {"on": True}})
    assert status == 201 and created["status"] == {"on": True} and "namespace" not in created["metadata"]
    assert (await _call(http, "GET", f"{gadgets}/g/status"))[0] == 404


async def test_cluster_scoped_namespaces_and_auto_created_namespaces(
    emulator: ApiEmulator, http: aiohttp.ClientSession
) -> None:
    status, ns = await _call(http, "POST", "/api/v1/namespaces", {"metadata": {"name": "apps"}})
    assert status == 201 and ns["status"]["phase"] == "Active" and "namespace" not in ns["metadata"]
    await _call(http, "POST", "/apis/example.com/v1/namespaces/elsewhere/widgets", widget("w"))
    assert emulator.get("namespaces", None, "elsewhere") is not None
    await _call(http, "DELETE", "/api/v1/namespaces/elsewhere")
    assert emulator.get("widgets", "elsewhere", "w") is None


async def test_owner_references_cascade_in_the_background(
    emulator: ApiEmulator, http: aiohttp.ClientSession
) -> None:
    _, owner = await _call(http, "POST", WIDGETS, widget("owner"))
    reference = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    await _call(
        http,
        "POST",
        WIDGETS,
        {**widget("child"), "metadata": {"name": "child", "ownerReferences": [reference]}},
    )
    await _call(http, "DELETE", f"{WIDGETS}/owner")
    assert emulator.get("widgets", "default", "child") is None
