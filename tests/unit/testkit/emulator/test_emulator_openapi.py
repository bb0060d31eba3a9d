"""OpenAPI v2/v3 documents built from CRDs, and `?fieldValidation=` on writes, as kube-apiserver serves them."""

from __future__ import annotations

from typing import Any

import aiohttp

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator
from tests.unit.testkit.emulator.support import WIDGET_CRD, WIDGETS, widget

V3_GV = "apis/example.com/v1"


async def _json(http: aiohttp.ClientSession, path: str, **headers: str) -> tuple[int, Any]:
    async with http.get(path, headers=headers, allow_redirects=False) as response:
        return response.status, await response.json() if response.status == 200 else None


async def test_v3_root_lists_every_group_version_with_a_content_hash(http: aiohttp.ClientSession) -> None:
    _, root = await _json(http, "/openapi/v3")
    assert {"api/v1", V3_GV, "apis/helm.toolkit.fluxcd.io/v2"} <= set(root["paths"])
    url = root["paths"][V3_GV]["serverRelativeURL"]
    assert url.startswith(f"/openapi/v3/{V3_GV}?hash=") and len(url.rpartition("=")[2]) == 128
    async with http.get(url) as response:
        assert response.status == 200 and response.headers["Cache-Control"] == "public, immutable"
        assert response.headers["ETag"] == f'"{url.rpartition("=")[2]}"'
    async with http.get(f"/openapi/v3/{V3_GV}?hash=STALE", allow_redirects=False) as response:
        assert response.status == 301 and response.headers["Location"] == url


async def test_crd_schema_is_published_with_object_meta_and_gvk(http: aiohttp.ClientSession) -> None:
    _, doc = await _json(http, f"/openapi/v3/{V3_GV}")
    schema = doc["components"]["schemas"]["com.example.v1.Widget"]
    assert schema["x-kubernetes-group-version-kind"] == [{"group": "example.com", "kind": "Widget", "version": "v1"}]
    assert schema["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    spec = schema["properties"]["spec"]["properties"]
    assert spec["size"] == {"type": "integer", "default": 1, "minimum": 0}
    assert spec["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]  # int-or-string unfolded
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
    assert doc["components"]["schemas"]["com.example.v1.WidgetList"]["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/com.example.v1.Widget"
    }


async def test_patch_operation_advertises_field_validation_and_served_patch_types(http: aiohttp.ClientSession) -> None:
    """What kubectl reads to choose server-side validation and the patch type of `kubectl apply`."""
    _, doc = await _json(http, f"/openapi/v3/{V3_GV}")
    patch = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "example.com", "kind": "Widget", "version": "v1"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert sorted(patch["requestBody"]["content"]) == ["application/json-patch+json", "application/merge-patch+json"]
    _, core = await _json(http, "/openapi/v3/api/v1")
    configmap_patch = core["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in configmap_patch["requestBody"]["content"]


async def test_v2_is_one_swagger_document_and_protobuf_is_not_acceptable(http: aiohttp.ClientSession) -> None:
    _, doc = await _json(http, "/openapi/v2")
    widget_def = doc["definitions"]["com.example.v1.Widget"]
    assert (
        widget_def["properties"]["metadata"]["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    )
    assert "nullable" not in widget_def["properties"]["spec"]["properties"]["note"]
    patch = doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert patch["consumes"] == ["application/json-patch+json", "application/merge-patch+json"]
    protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    status, _ = await _json(http, "/openapi/v2", Accept=protobuf)
    assert status == 406


async def test_a_new_crd_changes_the_documents(emulator: ApiEmulator, http: aiohttp.ClientSession) -> None:
    _, before = await _json(http, "/openapi/v3")
    crd = {**WIDGET_CRD, "metadata": {"name": "widgets.other.example.com"},
           "spec": {**WIDGET_CRD["spec"], "group": "other.example.com"}}  # fmt: skip
    emulator.register_crd(crd)
    _, after = await _json(http, "/openapi/v3")
    assert "apis/other.example.com/v1" in after["paths"] and "apis/other.example.com/v1" not in before["paths"]


async def _write(
    http: aiohttp.ClientSession, method: str, path: str, body: Any, **query: str
) -> tuple[int, Any, list[str]]:
    content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
    async with http.request(method, path, json=body, params=query, headers={"Content-Type": content_type}) as response:
        return response.status, await response.json(), response.headers.getall("Warning", [])


async def test_strict_field_validation_rejects_unknown_fields_with_the_servers_words(
    http: aiohttp.ClientSession,
) -> None:
    body = {**widget("w", size=2, colour="red"), "metadata": {"name": "w", "shoeSize": 9}}
    status, reply, _ = await _write(http, "POST", WIDGETS, body, fieldValidation="Strict")
    assert (status, reply["reason"]) == (400, "BadRequest")
    assert reply["message"] == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: '
        'unknown field "metadata.shoeSize", unknown field "spec.colour"'
    )
    status, _, _ = await _write(http, "POST", WIDGETS, widget("w", size=2), fieldValidation="Strict")
    assert status == 201
    status, reply, _ = await _write(
        http, "PATCH", f"{WIDGETS}/w", {"spec": {"colour": "red"}}, fieldValidation="Strict"
    )
    assert (status, reply["message"]) == (400, 'strict decoding error: unknown field "spec.colour"')


async def test_warn_is_the_default_and_ignore_is_silent(http: aiohttp.ClientSession) -> None:
    status, created, warnings = await _write(http, "POST", WIDGETS, widget("w", colour="red"))
    assert status == 201 and "colour" not in created["spec"]
    assert warnings == ['299 - "unknown field \\"spec.colour\\""']
    status, _, warnings = await _write(
        http, "PUT", f"{WIDGETS}/w", {**created, "spec": {"x": 1}}, fieldValidation="Ignore"
    )
    assert (status, warnings) == (200, [])
    status, reply, _ = await _write(http, "POST", WIDGETS, widget("v"), fieldValidation="Loose")
    assert status == 400 and '"Loose"' in reply["message"]


async def test_pruned_fields_do_not_bump_generation(http: aiohttp.ClientSession) -> None:
    _, created, _ = await _write(http, "POST", WIDGETS, widget("w", size=2))
    _, patched, _ = await _write(http, "PATCH", f"{WIDGETS}/w", {"spec": {"colour": "red"}}, fieldValidation="Ignore")
    assert patched["metadata"]["generation"] == created["metadata"]["generation"] == 1


async def test_event_field_selectors_find_an_objects_events(emulator: ApiEmulator, http: aiohttp.ClientSession) -> None:
    for name, target in (("e1", "w"), ("e2", "other")):
        emulator.put_object({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "default"},
                             "involvedObject": {"kind": "Widget", "name": target, "uid": "u-" + target}})  # fmt: skip
    selector = "involvedObject.name=w,involvedObject.namespace=,involvedObject.kind=Widget,involvedObject.uid=u-w"
    async with http.get("/api/v1/namespaces/default/events", params={"fieldSelector": selector}) as response:
        assert [e["metadata"]["name"] for e in (await response.json())["items"]] == ["e1"]
