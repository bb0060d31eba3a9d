"""OpenAPI documents of the API emulator: `/openapi/v3` (per group-version) and `/openapi/v2`, from the catalogue.

kubectl reads them for `kubectl explain` (v3) and to decide how `kubectl apply` validates: when the PATCH
operation of a kind lists the `fieldValidation` parameter, kubectl leaves validation to the server
(`?fieldValidation=Strict`, see `emulator.schema`), as it does with a real cluster. `emulator.server`
calls `Documents.serve()` for every `/openapi/...` path. Paths and operations follow
apiextensions-apiserver's CRD builder (collection, item and /status routes, each operation carrying
`x-kubernetes-group-version-kind`); the schemas come from `emulator.openapi_schemas`. `/openapi/v3`
lists each group-version with a `serverRelativeURL` whose `hash` is the document's SHA-512
(kube-openapi's ETag): a matching hash is served immutable, a stale one is redirected (301). PATCH
advertises only the patch types the emulator serves (no server-side apply). Protobuf is not produced:
a request accepting only protobuf gets 406, which client-go handles by falling back or going without.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from fluxcd_helm_upgrader.testkit.emulator import errors, negotiation, patching
from fluxcd_helm_upgrader.testkit.emulator import openapi_schemas as schemas
from fluxcd_helm_upgrader.testkit.emulator.resources import Catalogue, Resource

V2 = "#/definitions/"
_QUERY = {
    "dryRun": "When present, indicates that modifications should not be persisted.",
    "fieldManager": "fieldManager is a name associated with the actor or entity that is making these changes.",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the request containing "
    "unknown or duplicate fields. Valid values are: Ignore, Warn (the default) and Strict.",
    "force": 'Force is going to "force" Apply requests. It must be unset for non-apply patch requests.',
    "labelSelector": "A selector to restrict the list of returned objects by their labels.",
    "fieldSelector": "A selector to restrict the list of returned objects by their fields.",
    "limit": "limit is a maximum number of responses to return for a list call.",
    "continue": "The continue option should be set when retrieving more results from the server.",
    "resourceVersion": "resourceVersion sets a constraint on what resource versions a request may be served from.",
    "timeoutSeconds": "Timeout for the list/watch call.",
    "watch": "Watch for changes to the described resources and return them as a stream of add, update, and remove "
    "notifications.",
    "allowWatchBookmarks": 'allowWatchBookmarks requests watch events with type "BOOKMARK".',
    "gracePeriodSeconds": "The duration in seconds before the object should be deleted.",
    "propagationPolicy": "Whether and how garbage collection will be performed.",
}
_INTEGER = ("limit", "timeoutSeconds", "gracePeriodSeconds")
_BOOLEAN = ("force", "watch", "allowWatchBookmarks")
_LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion",
         "timeoutSeconds", "watch")  # fmt: skip
_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_DELETE = ("dryRun", "gracePeriodSeconds", "propagationPolicy")


def _camel_group(resource: Resource) -> tuple[str, str]:
    """(operationId infix, tag) as kube-openapi names them: `HelmupgraderIoV1alpha1`, `helmupgraderIo_v1alpha1`."""
    parts = (resource.group or "core").split(".")
    camel = "".join(part[:1].upper() + part[1:] for part in parts)
    return camel + resource.version[:1].upper() + resource.version[1:], camel[:1].lower() + camel[1:] + "_" + (
        resource.version
    )


def _parameter(name: str, where: str = "query", *, description: str = "") -> dict[str, Any]:
    kind = "integer" if name in _INTEGER else "boolean" if name in _BOOLEAN else "string"
    body: dict[str, Any] = {"name": name, "in": where, "description": description or _QUERY.get(name, "")}
    if where == "path":
        body["required"] = True
    body["schema"] = {"type": kind, "uniqueItems": True}
    return body


def _operation(
    resource: Resource,
    verb: str,
    action: str,
    description: str,
    params: Iterable[str],
    *,
    reply: str,
    body: str = "",
    all_namespaces: bool = False,
) -> dict[str, Any]:
    """One operation; its id as kube-openapi builds it (`patchHelmupgraderIoV1alpha1NamespacedUpgraderConfig`)."""
    infix, tag = _camel_group(resource)
    scope = "" if all_namespaces or not resource.namespaced else "Namespaced"
    suffix = "ForAllNamespaces" if all_namespaces else ""
    operation: dict[str, Any] = {
        "tags": [tag],
        "description": description,
        "operationId": f"{verb}{infix}{scope}{resource.kind}{suffix}",
        "parameters": [_parameter(name) for name in params],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": f"{schemas.V3}{reply}"}}}},
            "401": {"description": "Unauthorized"},
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": schemas.gvk(resource),
    }
    if body:
        types = patching.accepted_types(resource.custom) if verb.startswith("patch") else ["application/json"]
        schema = {"$ref": f"{schemas.V3}{body}"}
        operation["requestBody"] = {"content": {t: {"schema": schema} for t in types}, "required": True}
    if action == "list":
        stream = {"schema": {"$ref": f"{schemas.V3}{reply}"}}
        operation["responses"]["200"]["content"]["application/json;stream=watch"] = stream
    return operation


def paths(resource: Resource) -> dict[str, dict[str, Any]]:
    """The REST paths of one resource, as the CRD builder's routes (collection, item and /status verbs)."""
    base = f"/apis/{resource.group}/{resource.version}" if resource.group else f"/api/{resource.version}"
    kind, kind_list = schemas.definition_name(resource), schemas.definition_name(resource, resource.list_kind)
    status, patch = f"{schemas.META}Status", f"{schemas.META}Patch"
    scope = [_parameter("namespace", "path", description="object name and auth scope, such as for teams and projects")]
    collection = f"{base}/{resource.plural}"
    if resource.namespaced:
        collection = f"{base}/namespaces/{{namespace}}/{resource.plural}"
    result: dict[str, dict[str, Any]] = {}
    if resource.namespaced:
        result[f"{base}/{resource.plural}"] = {
            "get": _operation(resource, "list", "list", f"list objects of kind {resource.kind}", _LIST,
                              reply=kind_list, all_namespaces=True),
            "parameters": [_parameter("pretty")],
        }  # fmt: skip
    common = ([*scope] if resource.namespaced else []) + [_parameter("pretty")]
    result[collection] = {
        "get": _operation(resource, "list", "list", f"list objects of kind {resource.kind}", _LIST, reply=kind_list),
        "post": _operation(resource, "create", "post", f"create a {resource.kind}", _WRITE, reply=kind, body=kind),
        "delete": _operation(resource, "deleteCollection", "deletecollection",
                             f"delete collection of {resource.kind}", (*_LIST, *_DELETE), reply=status),
        "parameters": common,
    }  # fmt: skip
    named = [_parameter("name", "path", description=f"name of the {resource.kind}"), *common]
    result[f"{collection}/{{name}}"] = {
        "get": _operation(resource, "read", "get", f"read the specified {resource.kind}", ("resourceVersion",),
                          reply=kind),
        "put": _operation(resource, "replace", "put", f"replace the specified {resource.kind}", _WRITE, reply=kind,
                          body=kind),
        "delete": _operation(resource, "delete", "delete", f"delete a {resource.kind}", _DELETE, reply=status),
        "patch": _operation(resource, "patch", "patch", f"partially update the specified {resource.kind}",
                            (*_WRITE, "force"), reply=kind, body=patch),
        "parameters": named,
    }  # fmt: skip
    if resource.status_subresource:
        result[f"{collection}/{{name}}/status"] = {
            "get": _operation(resource, "readStatus", "get", f"read status of the specified {resource.kind}",
                              ("resourceVersion",), reply=kind),
            "put": _operation(resource, "replaceStatus", "put", f"replace status of the specified {resource.kind}",
                              _WRITE, reply=kind, body=kind),
            "patch": _operation(resource, "patchStatus", "patch",
                                f"partially update status of the specified {resource.kind}", (*_WRITE, "force"),
                                reply=kind, body=patch),
            "parameters": named,
        }  # fmt: skip
    return result


