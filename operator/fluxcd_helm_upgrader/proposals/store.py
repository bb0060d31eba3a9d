"""Reading and writing UpgradeProposal objects through the Kubernetes API.

Called by the check cycle (create/update/delete on decisions) and by the PR worker (status). Every patch is a JSON
merge patch sent with the right Content-Type (a real API server rejects a dict sent as JSON patch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader.kube import MERGE_PATCH
from fluxcd_helm_upgrader.proposals import naming
from fluxcd_helm_upgrader.structs import kinds

K = kinds.UPGRADE_PROPOSAL


class ProposalStore:
    """CRUD on UpgradeProposals in one namespace."""

    def __init__(self, api: client.ApiClient) -> None:
        self._objects = client.CustomObjectsApi(api)

    async def list_in_namespace(self, namespace: str) -> list[dict[str, Any]]:
        """Every proposal of the namespace: the config's own, other configs' and hand-made ones (ownership is
        decided by `proposals.ownership`, not by a label anyone can set)."""
        result = await self._objects.list_namespaced_custom_object(K.group, K.version, namespace, K.plural)
        return list(result.get("items") or [])

    async def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            body: dict[str, Any] = await self._objects.get_namespaced_custom_object(
                K.group, K.version, namespace, K.plural, name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return body

    async def create(
        self, namespace: str, name: str, spec: Mapping[str, Any], owner: Mapping[str, Any]
    ) -> dict[str, Any]:
        body = {
            "apiVersion": K.api_version,
            "kind": K.kind,
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {naming.CONFIG_LABEL: owner["name"]},
                "ownerReferences": [
                    {
                        "apiVersion": kinds.UPGRADER_CONFIG.api_version,
                        "kind": kinds.UPGRADER_CONFIG.kind,
                        "name": owner["name"],
                        "uid": owner["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": dict(spec),
        }
        created: dict[str, Any] = await self._objects.create_namespaced_custom_object(
            K.group, K.version, namespace, K.plural, body
        )
        return created

    async def patch_spec(self, namespace: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        patched: dict[str, Any] = await self._objects.patch_namespaced_custom_object(
            K.group,
            K.version,
            namespace,
            K.plural,
            name,
            {"spec": dict(spec)},
            _content_type=MERGE_PATCH,  # type: ignore[call-arg]
        )
        return patched

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> dict[str, Any]:
        patched: dict[str, Any] = await self._objects.patch_namespaced_custom_object_status(
            K.group,
            K.version,
            namespace,
            K.plural,
            name,
            {"status": dict(status)},
            _content_type=MERGE_PATCH,  # type: ignore[call-arg]
        )
        return patched

    async def delete(self, namespace: str, name: str) -> None:
        try:
            await self._objects.delete_namespaced_custom_object(K.group, K.version, namespace, K.plural, name)
        except ApiException as error:
            if error.status != 404:
                raise
