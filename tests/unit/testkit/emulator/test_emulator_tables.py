"""`kubectl get`'s Table negotiation: printer columns, cells, includeObject and watch, as kube-apiserver serves them."""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
from typing import Any

import aiohttp
import pytest

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator, tables
from tests.unit.testkit.emulator.support import WIDGET_CRD

KUBECTL_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
COLUMNS = [
    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
    {"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 1, "description": "How big."},
    {"name": "Seen", "type": "date", "jsonPath": ".status.seen"},
    {"name": "Labels", "type": "string", "jsonPath": ".metadata.labels"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


@pytest.fixture
async def api() -> Any:
    crd = copy.deepcopy(WIDGET_CRD)
    crd["spec"]["versions"][0]["additionalPrinterColumns"] = COLUMNS
    emulator = ApiEmulator()
    emulator.register_crd(crd)
    await emulator.start()
    emulator.put_object(
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "ready", "namespace": "a", "labels": {"tier": "web"}},
            "spec": {"size": 3},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "seen": "2020-01-01T00:00:00Z"},
        }
    )
    emulator.put_object(
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "bare", "namespace": "b"}}
    )
    yield emulator
    await emulator.stop()


async def _get(api: ApiEmulator, path: str, accept: str = KUBECTL_ACCEPT, **params: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession(api.url) as http, http.get(path, params=params, headers={"Accept": accept}) as r:
        return r.status, await r.json()


async def test_custom_resources_list_as_a_table_of_their_printer_columns(api: ApiEmulator) -> None:
    status, table = await _get(api, "/apis/example.com/v1/widgets")
    assert status == 200 and (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    heads = [(c["name"], c["type"], c["format"], c["priority"]) for c in table["columnDefinitions"]]
    assert heads == [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Size", "integer", "", 1),
        ("Seen", "date", "", 0),
        ("Labels", "string", "", 0),
        ("Age", "date", "", 0),
    ]
    assert table["columnDefinitions"][2]["description"] == "How big."
    assert table["columnDefinitions"][1]["description"].endswith('.status.conditions[?(@.type=="Ready")].status')
    ready, bare = sorted(table["rows"], key=lambda row: row["cells"][0], reverse=True)
    assert ready["cells"][:3] == ["ready", "True", 3]
    assert ready["cells"][3].endswith("y") or ready["cells"][3].endswith("d")  # years since 2020, like `5y`
    assert ready["cells"][4] == '{"tier":"web"}'
    assert bare["cells"][:5] == ["bare", None, None, None, None]  # missing fields: null cells
    assert bare["cells"][5].endswith("s")  # created a moment ago
    assert ready["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": api.get("widgets", "a", "ready")["metadata"],  # type: ignore[index]
    }
    assert table["metadata"]["resourceVersion"] == str(api.store.rv)


async def test_one_object_is_a_one_row_table_and_v1beta1_is_served(api: ApiEmulator) -> None:
    status, table = await _get(
        api,
        "/apis/example.com/v1/namespaces/a/widgets/ready",
        accept="application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    )
    assert status == 200 and table["apiVersion"] == "meta.k8s.io/v1beta1"
    assert [row["cells"][0] for row in table["rows"]] == ["ready"]
    assert table["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"


@pytest.mark.parametrize(
    ("include", "kind"), [("Object", "Widget"), ("None", None), ("Metadata", "PartialObjectMetadata")]
)
async def test_include_object(api: ApiEmulator, include: str, kind: str | None) -> None:
    _, table = await _get(api, "/apis/example.com/v1/namespaces/a/widgets", includeObject=include)
    row_object = table["rows"][0]["object"]
    assert (row_object or {}).get("kind") == kind


async def test_bad_include_object_and_unservable_accept_are_refused(api: ApiEmulator) -> None:
    status, body = await _get(api, "/apis/example.com/v1/widgets", includeObject="Everything")
    assert (status, body["reason"]) == (400, "BadRequest") and "Everything" in body["message"]
    status, body = await _get(api, "/apis/example.com/v1/widgets", accept="application/vnd.kubernetes.protobuf")
    assert (status, body["reason"]) == (406, "NotAcceptable")
    status, body = await _get(
        api, "/apis/example.com/v1/widgets", accept="application/json;as=Table;v=v2;g=meta.k8s.io"
    )
    assert status == 406
    status, body = await _get(api, "/apis/example.com/v1/widgets", accept="*/*")
    assert (status, body["kind"]) == (200, "WidgetList")


async def test_built_in_kinds_print_like_the_real_printers(api: ApiEmulator) -> None:
    api.put_object({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"},
                    "type": "Opaque", "data": {"a": "eA==", "b": "eQ=="}})  # fmt: skip
    _, namespaces = await _get(api, "/api/v1/namespaces")
    assert [c["name"] for c in namespaces["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert next(r["cells"][:2] for r in namespaces["rows"] if r["cells"][0] == "default") == ["default", "Active"]
    _, secrets = await _get(api, "/api/v1/namespaces/a/secrets")
    assert [c["name"] for c in secrets["columnDefinitions"]] == ["Name", "Type", "Data", "Age"]
    assert secrets["rows"][0]["cells"][:3] == ["s", "Opaque", 2]
    _, crds = await _get(api, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    assert [(c["name"], c["type"]) for c in crds["columnDefinitions"]] == [("Name", "string"), ("Created At", "date")]
    created = crds["rows"][0]["cells"][1]
    assert datetime.datetime.fromisoformat(created.replace("Z", "+00:00")).tzinfo is not None  # a timestamp, not an age


async def test_events_print_object_and_message_and_hide_details_below_wide(api: ApiEmulator) -> None:
    api.put_object({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "a"},
                    "involvedObject": {"kind": "Widget", "name": "ready", "namespace": "a"}, "type": "Normal",
                    "reason": "Built", "message": " done \n", "source": {"component": "widgeteer"}})  # fmt: skip
    _, events = await _get(api, "/api/v1/namespaces/a/events")
    names = [(c["name"], c["priority"]) for c in events["columnDefinitions"]]
    assert names[:4] == [("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0)] and ("Count", 1) in names
    assert events["rows"][0]["cells"][:7] == ["<unknown>", "Normal", "Built", "widget/ready", "", "widgeteer", "done"]


async def test_a_version_without_printer_columns_gets_age() -> None:
    emulator = ApiEmulator()
    emulator.register_crd(copy.deepcopy(WIDGET_CRD))
    resource = emulator.resource("widgets")
    table = tables.table(resource, [], resource_version="1")
    assert [(c["name"], c["type"]) for c in table["columnDefinitions"]] == [("Name", "string"), ("Age", "date")]
    assert table["rows"] == []


async def test_watch_as_table_sends_headers_once(api: ApiEmulator) -> None:
    async with (
        aiohttp.ClientSession(api.url) as http,
        http.get(
            "/apis/example.com/v1/widgets", params={"watch": "true"}, headers={"Accept": KUBECTL_ACCEPT}
        ) as response,
    ):
        first = json.loads(await response.content.readline())
        second = json.loads(await response.content.readline())
        api.put_object(
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "new", "namespace": "a"}}
        )
        third = json.loads(await asyncio.wait_for(response.content.readline(), 5))
    assert first["object"]["kind"] == "Table" and first["object"]["columnDefinitions"]
    assert second["object"]["columnDefinitions"] is None
    assert (third["type"], third["object"]["rows"][0]["cells"][0]) == ("ADDED", "new")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "<invalid>"), (-1, "0s"), (59, "59s"), (119, "119s"), (150, "2m30s"), (600, "10m"), (3 * 3600, "3h"),
     (3 * 3600 + 600, "3h10m"), (30 * 3600, "30h"), (50 * 3600, "2d2h"), (10 * 86400, "10d"), (800 * 86400, "2y70d"),
     (9 * 365 * 86400, "9y")],
)  # fmt: skip
def test_human_duration_matches_apimachinery(seconds: int, text: str) -> None:
    assert tables.human_duration(seconds) == text
