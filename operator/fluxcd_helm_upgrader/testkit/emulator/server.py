"""`ApiEmulator`: a small Kubernetes API server on aiohttp for tests and the offline demo.

Tests and the `demo` command start it on 127.0.0.1 (ephemeral port), register CRDs, point Kopf or
kubernetes_asyncio at it through `write_kubeconfig()`, and assert on `audit` (mutating requests)
and `failures` (answers >= 400). The behaviour lives in the sibling modules: `routing` (URLs),
`store` (objects and write rules), `watching` (streams), `rbac`, `schema`, `patching`. Both logs
are bounded deques: a long request log that is scanned per request made kmock's 1,000 creates
take 84 s.
"""

from __future__ import annotations

import builtins
import collections
import copy
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from fluxcd_helm_upgrader.testkit.emulator import (
    errors,
    negotiation,
    openapi,
    patching,
    rbac,
    routing,
    selectors,
    store,
    tables,
    watching,
)
from fluxcd_helm_upgrader.testkit.emulator.resources import Catalogue, Resource

logger = logging.getLogger(__name__)

MUTATING = ("POST", "PUT", "PATCH", "DELETE")
VERSION_INFO = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-emulator",
    "gitCommit": "emulator",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T00:00:00Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}
HEALTH_PATHS = ("/healthz", "/livez", "/readyz")
CONTENT_JSON = "application/json"
SEEDED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class AuditEntry:
    """One served request: what it targeted and the HTTP status it got."""

    method: str
    path: str
    group: str
    resource: str  # plural, without the subresource
    namespace: str | None
    name: str | None
    subresource: str | None
    status: int


