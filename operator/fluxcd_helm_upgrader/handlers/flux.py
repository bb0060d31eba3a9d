"""Kopf indexes over the Flux objects the operator reads: the in-memory view of the cluster.

Index handlers only read: they never add finalizers or annotations, never patch, never set timers on Flux objects
(a test checks the emulator's audit log for that). Kopf fills every index before any timer runs, so the first
check cycle sees the whole fleet. Each handler returns a frozen snapshot keyed by (namespace, name).
"""

from __future__ import annotations

from typing import Any

import kopf

from fluxcd_helm_upgrader.handlers import ids
from fluxcd_helm_upgrader.structs import flux, kinds

Key = tuple[str, str]


def _kind(kind: kinds.Kind) -> tuple[str, str, str]:
    return kind.group, kind.version, kind.plural


@kopf.index(*_kind(kinds.HELM_RELEASE), id=ids.INDEX_HELMRELEASES)
def helmreleases(body: kopf.Body, **_: Any) -> dict[Key, flux.HelmRelease]:
    """Every HelmRelease the operator may see, as a snapshot."""
    snapshot = flux.helm_release(body)
    return {(snapshot.namespace, snapshot.name): snapshot}


@kopf.index(*_kind(kinds.HELM_REPOSITORY), id=ids.INDEX_HELMREPOSITORIES)
def helmrepositories(body: kopf.Body, **_: Any) -> dict[Key, flux.HelmRepository]:
    """Every HelmRepository (HTTP and OCI)."""
    snapshot = flux.helm_repository(body)
    return {(snapshot.namespace, snapshot.name): snapshot}


@kopf.index(*_kind(kinds.OCI_REPOSITORY), id=ids.INDEX_OCIREPOSITORIES)
def ocirepositories(body: kopf.Body, **_: Any) -> dict[Key, flux.OCIRepository]:
    """Every OCIRepository (HelmRelease spec.chartRef targets)."""
    snapshot = flux.oci_repository(body)
    return {(snapshot.namespace, snapshot.name): snapshot}


@kopf.index(*_kind(kinds.HELM_CHART), id=ids.INDEX_HELMCHARTS)
def helmcharts(body: kopf.Body, **_: Any) -> dict[Key, flux.HelmChart]:
    """Every HelmChart (HelmRelease spec.chartRef targets)."""
    snapshot = flux.helm_chart(body)
    return {(snapshot.namespace, snapshot.name): snapshot}


@kopf.index(*_kind(kinds.KUSTOMIZATION), id=ids.INDEX_KUSTOMIZATIONS)
def kustomizations(body: kopf.Body, **_: Any) -> dict[Key, flux.Kustomization]:
    """Every Flux Kustomization: tells which Git path produced a HelmRelease."""
    snapshot = flux.kustomization(body)
    return {(snapshot.namespace, snapshot.name): snapshot}