def group_version_document(resources: Iterable[Resource]) -> dict[str, Any]:
    """The `/openapi/v3/apis/<group>/<version>` document for these resources of one group-version."""
    components: dict[str, Any] = copy.deepcopy(schemas.types()["meta"])
    all_paths: dict[str, Any] = {}
    for resource in sorted(resources, key=lambda r: r.plural):
        components[schemas.definition_name(resource)] = schemas.kind_schema(resource)
        components[schemas.definition_name(resource, resource.list_kind)] = schemas.list_schema(resource)
        all_paths.update(paths(resource))
    title = "Kubernetes CRD Swagger" if any(r.custom for r in resources) else "Kubernetes"
    return {
        "openapi": "3.0.0",
        "info": {"title": title, "version": "v0.1.0"},
        "paths": all_paths,
        "components": {"schemas": dict(sorted(components.items()))},
    }


def _to_v2(value: Any) -> Any:
    """v3 schema text to Swagger 2.0: `#/definitions/` refs, single-ref `allOf` folded, no nullable/anyOf."""
    if isinstance(value, list):
        return [_to_v2(item) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: _to_v2(item) for key, item in value.items() if key not in ("nullable", "anyOf", "oneOf", "not")}
    if isinstance(result.get("$ref"), str):
        result["$ref"] = result["$ref"].replace(schemas.V3, V2)
    all_of = result.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and set(all_of[0]) == {"$ref"}:
        result.pop("allOf")
        result["$ref"] = all_of[0]["$ref"]
    return result


