"""Pure helpers for object bodies: server-owned metadata, generation, status separation.

`emulator.store` calls these while it creates and updates objects, so the rules of what a client
may and may not change live in one place: uid, creationTimestamp, deletionTimestamp and
generation belong to the server; with a status subresource, main-resource writes keep the old
`.status` and `/status` writes keep everything but `.status`.
"""

from __future__ import annotations

import copy
import datetime
import random
import uuid
from typing import Any

from fluxcd_helm_upgrader.testkit.emulator import errors
from fluxcd_helm_upgrader.testkit.emulator.resources import Resource

SERVER_OWNED = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "managedFields",
    "selfLink",
)
# kube-apiserver's generateName alphabet: no vowels (no accidental words), no confusable 0/1/3.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> str:
    """RFC 3339 UTC with second precision, like metav1.Time."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generated_name(prefix: str) -> str:
    return prefix + "".join(random.choices(_SUFFIX_ALPHABET, k=5))


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def generation_fields(resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    """What bumps metadata.generation: all but metadata (and status, when it is a subresource)."""
    skipped = ("metadata", "status") if resource.status_subresource else ("metadata",)
    return {key: value for key, value in obj.items() if key not in skipped}


def new_object(resource: Resource, namespace: str | None, body: Any) -> dict[str, Any]:
    """The object to store for a create: identity and server-owned metadata filled in."""
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    obj = copy.deepcopy(body)
    for field, expected in (("kind", resource.kind), ("apiVersion", resource.api_version)):
        given = obj.get(field)
        if given and given != expected and not (field == "apiVersion" and _same_group(given, resource)):
            raise errors.bad_request(
                f"the {field} in the data ({given}) does not match the expected {field} ({expected})"
            )
    # Key order as a real server prints objects: apiVersion, kind, metadata, then the rest.
    obj = {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": obj.get("metadata", {}),
        **{k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")},
    }
    metadata = obj["metadata"]
    if not isinstance(metadata, dict):
        raise errors.bad_request("metadata must be an object")
    if resource.namespaced:
        if metadata.get("namespace") and metadata["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        metadata["namespace"] = namespace
    else:
        metadata.pop("namespace", None)
    if not metadata.get("name"):
        if not metadata.get("generateName"):
            raise errors.invalid(
                resource.kind,
                resource.group,
                "",
                [("metadata.name", "Required value: name or generateName is required")],
            )
        metadata["name"] = generated_name(metadata["generateName"])
    for field in SERVER_OWNED:
        metadata.pop(field, None)
    metadata["uid"] = str(uuid.uuid4())
    metadata["creationTimestamp"] = now()
    if resource.custom:
        metadata["generation"] = 1
        if resource.status_subresource:
            obj.pop("status", None)  # status is ignored on create when it is a subresource
    if resource.kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    return obj


def _same_group(api_version: str, resource: Resource) -> bool:
    """Another served version of the same group is accepted (the None conversion strategy)."""
    group = api_version.rpartition("/")[0]
    return bool(resource.group) and group == resource.group


def updated_object(resource: Resource, old: dict[str, Any], candidate: Any, subresource: str | None) -> dict[str, Any]:
    """Merge a client's full desired object into the stored one, as an update or a /status update."""
    if not isinstance(candidate, dict) or not isinstance(candidate.get("metadata", {}), dict):
        raise errors.bad_request("the body of the request must be a JSON object with object metadata")
    old_meta = meta(old)
    given_name = meta(candidate).get("name")
    if given_name and given_name != old_meta.get("name"):
        raise errors.bad_request(
            f"the name of the object ({given_name}) does not match the name on the URL ({old_meta.get('name')})"
        )
    if subresource == "status":
        new = copy.deepcopy(old)
        if "status" in candidate:
            new["status"] = copy.deepcopy(candidate["status"])
        else:
            new.pop("status", None)
        return new
    new = copy.deepcopy(candidate)
    new["kind"], new["apiVersion"] = old.get("kind"), old.get("apiVersion")
    if resource.status_subresource:
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    new_meta = new.setdefault("metadata", {})
    for field in (
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "name",
        "namespace",
    ):
        if field in old_meta:
            new_meta[field] = old_meta[field]
        else:
            new_meta.pop(field, None)
    if old_meta.get("deletionTimestamp"):
        added = [f for f in new_meta.get("finalizers") or [] if f not in (old_meta.get("finalizers") or [])]
        if added:
            raise errors.ApiError(
                422,
                "Invalid",
                f'{resource.kind} "{old_meta.get("name")}" is invalid: metadata.finalizers: Forbidden: '
                "no new finalizers can be added if the object is being deleted, "
                f"found new finalizers {added}",
            )
    if resource.custom and generation_fields(resource, old) != generation_fields(resource, new):
        new_meta["generation"] = int(old_meta.get("generation") or 1) + 1
    return new


def served_as(resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    """The stored object as seen through one served version (only apiVersion differs)."""
    if obj.get("apiVersion") == resource.api_version:
        return obj
    return {**obj, "apiVersion": resource.api_version}
