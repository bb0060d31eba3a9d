"""Schemas of the emulator's OpenAPI documents: each kind's schema and its List, as the API server publishes them.

`emulator.openapi` builds its documents from these. A custom resource's schema follows apiextensions-apiserver's
CRD builder: the CRD version's `openAPIV3Schema` with `metadata` pointing at ObjectMeta, `apiVersion` and `kind`
from TypeMeta, `x-kubernetes-int-or-string` unfolded to `anyOf`, and an `x-kubernetes-group-version-kind`
extension; definitions are named by the reversed group (`io.helmupgrader.v1alpha1.UpgraderConfig`). Built-in
kinds and the meta.k8s.io types come from `openapi_types.yaml`. Schemas use v3 `$ref`s; `openapi` rewrites them
for v2.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from fluxcd_helm_upgrader.testkit.emulator.resources import Resource

V3 = "#/components/schemas/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
TYPE_META = {
    "apiVersion": {
        "description": "APIVersion defines the versioned schema of this representation of an object. Servers should "
        "convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
        "type": "string",
    },
    "kind": {
        "description": "Kind is a string value representing the REST resource this object represents. Servers may "
        "infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
        "type": "string",
    },
}
METADATA_DOC = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
LIST_METADATA_DOC = (
    "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#types-kinds"
)


@functools.cache
def types() -> dict[str, Any]:
    data = yaml.safe_load((Path(__file__).with_name("openapi_types.yaml")).read_text(encoding="utf-8"))
    return dict(data)


def gvk(resource: Resource, kind: str | None = None) -> dict[str, str]:
    return {"group": resource.group, "kind": kind or resource.kind, "version": resource.version}


def definition_name(resource: Resource, kind: str | None = None) -> str:
    """`io.helmupgrader.v1alpha1.UpgraderConfig`, or a built-in's real name (`io.k8s.api.core.v1.Secret`)."""
    if not resource.custom:
        builtin = types()["kinds"][f"{resource.api_version}/{resource.kind}"]["name"]
        return f"{builtin}List" if kind else str(builtin)
    group = ".".join(reversed(resource.group.split(".")))
    return f"{group}.{resource.version}.{kind or resource.kind}"


def _unfold(schema: Any) -> Any:
    """structuralschema.Unfold: `x-kubernetes-int-or-string` gains its `anyOf: [integer, string]`."""
    if isinstance(schema, list):
        return [_unfold(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _unfold(value) if key != "default" and key != "enum" else value for key, value in schema.items()}
    if result.get("x-kubernetes-int-or-string") and "anyOf" not in result and "allOf" not in result:
        result["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return result


def kind_schema(resource: Resource) -> dict[str, Any]:
    """The schema of one kind in v3 form, `x-kubernetes-group-version-kind` included."""
    metadata = {"allOf": [{"$ref": f"{V3}{META}ObjectMeta"}], "description": METADATA_DOC}
    if resource.custom:
        schema: dict[str, Any] = _unfold(copy.deepcopy(resource.schema)) if resource.schema else {"type": "object"}
        if resource.schema:
            properties = schema.setdefault("properties", {})
            properties.update({**copy.deepcopy(TYPE_META), "metadata": metadata})
    else:
        entry = types()["kinds"][f"{resource.api_version}/{resource.kind}"]
        properties = {**copy.deepcopy(TYPE_META), "metadata": metadata, **copy.deepcopy(entry["properties"])}
        schema = {"description": entry["description"], "type": "object", "properties": properties}
        if entry.get("preserveUnknownFields"):
            schema["x-kubernetes-preserve-unknown-fields"] = True
    schema["x-kubernetes-group-version-kind"] = [gvk(resource)]
    return schema


def list_schema(resource: Resource) -> dict[str, Any]:
    return {
        "description": f"{resource.list_kind} is a list of {resource.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            **copy.deepcopy(TYPE_META),
            "items": {
                "description": f"List of {resource.plural}. More info: "
                "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md",
                "type": "array",
                "items": {"$ref": f"{V3}{definition_name(resource)}"},
            },
            "metadata": {"allOf": [{"$ref": f"{V3}{META}ListMeta"}], "description": LIST_METADATA_DOC},
        },
        "x-kubernetes-group-version-kind": [gvk(resource, resource.list_kind)],
    }
