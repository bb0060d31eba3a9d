"""URL parsing for the emulator: which resource, namespace, name and subresource a path names.

`emulator.server` calls `parse()` for every non-discovery path. It follows kube-apiserver's
request-info rules: `/api/v1/...` is the core group, `/apis/{group}/{version}/...` the others,
`namespaces/{ns}/{plural}` selects a namespace, and `/api/v1/namespaces/{name}/status` is the
Namespace's own status subresource rather than a namespaced list of "status".
"""

from __future__ import annotations

from dataclasses import dataclass

from fluxcd_helm_upgrader.testkit.emulator import errors
from fluxcd_helm_upgrader.testkit.emulator.resources import Catalogue, Resource

SUBRESOURCES = ("status",)


@dataclass(frozen=True)
class Target:
    """What a resource URL points at."""

    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def rbac_resource(self) -> str:
        """`helmreleases` or `helmreleases/status`, as RBAC rules spell it."""
        plural = self.resource.plural
        return f"{plural}/{self.subresource}" if self.subresource else plural


def _not_found() -> errors.ApiError:
    return errors.ApiError(404, "NotFound", "the server could not find the requested resource")


def parse(catalogue: Catalogue, path: str) -> Target:
    """Resolve `/api/v1/...` or `/apis/{g}/{v}/...` into a Target; 404 for unknown resources."""
    parts = [part for part in path.strip("/").split("/") if part]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise _not_found()
    namespace = None
    namespace_own_subresource = group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")
    if rest[0] == "namespaces" and len(rest) >= 3 and not namespace_own_subresource:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        raise _not_found()
    resource = catalogue.get(group, version, rest[0])
    if resource is None:
        raise _not_found()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if subresource is not None and not (subresource in SUBRESOURCES and resource.status_subresource):
        raise _not_found()
    if namespace is not None and not resource.namespaced:
        raise _not_found()
    if name is not None and resource.namespaced and namespace is None:
        raise _not_found()
    return Target(resource, namespace, name, subresource)