class ApiEmulator:
    """An in-memory Kubernetes API server: discovery, CRUD, patch, watch, status, RBAC."""

    def __init__(
        self,
        *,
        rules: Iterable[Mapping[str, Any]] | None = None,
        user: str = rbac.DEFAULT_USER,
        history: int = 10_000,
        audit_size: int = 10_000,
        bookmark_interval: float = 5.0,
        auto_namespaces: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.catalogue = Catalogue()
        self.store = store.Store(self.catalogue, history=history, auto_namespaces=auto_namespaces)
        self.store.on_crd = self._crd_changed
        self.openapi = openapi.Documents(self.catalogue)
        self.authorizer = rbac.Authorizer(rules, user)
        self.audit: collections.deque[AuditEntry] = collections.deque(maxlen=audit_size)
        self.failures: collections.deque[AuditEntry] = collections.deque(maxlen=audit_size)
        self.request_count = 0
        self.bookmark_interval = bookmark_interval
        self.host = host
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        for namespace in SEEDED_NAMESPACES:
            self.store.create(self.catalogue.find("namespaces"), None, {"metadata": {"name": namespace}})

    # Lifecycle.

    async def start(self) -> str:
        """Listen on host:0 and return the base URL (http://127.0.0.1:PORT)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{port}"
        return self.url

    async def stop(self) -> None:
        """End all watch streams cleanly, then close the listener and connections."""
        self.store.close_subscriptions()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def write_kubeconfig(self, path: Path | str, namespace: str = "default") -> Path:
        """A kubeconfig for this plain-HTTP, no-auth cluster (context `emulator`)."""
        if self.url is None:
            raise RuntimeError("start() the emulator before writing its kubeconfig")
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "emulator",
            "preferences": {},
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {}}],
            "contexts": [
                {
                    "name": "emulator",
                    "context": {"cluster": "emulator", "user": "emulator", "namespace": namespace},
                }
            ],
        }
        target = Path(path)
        target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return target

    # CRDs.

    def register_crd(self, doc: Mapping[str, Any]) -> None:
        """Store an apiextensions.k8s.io/v1 CRD; its kinds appear in discovery and become servable."""
        resource = self.catalogue.find("customresourcedefinitions")
        body = copy.deepcopy(dict(doc))
        name = body.get("metadata", {}).get("name") or (f"{body['spec']['names']['plural']}.{body['spec']['group']}")
        body.setdefault("metadata", {})["name"] = name
        self.store.put(resource, body)

    def register_crds(self, paths: Iterable[Path | str]) -> None:
        """Register every CustomResourceDefinition document in these YAML files or directories."""
        for path in map(Path, paths):
            files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
            for file in files:
                for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")):
                    if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                        self.register_crd(doc)

    def _crd_changed(self, new: dict[str, Any] | None, old: dict[str, Any]) -> None:
        if new is not None:
            self.catalogue.add_crd(new)
            return
        group_plural = (old["spec"]["group"], old["spec"]["names"]["plural"])
        self.store.purge(group_plural)
        self.catalogue.remove_crd(*group_plural)

    # In-process helpers for tests (no HTTP, no RBAC, no audit).

    def resource(self, plural_or_kind: str) -> Resource:
        """A served resource by plural, Kind, short name or `plural.group`."""
        return self.catalogue.find(plural_or_kind)

    def get(self, plural_or_kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return copy.deepcopy(self.store.get(self.resource(plural_or_kind), namespace, name))
        except errors.ApiError:
            return None

    def list(
        self, plural_or_kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        found = self.store.select(self.resource(plural_or_kind), namespace, selectors.label_selector(label_selector))
        return copy.deepcopy(found)

    def tally(
        self, plural_or_kind: str, namespace: str | None, key: Callable[[Mapping[str, Any]], str]
    ) -> collections.Counter[str]:
        """How many objects give each value of `key`, without copying them (`list` copies every object: a probe
        polling 1,000 of them would cost the operator it measures, which runs in the same event loop)."""
        return self.store.tally(self.resource(plural_or_kind), namespace, key)

    def put_object(self, obj: Mapping[str, Any], plural_or_kind: str | None = None) -> dict[str, Any]:
        """Seed an object (status included) as a controller would have written it; returns it stored."""
        resource = self.resource(plural_or_kind or str(obj["kind"]))
        if plural_or_kind is None and "/" in str(obj.get("apiVersion", "")):
            group = str(obj["apiVersion"]).rpartition("/")[0]
            resource = next(r for r in self.catalogue.all() if (r.group, r.kind) == (group, obj["kind"]))
        return copy.deepcopy(self.store.put(resource, dict(obj)))

    def delete_object(self, plural_or_kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        """Delete as `kubectl delete` would (finalizers respected)."""
        return copy.deepcopy(self.store.delete(self.resource(plural_or_kind), namespace, name))

    # HTTP.

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.request_count += 1
        target: routing.Target | None = None
        if request.path in HEALTH_PATHS:
            return web.Response(text="ok")
        try:
            documents = self.openapi.serve(request)
            if documents is not None:
                return documents
            discovery = self._discovery(request)
            if discovery is not None:
                return web.json_response(discovery)
            target = routing.parse(self.catalogue, request.path)
            response = await self._serve(request, target)
        except errors.ApiError as exc:
            response = web.json_response(exc.status(), status=exc.code)
        except Exception as exc:  # a bug in the emulator: answer like an apiserver panic, keep serving
            logger.exception("emulator failed on %s %s", request.method, request.path)
            response = web.json_response(errors.ApiError(500, "InternalError", repr(exc)).status(), status=500)
        self._record(request, target, response.status)
        return response

    def _record(self, request: web.Request, target: routing.Target | None, status: int) -> None:
        if request.method not in MUTATING and status < 400:
            return
        entry = AuditEntry(
            request.method,
            request.path,
            target.resource.group if target else "",
            target.resource.plural if target else "",
            target.namespace if target else None,
            target.name if target else None,
            target.subresource if target else None,
            status,
        )
        if request.method in MUTATING:
            self.audit.append(entry)
        if status >= 400:
            self.failures.append(entry)

    def _discovery(self, request: web.Request) -> dict[str, Any] | None:
        if request.method != "GET":
            return None
        path = request.path.rstrip("/") or "/"
        parts = path.strip("/").split("/")
        if path == "/":
            groups = [f"/apis/{g}/{v}" for g, versions in self.catalogue.groups().items() for v in versions]
            return {
                "paths": [
                    "/api",
                    "/api/v1",
                    "/apis",
                    "/healthz",
                    "/livez",
                    "/readyz",
                    "/version",
                    *[f"/apis/{g}" for g in self.catalogue.groups()],
                    *groups,
                ]
            }
        if path == "/version":
            return dict(VERSION_INFO)
        if path == "/api":
            return self.catalogue.api_versions(f"{self.host}:{(self.url or '').rpartition(':')[2]}")
        if path == "/apis":
            return self.catalogue.api_group_list()
        if parts[0] == "api" and len(parts) == 2:
            return self.catalogue.resource_list("", parts[1])
        if parts[0] == "apis" and len(parts) == 2:
            return self.catalogue.api_group(parts[1])
        if parts[0] == "apis" and len(parts) == 3:
            return self.catalogue.resource_list(parts[1], parts[2])
        return None

    async def _serve(self, request: web.Request, target: routing.Target) -> web.StreamResponse:
        method, query = request.method, request.query
        watch = method == "GET" and watching.is_watch(query.get("watch"))
        verb = rbac.verb_for(method, target.name, watch)
        self.authorizer.check(verb, target.resource.group, target.rbac_resource, target.namespace, target.name)
        if query.get("dryRun"):
            raise errors.bad_request("dryRun is not supported by the API emulator")
        resource, namespace, name = target.resource, target.namespace, target.name
        shown = self._presentation(request, resource) if method == "GET" else None
        if method == "GET" and name is not None and not watch:
            found = self.store.get(resource, namespace, name)
            if shown is not None:
                return web.json_response(shown([found], found["metadata"].get("resourceVersion", "")))
            return web.json_response(found)
        if method == "GET" or (method == "DELETE" and name is None):
            predicate = self._predicate(query, namespace, name, resource)
            if watch:
                return await watching.serve(
                    request, self.store, resource, predicate, self.bookmark_interval, present=shown
                )
            if method == "GET":
                items = self.store.select(resource, namespace, predicate)
            else:
                items = self.store.delete_collection(resource, namespace, predicate)
            if shown is not None:
                return web.json_response(shown(items, str(self.store.rv)))
            return web.json_response(
                {
                    "kind": f"{resource.kind}List",
                    "apiVersion": resource.api_version,
                    "metadata": {"resourceVersion": str(self.store.rv)},
                    "items": items,
                }
            )
        validation = _field_validation(query.get("fieldValidation"), patch=method == "PATCH")
        if method == "POST" and name is None:
            body = await _json_body(request, (CONTENT_JSON,))
            created = self.store.create(resource, namespace, body, validation)
            return _warned(web.json_response(created, status=201), validation)
        if name is None:
            raise errors.method_not_allowed(method)
        if method == "PUT":
            body = await _json_body(request, (CONTENT_JSON,))
            replaced = self.store.replace(resource, namespace, name, body, target.subresource, validation)
            return _warned(web.json_response(replaced), validation)
        if method == "PATCH":
            content_type = request.content_type
            accepted = patching.accepted_types(resource.custom)
            if content_type not in accepted:
                raise errors.unsupported_media_type(content_type, accepted)
            body = await _json_body(request, (content_type,))
            patched = self.store.patch(resource, namespace, name, content_type, body, target.subresource, validation)
            return _warned(web.json_response(patched), validation)
        if method == "DELETE":
            return web.json_response(self.store.delete(resource, namespace, name))
        raise errors.method_not_allowed(method)

    @staticmethod
    def _presentation(request: web.Request, resource: Resource) -> tables.Presenter | None:
        """How GET answers: None for plain objects, else a Table renderer (kubectl's `as=Table`)."""
        choice = negotiation.negotiate(request.headers.get("Accept"))
        if choice.table is None:
            return None
        include = tables.include_object(request.query.get("includeObject"))
        return tables.presenter(resource, choice.table_api_version, include)

    @staticmethod
    def _predicate(
        query: Mapping[str, str], namespace: str | None, name: str | None, resource: Resource
    ) -> selectors.Predicate:
        indexed = selectors.EVENT_FIELDS if (resource.group, resource.kind) == ("", "Event") else None
        checks = [
            selectors.label_selector(query.get("labelSelector")),
            selectors.field_selector(query.get("fieldSelector"), indexed or selectors.METADATA_FIELDS),
        ]
        if namespace is not None:
            checks.append(lambda obj: (obj.get("metadata") or {}).get("namespace") == namespace)
        if name is not None:  # the legacy single-object watch: /…/plural/name?watch=true
            checks.append(lambda obj: (obj.get("metadata") or {}).get("name") == name)
        return selectors.both(*checks)


def _field_validation(raw: str | None, *, patch: bool) -> store.FieldValidation:
    """`?fieldValidation=`: Ignore, Warn (the default when absent) or Strict; anything else is a 400."""
    directive = raw or "Warn"
    if directive not in ("Ignore", "Warn", "Strict"):
        raise errors.bad_request(
            f'fieldValidation: Unsupported value: "{directive}": supported values: "Ignore", "Strict", "Warn"'
        )
    return store.FieldValidation(directive, patch=patch)


def _warned(response: web.Response, validation: store.FieldValidation) -> web.Response:
    """One `Warning: 299 - "..."` header per warning, as kube-apiserver sends them (kubectl prints each)."""
    for warning in validation.warnings:
        response.headers.add("Warning", f"299 - {json.dumps(warning)}")
    return response


async def _json_body(request: web.Request, accepted: tuple[str, ...]) -> Any:
    content_type = request.content_type
    if request.can_read_body and content_type not in accepted and content_type != "application/octet-stream":
        raise errors.unsupported_media_type(content_type, list(accepted))
    raw = await request.read()
    try:
        return json.loads(raw) if raw else None
    except ValueError as exc:
        raise errors.bad_request(f"the body of the request could not be decoded as JSON: {exc}") from None
