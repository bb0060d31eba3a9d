"""kubernetes_asyncio (what Kopf and the operator use) against the emulator, via its kubeconfig."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator
from tests.unit.testkit.emulator.support import widget

ARGS = ("example.com", "v1", "default", "widgets")


async def test_core_v1_create_returns_the_object_and_reads_it(kube_client: Any) -> None:
    core = client.CoreV1Api(kube_client)
    created = await core.create_namespaced_secret(
        "default", client.V1Secret(metadata=client.V1ObjectMeta(name="s"), data={"k": "dg=="})
    )
    assert created is not None and created.metadata.uid and created.metadata.resource_version
    fetched = await core.read_namespaced_secret("s", "default")
    assert fetched.data == {"k": "dg=="}
    namespaces = [ns.metadata.name for ns in (await core.list_namespace()).items]
    assert "default" in namespaces


async def test_custom_object_crud_and_status(kube_client: Any) -> None:
    api = client.CustomObjectsApi(kube_client)
    created = await api.create_namespaced_custom_object(*ARGS, widget("w", size=2))
    assert created["metadata"]["generation"] == 1
    await api.patch_namespaced_custom_object_status(
        "example.com",
        "v1",
        "default",
        "widgets",
        "w",
        {"status": {"ok": True}},
        _content_type="application/merge-patch+json",  # type: ignore[call-arg]  # stubs omit it
    )
    fetched = await api.get_namespaced_custom_object(*ARGS, "w")
    assert fetched["status"] == {"ok": True} and fetched["spec"]["size"] == 2
    await api.delete_namespaced_custom_object(*ARGS, "w")
    with pytest.raises(ApiException) as raised:
        await api.get_namespaced_custom_object(*ARGS, "w")
    assert raised.value.status == 404


async def test_default_json_patch_with_dict_body_is_rejected_like_a_real_server(kube_client: Any) -> None:
    api = client.CustomObjectsApi(kube_client)
    await api.create_namespaced_custom_object(*ARGS, widget("w"))
    with pytest.raises(ApiException) as raised:
        await api.patch_namespaced_custom_object(*ARGS, "w", {"spec": {"size": 3}})
    assert raised.value.status == 400


async def test_merge_patch_content_type_works(kube_client: Any) -> None:
    api = client.CustomObjectsApi(kube_client)
    await api.create_namespaced_custom_object(*ARGS, widget("w"))
    patched = await api.patch_namespaced_custom_object(
        *ARGS,
        "w",
        {"spec": {"size": 3}},
        _content_type="application/merge-patch+json",  # type: ignore[call-arg]
    )
    assert patched["spec"]["size"] == 3 and patched["metadata"]["generation"] == 2


async def test_conflict_surfaces_as_409(kube_client: Any) -> None:
    api = client.CustomObjectsApi(kube_client)
    created = await api.create_namespaced_custom_object(*ARGS, widget("w"))
    await api.replace_namespaced_custom_object(*ARGS, "w", {**created, "spec": {"size": 4}})
    with pytest.raises(ApiException) as raised:
        await api.replace_namespaced_custom_object(*ARGS, "w", {**created, "spec": {"size": 5}})
    assert raised.value.status == 409


async def test_watch_helper_streams_with_its_watch_true_spelling(
    emulator: ApiEmulator, kube_client: Any
) -> None:
    api = client.CustomObjectsApi(kube_client)
    emulator.put_object(widget("a"))
    seen: list[tuple[str, str]] = []
    async with watch.Watch() as stream:
        async with asyncio.timeout(5):
            async for event in stream.stream(
                api.list_cluster_custom_object, "example.com", "v1", "widgets", timeout_seconds=2
            ):
                seen.append((event["type"], event["object"]["metadata"]["name"]))
                if len(seen) == 1:
                    await api.create_namespaced_custom_object(*ARGS, widget("b"))
                if len(seen) == 2:
                    break
    assert seen == [("ADDED", "a"), ("ADDED", "b")]
