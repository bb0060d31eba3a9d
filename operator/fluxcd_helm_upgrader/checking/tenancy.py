"""Flux's multi-tenancy lockdown rules for one UpgraderConfig. Pure.

Called by `cycles.tenancy` at the start of every cycle, by `config` (the spec's `serviceAccountName`) and by
`settings` (UPGRADER_DEFAULT_SERVICE_ACCOUNT). As in Flux's kustomize-controller and helm-controller:

* a config reads its Secrets as `spec.serviceAccountName` of its own namespace, else as the operator-wide default
  account of its own namespace (`--default-service-account`), else as the operator itself (single tenant);
* with `--no-cross-namespace-refs` (UPGRADER_NO_CROSS_NAMESPACE_REFS) a config reaches only its own namespace:
  namespaces its scope names beyond it are reported, `clusterWide` quietly means "its own namespace", and a
  HelmRelease whose chart source (`sourceRef.namespace`, `chartRef.namespace`) is elsewhere is not read;
* which namespaces a SubjectAccessReview has to clear: the listed ones, or for a cluster-wide scope (when the
  account may not list HelmReleases cluster-wide) each namespace that holds a release the operator sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fluxcd_helm_upgrader.structs import flux

# A ServiceAccount name is a DNS-1123 subdomain (lower case, digits, '-', '.'; at most 253 characters).
MAX_ACCOUNT_NAME = 253
_ACCOUNT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def valid_account_name(name: str) -> bool:
    """Whether `name` can name a ServiceAccount (never a username such as system:serviceaccount:ns:name)."""
    return len(name) <= MAX_ACCOUNT_NAME and _ACCOUNT_NAME.match(name) is not None


def account_name(spec_name: str | None, default: str | None) -> str | None:
    """The account a config reads as: its own `serviceAccountName`, else the operator-wide default, else None."""
    return spec_name or default or None


@dataclass(frozen=True)
class Reach:
    """The namespaces a config may cover; `outside` lists those its spec names that it may not (reported)."""

    cluster_wide: bool
    namespaces: tuple[str, ...]
    outside: tuple[str, ...] = ()


def reach(own: str, *, cluster_wide: bool, namespaces: Iterable[str], no_cross_namespace_refs: bool) -> Reach:
    """What the scope of a config in namespace `own` reaches, with or without cross-namespace references."""
    listed = tuple(namespaces)
    if not no_cross_namespace_refs:
        return Reach(cluster_wide, listed)
    if cluster_wide:
        return Reach(False, (own,))
    return Reach(False, tuple(n for n in listed if n == own), tuple(n for n in listed if n != own))


def namespaces_to_review(
    *, cluster_wide: bool, namespaces: Iterable[str], releases: Iterable[flux.HelmRelease]
) -> tuple[str, ...]:
    """The namespaces whose HelmReleases the config's account must be allowed to list, sorted."""
    if cluster_wide:
        return tuple(sorted({release.namespace for release in releases}))
    return tuple(sorted(set(namespaces)))


def cross_namespace_source(release: flux.HelmRelease) -> flux.ObjectRef | None:
    """The release's chart source when it lives in another namespace (HelmRepository, OCIRepository or HelmChart);
    None when it is the release's own namespace's or there is none. A HelmChart's own source is always local."""
    source = release.source
    return source if source is not None and source.namespace != release.namespace else None
