"""LIST with selectors, PUT, and PATCH content types, over HTTP."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator
from tests.unit.testkit.emulator.support import widget


async def _call(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    headers = {"Content-Type": content_type} if body is not None else {}
    async with http.request(method, path, data=data, headers=headers) as response:
        return response.status, await response.json()


def _seed(emulator: ApiEmulator) -> None:
    for namespace, name, labels in [
        ("a", "one", {"app": "web", "tier": "front"}),
        ("a", "two", {"app": "db"}),
        ("b", "three", {"app": "web", "tier": "back"}),
        ("b", "four", {}),
    ]:
        emulator.put_object(
            {**widget(name), "metadata": {"name": name, "namespace": namespace, "labels": labels}}
        )


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", ["one", "two", "three", "four"]),
        ("app=web", ["one", "three"]),
        ("app==web", ["one", "three"]),
        ("app!=web", ["two", "four"]),
        ("app in (web,db)", ["one", "two", "three"]),
        ("tier notin (front)", ["two", "three", "four"]),
        ("tier", ["one", "three"]),
        ("!tier", ["two", "four"]),
        ("app=web,tier=back", ["three"]),
    ],
)
async def test_list_all_namespaces_with_label_selector(
    emulator: ApiEmulator, http: aiohttp.ClientSession, selector: str, expected: list[str]
) -> None:
    _seed(emulator)
    async with http.get("/apis/example.com/v1/widgets", params={"labelSelector": selector}) as response:
        body = await response.json()
    assert body["kind"] == "WidgetList" and int(body["metadata"]["resourceVersion"]) > 0
    assert sorted(o["metadata"]["name"] for o in body["items"]) == sorted(expected)


def test_tally_counts_stored_objects_by_key_per_namespace_without_changing_them(emulator: ApiEmulator) -> None:
    _seed(emulator)

    def app(obj: Any) -> str:
        return str(obj["metadata"]["labels"].get("app"))

    assert emulator.tally("widgets", None, app) == {"web": 2, "db": 1, "None": 1}
    assert emulator.tally("widgets", "b", app) == {"web": 1, "None": 1}
    assert emulator.tally("widgets", "nowhere", app) == {}
    assert [w["metadata"]["labels"] for w in emulator.list("widgets", "a")] == [{"app": "web", "tier": "front"},
                                                                                  {"app": "db"}]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "selector", "expected"),
    [
        ("/apis/example.com/v1/namespaces/a/widgets", "", ["one", "two"]),
        ("/apis/example.com/v1/widgets", "metadata.name=three", ["three"]),
        ("/apis/example.com/v1/widgets", "metadata.namespace=b", ["four", "three"]),
        ("/apis/example.com/v1/widgets", "metadata.namespace!=b", ["one", "two"]),
    ],
)
async def test_list_by_namespace_and_field_selector(
    emulator: ApiEmulator, http: aiohttp.ClientSession, path: str, selector: str, expected: list[str]
) -> None:
    _seed(emulator)
    async with http.get(path, params={"fieldSelector": selector}) as response:
        names = [o["metadata"]["name"] for o in (await response.json())["items"]]
    assert names == expected


async def test_unsupported_field_selector_is_400(http: aiohttp.ClientSession) -> None:
    async with http.get("/apis/example.com/v1/widgets", params={"fieldSelector": "spec.size=1"}) as response:
        assert response.status == 400


async def test_put_replaces_the_object(http: aiohttp.ClientSession) -> None:
    _, created = await _call(
        http,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}},
    )
    status, replaced = await _call(
        http,
        "PUT",
        "/api/v1/namespaces/default/configmaps/c",
        {"metadata": {"name": "c"}, "data": {"b": "3"}},
    )
    assert status == 200 and replaced["data"] == {"b": "3"}
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    status, _ = await _call(
        http, "PUT", "/api/v1/namespaces/default/configmaps/c", {"metadata": {"name": "other"}, "data": {}}
    )
    assert status == 400


async def test_merge_patch_follows_rfc7386(http: aiohttp.ClientSession) -> None:
    path = "/apis/example.com/v1/namespaces/default/widgets/w"
    await _call(
        http,
        "POST",
        "/apis/example.com/v1/namespaces/default/widgets",
        {**widget("w", size=1, mode="fast"), "metadata": {"name": "w", "labels": {"a": "1", "b": "2"}}},
    )
    status, patched = await _call(
        http,
        "PATCH",
        path,
        {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"mode": None, "size": 4}},
        "application/merge-patch+json",
    )
    assert status == 200
    assert patched["metadata"]["labels"] == {"b": "2", "c": "3"} and patched["spec"] == {"size": 4}


async def test_json_patch_ops_and_failing_test_op(http: aiohttp.ClientSession) -> None:
    path = "/apis/example.com/v1/namespaces/default/widgets/w"
    _, created = await _call(
        http,
        "POST",
        "/apis/example.com/v1/namespaces/default/widgets",
        {**widget("w", size=1), "metadata": {"name": "w", "finalizers": ["x/y"]}},
    )
    rv = created["metadata"]["resourceVersion"]
    status, patched = await _call(
        http,
        "PATCH",
        path,
        [
            {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
            {"op": "add", "path": "/metadata/finalizers/-", "value": "x/z"},
            {"op": "replace", "path": "/spec/size", "value": 2},
            {"op": "copy", "from": "/spec/size", "path": "/spec/extra"},
            {"op": "move", "from": "/spec/extra", "path": "/spec/port"},
        ],
        "application/json-patch+json",
    )
    assert status == 200, patched
    assert patched["metadata"]["finalizers"] == ["x/y", "x/z"] and patched["spec"] == {"size": 2, "port": 2}
    status, error = await _call(
        http,
        "PATCH",
        path,
        [
            {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
            {"op": "remove", "path": "/metadata/finalizers/0"},
        ],
        "application/json-patch+json",
    )
    assert (status, error["reason"]) == (422, "Invalid")
    status, _ = await _call(
        http, "PATCH", path, [{"op": "remove", "path": "/spec/nothing"}], "application/json-patch+json"
    )
    assert status == 422


async def test_dict_body_sent_as_json_patch_is_400(http: aiohttp.ClientSession) -> None:
    await _call(http, "POST", "/apis/example.com/v1/namespaces/default/widgets", widget("w"))
    status, error = await _call(
        http,
        "PATCH",
        "/apis/example.com/v1/namespaces/default/widgets/w",
        {"spec": {"size": 3}},
        "application/json-patch+json",
    )
    assert (status, error["reason"]) == (400, "BadRequest")


@pytest.mark.parametrize(
    ("path", "content_type", "expected"),
    [
        ("/apis/example.com/v1/namespaces/default/widgets/w", "application/strategic-merge-patch+json", 415),
        ("/api/v1/namespaces/default/configmaps/c", "application/strategic-merge-patch+json", 200),
        ("/apis/example.com/v1/namespaces/default/widgets/w", "application/apply-patch+yaml", 415),
        ("/apis/example.com/v1/namespaces/default/widgets/w", "application/json", 415),
        ("/apis/example.com/v1/namespaces/default/widgets/w", "text/plain", 415),
    ],
)
async def test_patch_content_types(
    http: aiohttp.ClientSession, path: str, content_type: str, expected: int
) -> None:
    await _call(http, "POST", "/apis/example.com/v1/namespaces/default/widgets", widget("w"))
    await _call(
        http, "POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}, "data": {}}
    )
    status, body = await _call(http, "PATCH", path, {"metadata": {"labels": {"p": "q"}}}, content_type)
    assert status == expected
    if expected == 200:
        assert body["metadata"]["labels"] == {"p": "q"}
    else:
        assert body["reason"] == "UnsupportedMediaType"


async def test_delete_collection_honours_selector(emulator: ApiEmulator, http: aiohttp.ClientSession) -> None:
    _seed(emulator)
    async with http.delete(
        "/apis/example.com/v1/namespaces/a/widgets", params={"labelSelector": "app=web"}
    ) as response:
        assert response.status == 200
    assert [o["metadata"]["name"] for o in emulator.list("widgets")] == ["two", "four", "three"]
