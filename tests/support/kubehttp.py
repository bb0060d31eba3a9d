"""A small synchronous Kubernetes API client for tests: what `kubectl get/apply/delete` do, from a kubeconfig.

Used by `tests.support.apiserver` to drive a real kube-apiserver with the same helpers the emulator's
`LocalCluster` gives tests (apply, get, list, delete). Synchronous on purpose: tests call these helpers from
inside their async bodies, and the API server is another process, so a blocking call of a few milliseconds
never deadlocks the operator that runs in the test's event loop.

Speaks plain JSON over one kept-alive HTTPS connection; authenticates with the kubeconfig's client
certificate or bearer token. Resources are found through discovery (`plural`, `Kind` or short name).
"""

from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import ssl
import tempfile
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MERGE_PATCH = "application/merge-patch+json"


class ApiError(Exception):
    """An answer >= 400; `status` is the HTTP status, the message is the server's own."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    subresources: frozenset[str]
    short_names: tuple[str, ...] = ()
    verbs: frozenset[str] = frozenset()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [root]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{urllib.parse.quote(namespace)}")
        parts.append(self.plural)
        if name:
            parts.append(urllib.parse.quote(name))
        if subresource:
            parts.append(subresource)
        return "/".join(parts)


class KubeHttp:
    """One user's connection to one API server, from a kubeconfig file (its current context)."""

    def __init__(self, kubeconfig: Path | str, timeout: float = 30.0) -> None:
        config = yaml.safe_load(Path(kubeconfig).read_text(encoding="utf-8"))
        context_name = config["current-context"]
        context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        url = urllib.parse.urlsplit(cluster["server"])
        self.server = cluster["server"]
        self._host, self._port = url.hostname or "127.0.0.1", url.port or 443
        self._timeout = timeout
        self._headers: dict[str, str] = {}
        if user.get("token"):
            self._headers["Authorization"] = f"Bearer {user['token']}"
        self._context = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
        if user.get("client-certificate-data"):
            # ssl wants files for the client pair; they live for this object's lifetime in a private dir.
            self._keys = tempfile.TemporaryDirectory(prefix="kubehttp-")
            cert, key = Path(self._keys.name) / "client.crt", Path(self._keys.name) / "client.key"
            cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.touch(mode=0o600)
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            self._context.load_cert_chain(cert, key)
        self._connection: http.client.HTTPSConnection | None = None
        self._resources: dict[str, Resource] | None = None

    # Transport.

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One call; the decoded JSON answer. Raises `ApiError` for answers >= 400."""
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        payload = None if body is None else json.dumps(body).encode()
        headers = {**self._headers, "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):  # a kept-alive connection the server closed is retried once on a fresh one
            connection = self._connect()
            try:
                connection.request(method, target, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError, ssl.SSLError, OSError):
                self.close()
                if attempt == 2:
                    raise
        decoded = json.loads(data) if data else None
        if response.status >= 400:
            message = decoded.get("message") if isinstance(decoded, dict) else data.decode(errors="replace")
            raise ApiError(response.status, str(message), decoded)
        return decoded

    def _connect(self) -> http.client.HTTPSConnection:
        if self._connection is None:
            self._connection = http.client.HTTPSConnection(
                self._host, self._port, context=self._context, timeout=self._timeout
            )
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # Discovery.

    def resources(self, refresh: bool = False) -> dict[str, Resource]:
        """Every served resource by plural, `plural.group`, Kind and short name (preferred versions)."""
        if self._resources is None or refresh:
            found: dict[str, Resource] = {}
            groups = [("", "v1", "/api/v1")]
            for group in self.request("GET", "/apis")["groups"]:
                preferred = group["preferredVersion"]["version"]
                groups.append((group["name"], preferred, f"/apis/{group['name']}/{preferred}"))
            for group_name, version, path in groups:
                self._add_group(found, group_name, version, path)
            self._resources = found
        return self._resources

    def _add_group(self, found: dict[str, Resource], group: str, version: str, path: str) -> None:
        listing = self.request("GET", path)["resources"]
        subresources: dict[str, set[str]] = {}
        for item in listing:
            if "/" in item["name"]:
                plural, sub = item["name"].split("/", 1)
                subresources.setdefault(plural, set()).add(sub)
        for item in listing:
            if "/" in item["name"]:
                continue
            resource = Resource(
                group=group,
                version=version,
                plural=item["name"],
                kind=item["kind"],
                namespaced=bool(item["namespaced"]),
                subresources=frozenset(subresources.get(item["name"], ())),
                short_names=tuple(item.get("shortNames") or ()),
                verbs=frozenset(item.get("verbs") or ()),
            )
            # The core group wins a plural shared with another group (events, in events.k8s.io too).
            for key in (resource.plural, resource.kind, *resource.short_names):
                if group == "" or key not in found:
                    found[key] = resource
            found[f"{resource.plural}.{group}" if group else resource.plural] = resource

    def resource(self, plural_or_kind: str) -> Resource:
        resources = self.resources()
        if plural_or_kind not in resources:
            resources = self.resources(refresh=True)  # a CRD applied since the last discovery
        try:
            return resources[plural_or_kind]
        except KeyError:
            raise KeyError(f"the API server serves no resource {plural_or_kind!r}") from None

    def resource_of(self, body: Mapping[str, Any]) -> Resource:
        api_version, kind = str(body["apiVersion"]), str(body["kind"])
        group, _, version = api_version.rpartition("/")
        for resource in (self.resources(), self.resources(refresh=True)):
            match = [r for r in resource.values() if (r.group, r.kind) == (group, kind)]
            if match:
                return dataclasses.replace(match[0], version=version)
        raise KeyError(f"the API server serves no {kind} in {api_version}")

    # Objects.

    def get(self, plural_or_kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self._get_at(self.resource(plural_or_kind), namespace, name)

    def _get_at(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.request("GET", resource.path(namespace, name))
            return found
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def list(self, plural_or_kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        resource = self.resource(plural_or_kind)
        answer = self.request("GET", resource.path(namespace))
        items: list[dict[str, Any]] = answer.get("items") or []
        for item in items:  # a list's items carry no apiVersion/kind; objects from `get` do
            item.setdefault("apiVersion", resource.api_version)
            item.setdefault("kind", resource.kind)
        return items

    def ensure_namespace(self, namespace: str) -> None:
        try:
            self.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
        except ApiError as error:
            if error.status != 409:
                raise

    def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace `body` (status included, through /status) like a controller would have left it."""
        resource = self.resource_of(body)
        meta = dict(body.get("metadata") or {})
        namespace, name = meta.get("namespace"), str(meta["name"])
        if resource.namespaced and namespace:
            self.ensure_namespace(str(namespace))
        wanted = {k: v for k, v in body.items() if k != "status"}
        for _ in range(10):  # a conflict means someone (the operator) wrote in between: read again, replace again
            current = self._get_at(resource, namespace, name)
            try:
                if current is None:
                    meta.pop("resourceVersion", None)
                    stored = self.request("POST", resource.path(namespace), {**wanted, "metadata": meta})
                else:
                    meta["resourceVersion"] = current["metadata"]["resourceVersion"]
                    stored = self.request("PUT", resource.path(namespace, name), {**wanted, "metadata": meta})
                if "status" in body and "status" in resource.subresources:
                    stored["status"] = body["status"]
                    stored = self.request("PUT", resource.path(namespace, name, "status"), stored)
                result: dict[str, Any] = stored
                return result
            except ApiError as error:
                if error.status != 409 or current is None:
                    raise
                time.sleep(0.05)
        raise AssertionError(f"could not replace {resource.kind} {namespace}/{name}: conflicts kept coming")

    def delete(self, plural_or_kind: str, namespace: str | None, name: str) -> None:
        try:
            self.request("DELETE", self.resource(plural_or_kind).path(namespace, name))
        except ApiError as error:
            if error.status != 404:
                raise

    def patch(self, plural_or_kind: str, namespace: str | None, name: str, patch: Mapping[str, Any]) -> Any:
        return self.request(
            "PATCH", self.resource(plural_or_kind).path(namespace, name), patch, content_type=MERGE_PATCH
        )
