"""RBAC by rule list: Roles (namespaced rules), ClusterRoles, subresources, Forbidden messages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator
from tests.unit.testkit.emulator.support import make_emulator, widget

RULES = [
    {
        "apiGroups": ["helm.toolkit.fluxcd.io"],
        "resources": ["helmreleases"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "namespaces": ["flux-system"]},
    {
        "apiGroups": ["example.com"],
        "resources": ["widgets", "widgets/status"],
        "verbs": ["*"],
        "namespaces": ["apps"],
    },
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["allowed"]},
]


@pytest.fixture
async def guarded() -> AsyncIterator[tuple[ApiEmulator, aiohttp.ClientSession]]:
    emulator = make_emulator(rules=RULES, user="system:serviceaccount:flux-system:upgrader")
    url = await emulator.start()
    emulator.put_object(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git", "namespace": "apps"}}
    )
    async with aiohttp.ClientSession(url) as session:
        yield emulator, session
    await emulator.stop()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/apis/helm.toolkit.fluxcd.io/v2/helmreleases", True),
        ("GET", "/apis/helm.toolkit.fluxcd.io/v2/namespaces/apps/helmreleases", True),
        ("PATCH", "/apis/helm.toolkit.fluxcd.io/v2/namespaces/apps/helmreleases/x", False),
        ("GET", "/api/v1/namespaces/flux-system/secrets/git", True),
        ("GET", "/api/v1/namespaces/apps/secrets/git", False),
        ("GET", "/api/v1/namespaces/flux-system/secrets", False),
        ("GET", "/apis/example.com/v1/widgets", False),  # a Role grants nothing cluster-wide
        ("GET", "/apis/example.com/v1/namespaces/apps/widgets", True),
        ("GET", "/api/v1/namespaces/default/configmaps/allowed", True),
        ("GET", "/api/v1/namespaces/default/configmaps/other", False),
        ("GET", "/apis", True),
        ("GET", "/apis/helm.toolkit.fluxcd.io/v2", True),
    ],
)
async def test_requests_are_allowed_or_forbidden_by_rules(
    guarded: tuple[ApiEmulator, aiohttp.ClientSession], method: str, path: str, allowed: bool
) -> None:
    _, http = guarded
    headers = {"Content-Type": "application/merge-patch+json"}
    async with http.request(
        method, path, json={} if method == "PATCH" else None, headers=headers
    ) as response:
        assert (response.status != 403) == allowed, await response.text()


async def test_forbidden_message_names_verb_resource_and_namespace(
    guarded: tuple[ApiEmulator, aiohttp.ClientSession],
) -> None:
    emulator, http = guarded
    async with http.get("/api/v1/namespaces/apps/secrets/git") as response:
        body = await response.json()
    assert (response.status, body["reason"], body["kind"]) == (403, "Forbidden", "Status")
    assert body["message"] == (
        'secrets "git" is forbidden: User "system:serviceaccount:flux-system:upgrader" '
        'cannot get resource "secrets" in API group "" in the namespace "apps"'
    )
    assert emulator.failures[-1].status == 403


async def test_subresource_rules_are_separate(guarded: tuple[ApiEmulator, aiohttp.ClientSession]) -> None:
    emulator, http = guarded
    merge = {"Content-Type": "application/merge-patch+json"}
    emulator.put_object({**widget("w"), "metadata": {"name": "w", "namespace": "apps"}})
    emulator.put_object(
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "hr", "namespace": "apps"},
        }
    )
    async with http.patch(
        "/apis/example.com/v1/namespaces/apps/widgets/w/status", json={"status": {"ok": 1}}, headers=merge
    ) as response:
        assert response.status == 200
    async with http.patch(
        "/apis/helm.toolkit.fluxcd.io/v2/namespaces/apps/helmreleases/hr/status",
        json={"status": {"ok": 1}},
        headers=merge,
    ) as response:
        body = await response.json()
    assert response.status == 403
    assert (
        'cannot patch resource "helmreleases/status" in API group "helm.toolkit.fluxcd.io"' in body["message"]
    )


async def test_without_rules_everything_is_allowed(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/v1/secrets") as response:
        assert response.status == 200
