"""A read-only view of the Flux objects, built from Kopf's indexes for one cycle.

Handlers pass Kopf's index mappings in; the cycle asks this view questions. Kopf indexes map a key to a store of
values; with (namespace, name) keys there is one value per key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fluxcd_helm_upgrader.structs import flux

T = TypeVar("T")
Key = tuple[str, str]


def _flatten(index: Mapping[Key, Iterable[T]] | None) -> dict[Key, T]:
    result: dict[Key, T] = {}
    for key, store in (index or {}).items():
        for value in store:
            result[key] = value
    return result


@dataclass(frozen=True)
class FluxView:
    """Snapshots of the Flux objects, keyed by (namespace, name)."""

    releases: Mapping[Key, flux.HelmRelease] = field(default_factory=dict)
    helm_repositories: Mapping[Key, flux.HelmRepository] = field(default_factory=dict)
    oci_repositories: Mapping[Key, flux.OCIRepository] = field(default_factory=dict)
    helm_charts: Mapping[Key, flux.HelmChart] = field(default_factory=dict)
    kustomizations: Mapping[Key, flux.Kustomization] = field(default_factory=dict)

    @classmethod
    def from_indexes(cls, **indexes: Any) -> FluxView:
        """Build from Kopf index kwargs named like the index handlers (helmreleases, helmrepositories, ...)."""
        return cls(
            releases=_flatten(indexes.get("helmreleases")),
            helm_repositories=_flatten(indexes.get("helmrepositories")),
            oci_repositories=_flatten(indexes.get("ocirepositories")),
            helm_charts=_flatten(indexes.get("helmcharts")),
            kustomizations=_flatten(indexes.get("kustomizations")),
        )

    def iter_releases(self) -> Iterator[flux.HelmRelease]:
        for key in sorted(self.releases):
            yield self.releases[key]

    def release(self, namespace: str, name: str) -> flux.HelmRelease | None:
        return self.releases.get((namespace, name))

    def kustomization(self, ref: tuple[str, str] | None) -> flux.Kustomization | None:
        return self.kustomizations.get(ref) if ref else None
