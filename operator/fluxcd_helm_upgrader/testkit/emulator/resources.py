"""The resource catalogue of the API emulator: built-in kinds, CRD-defined kinds, discovery documents.

`emulator.server` asks `Catalogue` which resource a URL names and renders discovery (`/api`,
`/apis`, `/apis/{group}/{version}`) from it; `emulator.store` reads each resource's scope, status
subresource and schema. Built-ins are the few core kinds Kopf and the operator touch (namespaces,
secrets, configmaps, events, serviceaccounts, leases, CRDs themselves). CRDs come from
apiextensions.k8s.io/v1 documents, as `kubectl apply -f crd.yaml` would register them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fluxcd_helm_upgrader.testkit.emulator import errors

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")
CRD_GROUP = "apiextensions.k8s.io"


@dataclass(frozen=True)
class Resource:
    """One served group/version/plural with what discovery and the store need to know about it."""

    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    # Custom resources carry metadata.generation; most built-ins (configmaps, secrets) do not.
    custom: bool = False
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    # The CRD version's additionalPrinterColumns (emulator.tables); empty for built-ins.
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_plural(self) -> tuple[str, str]:
        """Storage key: every served version of a kind shares one set of objects."""
        return (self.group, self.plural)

    def discovery(self) -> list[dict[str, Any]]:
        """The APIResource entries for this resource and its subresources."""
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(ALL_VERBS),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        if self.status_subresource:
            entries.append(
                {
                    "name": f"{self.plural}/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": list(SUBRESOURCE_VERBS),
                }
            )
        return entries


def _builtin(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool = True,
    short_names: tuple[str, ...] = (),
    status: bool = False,
) -> Resource:
    return Resource(group, version, plural, kind, kind.lower(), namespaced, short_names, (), status)


BUILTINS: tuple[Resource, ...] = (
    _builtin("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",), status=True),
    _builtin("", "v1", "secrets", "Secret"),
    _builtin("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    _builtin("", "v1", "events", "Event", short_names=("ev",)),
    _builtin("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    _builtin("events.k8s.io", "v1", "events", "Event", short_names=("ev",)),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease"),
    _builtin(
        CRD_GROUP,
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short_names=("crd", "crds"),
        status=True,
    ),
)

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key giving Kubernetes' version order: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > others."""
    match = _VERSION_RE.match(version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = match.groups()
    stage_rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (stage_rank, -int(major), -int(minor or 0), version)


def resources_from_crd(doc: dict[str, Any]) -> list[Resource]:
    """One `Resource` per served version of an apiextensions.k8s.io/v1 CustomResourceDefinition."""
    spec = doc.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    if not (group and plural and kind and spec.get("versions")):
        raise errors.bad_request("CustomResourceDefinition needs spec.group, spec.names.plural/kind, spec.versions")
    result = []
    for index, version in enumerate(spec["versions"]):
        schema = (version.get("schema") or spec.get("validation") or {}).get("openAPIV3Schema")
        _check_metadata_schema(f"{plural}.{group}", index, schema)
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or spec.get("subresources") or {}
        result.append(
            Resource(
                group=group,
                version=version["name"],
                plural=plural,
                kind=kind,
                singular=names.get("singular") or kind.lower(),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status_subresource="status" in subresources,
                custom=True,
                schema=schema,
                printer_columns=tuple(
                    version.get("additionalPrinterColumns") or spec.get("additionalPrinterColumns") or ()
                ),
            )
        )
    return result


def _check_metadata_schema(name: str, index: int, schema: Any) -> None:
    """kube-apiserver refuses a CRD whose root schema says anything about `metadata` beyond its type and the
    `name`/`generateName` properties: the server owns ObjectMeta (a description there is refused too)."""
    metadata = ((schema or {}).get("properties") or {}).get("metadata")
    if not isinstance(metadata, dict):
        return
    extra = set(metadata) - {"type", "properties"} or set(metadata.get("properties") or {}) - {"name", "generateName"}
    if extra:
        raise errors.invalid(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            name,
            [(f"spec.versions[{index}].schema.openAPIV3Schema.properties[metadata]",
              "Forbidden: must not specify anything other than name and generateName, "
              "but metadata is implicitly specified")],
        )  # fmt: skip


class Catalogue:
    """All served resources, indexed for URL routing and in-process lookups by plural or kind."""

    def __init__(self, resources: Iterable[Resource] = BUILTINS) -> None:
        self._by_gvp: dict[tuple[str, str, str], Resource] = {}
        self.generation = 0  # bumped on every change, so derived documents (OpenAPI) know when to rebuild
        for resource in resources:
            self.add(resource)

    def add(self, resource: Resource) -> None:
        self._by_gvp[(resource.group, resource.version, resource.plural)] = resource
        self.generation += 1

    def add_crd(self, doc: dict[str, Any]) -> list[Resource]:
        """Register (or re-register) every served version of a CRD; old versions it dropped vanish."""
        served = resources_from_crd(doc)
        group, plural = doc["spec"]["group"], doc["spec"]["names"]["plural"]
        for key in [k for k in self._by_gvp if (k[0], k[2]) == (group, plural)]:
            del self._by_gvp[key]
        for resource in served:
            self.add(resource)
        return served

    def remove_crd(self, group: str, plural: str) -> None:
        for key in [k for k in self._by_gvp if (k[0], k[2]) == (group, plural)]:
            del self._by_gvp[key]
        self.generation += 1

    def get(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_gvp.get((group, version, plural))

    def all(self) -> list[Resource]:
        return list(self._by_gvp.values())

    def find(self, name: str) -> Resource:
        """A resource by plural, `plural.group`, Kind, or short name; the preferred version wins."""
        matches = [
            r
            for r in self._by_gvp.values()
            if name in (r.plural, r.kind, r.singular, f"{r.plural}.{r.group}", *r.short_names)
        ]
        if not matches:
            raise KeyError(f"unknown resource {name!r}")
        # Prefer the core group (`events` means v1 events) and then the preferred version.
        matches.sort(key=lambda r: (r.group != "", r.group, version_priority(r.version)))
        return matches[0]

    def is_namespaced_plural(self, group: str, version: str, plural: str) -> bool:
        resource = self.get(group, version, plural)
        return resource is not None and resource.namespaced

    def groups(self) -> dict[str, list[str]]:
        """Non-core groups and their versions, each list in Kubernetes' priority order."""
        result: dict[str, set[str]] = {}
        for resource in self._by_gvp.values():
            if resource.group:
                result.setdefault(resource.group, set()).add(resource.version)
        return {group: sorted(versions, key=version_priority) for group, versions in sorted(result.items())}

    # Discovery documents, shaped like kube-apiserver's (non-aggregated) JSON discovery.

    def api_versions(self, server_address: str) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        }

    def api_group_list(self) -> dict[str, Any]:
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [self._api_group(group, versions) for group, versions in self.groups().items()],
        }

    def api_group(self, group: str) -> dict[str, Any]:
        versions = self.groups().get(group)
        if not versions:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        return {"kind": "APIGroup", "apiVersion": "v1", **self._api_group(group, versions)}

    @staticmethod
    def _api_group(group: str, versions: list[str]) -> dict[str, Any]:
        entries = [{"groupVersion": f"{group}/{version}", "version": version} for version in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def resource_list(self, group: str, version: str) -> dict[str, Any]:
        served = sorted(
            (r for r in self._by_gvp.values() if (r.group, r.version) == (group, version)),
            key=lambda r: r.plural,
        )
        if not served:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [entry for resource in served for entry in resource.discovery()],
        }
