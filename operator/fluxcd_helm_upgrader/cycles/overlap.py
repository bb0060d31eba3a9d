"""Overlapping UpgraderConfigs in one namespace: which config keeps a release both cover. Pure.

Proposals are named after their release (`proposals.naming`), one per release and namespace, so two configs in one
namespace cannot both propose for the same release (and two PRs for one release would be worse). The rule: the
older config keeps it, older meaning the earlier `metadata.creationTimestamp`, then the name. The newer config
reports each such release in status.failedReleases (reason ScopeOverlap, naming the older config) and its Ready
condition is False with reason ScopeOverlap; it still checks every other release. A config whose spec does not
parse covers nothing. A suspended config still keeps its releases (its proposals and PRs stay).

`Peer`s come from a Kopf index over UpgraderConfigs (`handlers.configs`), so finding them costs no API call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.checking import scope
from fluxcd_helm_upgrader.structs import flux


@dataclass(frozen=True)
class Peer:
    """One UpgraderConfig as the overlap rule sees it; `scope` is None when its spec does not parse."""

    namespace: str
    name: str
    uid: str
    created: str
    scope: config_.ScopeSpec | None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def order(self) -> tuple[str, str]:
        return (self.created, self.name)


def peer_of(body: Mapping[str, Any]) -> Peer:
    meta = body.get("metadata") or {}
    try:
        spec_scope: config_.ScopeSpec | None = config_.parse(body.get("spec") or {}).scope
    except config_.ConfigError:
        spec_scope = None
    return Peer(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        uid=str(meta.get("uid") or ""),
        created=str(meta.get("creationTimestamp") or ""),
        scope=spec_scope,
    )


def _covers(spec: config_.ScopeSpec, release: flux.HelmRelease) -> bool:
    return scope.in_scope(
        release.namespace,
        release.labels,
        cluster_wide=spec.cluster_wide,
        namespaces=spec.namespaces,
        selector=spec.selector,
    )


def yielded(me: Peer, peers: Iterable[Peer], releases: Iterable[flux.HelmRelease]) -> dict[str, str]:
    """For each of `releases` (those in `me`'s scope): release key -> "namespace/name" of the oldest other config of
    `me`'s namespace, older than `me`, that covers it too. Releases no older config covers are not in the result."""
    older = sorted(
        (p for p in peers if p.namespace == me.namespace and p.uid != me.uid and p.scope is not None
         and p.order < me.order),
        key=lambda p: p.order,
    )  # fmt: skip
    result: dict[str, str] = {}
    for release in releases:
        holder = next((p for p in older if p.scope is not None and _covers(p.scope, release)), None)
        if holder is not None:
            result[release.key] = holder.key
    return result