def _v2_operation(operation: dict[str, Any]) -> dict[str, Any]:
    converted = {k: v for k, v in operation.items() if k not in ("requestBody", "responses", "parameters")}
    parameters = [
        {k: v for k, v in p.items() if k != "schema"} | {"type": p["schema"]["type"], "uniqueItems": True}
        for p in operation["parameters"]
    ]
    if "requestBody" in operation:
        content = operation["requestBody"]["content"]
        converted["consumes"] = list(content)
        schema = next(iter(content.values()))["schema"]
        parameters.insert(0, {"name": "body", "in": "body", "required": True, "schema": schema})
    ok = operation["responses"]["200"]["content"]
    converted["produces"] = list(ok)
    converted["schemes"] = ["https"]
    converted["parameters"] = parameters
    converted["responses"] = {"200": {"description": "OK", "schema": ok["application/json"]["schema"]},
                              "401": {"description": "Unauthorized"}}  # fmt: skip
    return _to_v2(converted)  # type: ignore[no-any-return]


def v2_document(catalogue: Catalogue) -> dict[str, Any]:
    """`/openapi/v2`: every served resource in one Swagger 2.0 document."""
    definitions: dict[str, Any] = {}
    all_paths: dict[str, Any] = {}
    for resources in _by_group_version(catalogue).values():
        v3 = group_version_document(resources)
        definitions.update(v3["components"]["schemas"])
        for path, item in v3["paths"].items():
            all_paths[path] = {
                verb: _v2_operation(op) if verb != "parameters" else [
                    {k: v for k, v in p.items() if k != "schema"} | {"type": "string", "uniqueItems": True}
                    for p in op
                ]
                for verb, op in item.items()
            }  # fmt: skip
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.31.0"},
        "paths": dict(sorted(all_paths.items())),
        "definitions": _to_v2(dict(sorted(definitions.items()))),
    }


def _by_group_version(catalogue: Catalogue) -> dict[str, list[Resource]]:
    grouped: dict[str, list[Resource]] = {}
    for resource in catalogue.all():
        key = f"apis/{resource.group}/{resource.version}" if resource.group else f"api/{resource.version}"
        grouped.setdefault(key, []).append(resource)
    return dict(sorted(grouped.items()))


def _encode(document: dict[str, Any]) -> tuple[bytes, str]:
    body = json.dumps(document, separators=(",", ":")).encode()
    return body, hashlib.sha512(body).hexdigest().upper()


def _accepts_json(header: str | None) -> bool:
    if not header or not header.strip():
        return True
    return any(media in negotiation.JSON_TYPES for media, _ in negotiation.parse(header))


class Documents:
    """Renders and caches the documents of one catalogue; rebuilt whenever a CRD changes it."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._generation = -1
        self._v3: dict[str, tuple[bytes, str]] = {}
        self._v2: tuple[bytes, str] | None = None

    def _refresh(self) -> None:
        if self._generation != self.catalogue.generation:
            grouped = _by_group_version(self.catalogue)
            self._v3 = {key: _encode(group_version_document(resources)) for key, resources in grouped.items()}
            self._v2 = None
            self._generation = self.catalogue.generation

    def v3_root(self) -> dict[str, Any]:
        self._refresh()
        urls = {key: f"/openapi/v3/{key}?hash={etag}" for key, (_, etag) in self._v3.items()}
        return {"paths": {key: {"serverRelativeURL": url} for key, url in urls.items()}}

    def serve(self, request: web.Request) -> web.Response | None:
        """The answer for an `/openapi/...` GET, or None when the path is not an OpenAPI one."""
        path = request.path.rstrip("/")
        if request.method != "GET" or not (path == "/openapi/v2" or path.startswith("/openapi/v3")):
            return None
        if not _accepts_json(request.headers.get("Accept")):
            error = errors.ApiError(406, "NotAcceptable", "the emulator serves OpenAPI as application/json only")
            return web.json_response(error.status(), status=406)
        self._refresh()
        if path == "/openapi/v2":
            if self._v2 is None:
                self._v2 = _encode(v2_document(self.catalogue))
            return self._bytes(request, *self._v2)
        if path == "/openapi/v3":
            return web.json_response(self.v3_root())
        key = path.removeprefix("/openapi/v3/")
        if key not in self._v3:
            error = errors.ApiError(404, "NotFound", "the server could not find the requested resource")
            return web.json_response(error.status(), status=404)
        body, etag = self._v3[key]
        wanted = request.query.get("hash")
        if wanted and wanted != etag:
            return web.Response(status=301, headers={"Location": f"/openapi/v3/{key}?hash={etag}"})
        response = self._bytes(request, body, etag)
        if wanted:
            response.headers["Cache-Control"] = "public, immutable"
            response.headers["Vary"] = "Accept"
        return response

    @staticmethod
    def _bytes(request: web.Request, body: bytes, etag: str) -> web.Response:
        quoted = f'"{etag}"'
        if request.headers.get("If-None-Match") == quoted:
            return web.Response(status=304, headers={"ETag": quoted})
        return web.Response(body=body, content_type="application/json", headers={"ETag": quoted})
