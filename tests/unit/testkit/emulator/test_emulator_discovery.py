"""Discovery endpoints answer like kube-apiserver: built-ins Kopf waits for, and registered CRDs."""

from __future__ import annotations

from typing import Any

import aiohttp

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator
from tests.unit.testkit.emulator import support


async def _get(http: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with http.get(path) as response:
        return response.status, await response.json()


async def test_core_v1_lists_namespaces_and_the_kinds_the_operator_uses(http: aiohttp.ClientSession) -> None:
    status, api = await _get(http, "/api")
    assert (status, api["kind"], api["versions"]) == (200, "APIVersions", ["v1"])
    _, v1 = await _get(http, "/api/v1")
    by_name = {r["name"]: r for r in v1["resources"]}
    assert {"namespaces", "secrets", "configmaps", "events", "serviceaccounts"} <= set(by_name)
    assert by_name["namespaces"]["namespaced"] is False
    assert by_name["secrets"]["namespaced"] is True
    assert "watch" in by_name["namespaces"]["verbs"]


async def test_apis_lists_events_leases_and_crd_groups(http: aiohttp.ClientSession) -> None:
    _, groups = await _get(http, "/apis")
    names = {g["name"]: g for g in groups["groups"]}
    assert {"events.k8s.io", "coordination.k8s.io", "example.com", "helm.toolkit.fluxcd.io"} <= set(names)
    assert names["helm.toolkit.fluxcd.io"]["preferredVersion"]["groupVersion"] == "helm.toolkit.fluxcd.io/v2"
    _, leases = await _get(http, "/apis/coordination.k8s.io/v1")
    assert [r["name"] for r in leases["resources"]] == ["leases"]
    _, events = await _get(http, "/apis/events.k8s.io/v1")
    assert events["groupVersion"] == "events.k8s.io/v1" and events["resources"][0]["kind"] == "Event"


async def test_crd_resource_entry_has_verbs_short_names_categories_scope(http: aiohttp.ClientSession) -> None:
    status, group = await _get(http, "/apis/example.com")
    assert status == 200 and group["kind"] == "APIGroup"
    _, listing = await _get(http, "/apis/example.com/v1")
    by_name = {r["name"]: r for r in listing["resources"]}
    widgets = by_name["widgets"]
    assert widgets["kind"] == "Widget" and widgets["singularName"] == "widget"
    assert widgets["shortNames"] == ["wdg"] and widgets["categories"] == ["all", "examples"]
    assert widgets["namespaced"] is True
    assert set(widgets["verbs"]) >= {"get", "list", "watch", "create", "update", "patch", "delete"}
    assert set(by_name["widgets/status"]["verbs"]) == {"get", "patch", "update"}
    assert by_name["gadgets"]["namespaced"] is False and "gadgets/status" not in by_name


async def test_multi_version_crd_prefers_ga_and_hides_unserved(
    emulator: ApiEmulator, http: aiohttp.ClientSession
) -> None:
    crd = support.widget_crd_versions(["v1alpha1", "v1beta2", "v1", "v2beta1"], unserved=["v1alpha1"])
    emulator.register_crd(crd)
    _, group = await _get(http, "/apis/multi.example.com")
    assert [v["version"] for v in group["versions"]] == ["v1", "v2beta1", "v1beta2"]
    assert group["preferredVersion"]["version"] == "v1"
    status, _ = await _get(http, "/apis/multi.example.com/v1alpha1")
    assert status == 404


async def test_unknown_group_and_resource_answer_404_status(http: aiohttp.ClientSession) -> None:
    status, body = await _get(http, "/apis/nope.example.com/v1")
    assert status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"
    status, body = await _get(http, "/apis/example.com/v1/namespaces/default/sprockets")
    assert status == 404 and body["status"] == "Failure"


async def test_crd_created_over_http_becomes_servable(http: aiohttp.ClientSession) -> None:
    crd = support.widget_crd_versions(["v1"], unserved=[])
    async with http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd) as response:
        assert response.status == 201
    async with http.post(
        "/apis/multi.example.com/v1/namespaces/default/things", json={"metadata": {"name": "t"}}
    ) as response:
        assert response.status == 201
    async with http.delete(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.multi.example.com"
    ):
        pass
    status, _ = await _get(http, "/apis/multi.example.com/v1/namespaces/default/things")
    assert status == 404


async def test_a_crd_that_describes_metadata_is_refused_like_kube_apiserver(http: aiohttp.ClientSession) -> None:
    """Found by running our own CRDs on a real kube-apiserver: it owns ObjectMeta and refuses a CRD whose schema
    says more about `metadata` than its type (a description included)."""
    crd = support.widget_crd_versions(["v1"], unserved=[])
    schema = {"type": "object", "properties": {"metadata": {"type": "object", "description": "Standard metadata."}}}
    crd["spec"]["versions"][0]["schema"] = {"openAPIV3Schema": schema}
    async with http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd) as response:
        body = await response.json()
    assert response.status == 422, body
    assert "properties[metadata]: Forbidden: must not specify anything other than name and generateName" in (
        body["message"]
    )
    status, _ = await _get(http, "/apis/multi.example.com/v1/namespaces/default/things")
    assert status == 404
