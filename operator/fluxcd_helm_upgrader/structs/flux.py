"""Plain, frozen snapshots of the Flux objects the operator observes.

The Kopf index handlers turn each watched body into one of these (pure functions, no I/O), so the check cycle
works on immutable values instead of live Kopf bodies. Only the fields the operator reads are kept.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fluxcd_helm_upgrader.structs import kinds


@dataclass(frozen=True)
class ObjectRef:
    """A reference to a namespaced object by kind, namespace and name."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class HelmRelease:
    """What the operator needs of a helm.toolkit.fluxcd.io/v2 HelmRelease."""

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    chart: str | None = None  # spec.chart.spec.chart
    version: str = ""  # spec.chart.spec.version; "" means "latest" as in Flux
    source: ObjectRef | None = None  # spec.chart.spec.sourceRef or spec.chartRef, namespace defaulted
    uses_chart_ref: bool = False  # True when the chart comes from spec.chartRef
    deployed_version: str | None = None  # status.history[0].chartVersion or lastAttemptedRevision
    kustomization: tuple[str, str] | None = None  # (namespace, name) from kustomize-controller labels
    values: Mapping[str, Any] = field(default_factory=dict)  # spec.values (the upgrade risk compares them)
    values_from: bool = False  # spec.valuesFrom is set (not read: it names ConfigMaps and Secrets)
    upgrade_crds: str = "Skip"  # spec.upgrade.crds: what helm-controller does with crds/ on upgrade

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class HelmRepository:
    """A source.toolkit.fluxcd.io/v1 HelmRepository (type default = HTTP index, oci = registry)."""

    namespace: str
    name: str
    url: str
    type: str = "default"
    secret_name: str | None = None
    cert_secret_name: str | None = None
    pass_credentials: bool = False
    insecure: bool = False
    provider: str = "generic"


@dataclass(frozen=True)
class OCIRepository:
    """A source.toolkit.fluxcd.io/v1 OCIRepository used as a HelmRelease chartRef."""

    namespace: str
    name: str
    url: str
    tag: str | None = None
    semver: str | None = None
    digest: str | None = None
    secret_name: str | None = None
    insecure: bool = False
    provider: str = "generic"
    kustomization: tuple[str, str] | None = None  # (namespace, name) from kustomize-controller labels


@dataclass(frozen=True)
class HelmChart:
    """A source.toolkit.fluxcd.io/v1 HelmChart used as a HelmRelease chartRef."""

    namespace: str
    name: str
    chart: str
    version: str
    source: ObjectRef | None
    kustomization: tuple[str, str] | None = None  # (namespace, name) from kustomize-controller labels


@dataclass(frozen=True)
class Kustomization:
    """A kustomize.toolkit.fluxcd.io/v1 Kustomization: where in Git its objects come from."""

    namespace: str
    name: str
    path: str
    source: ObjectRef | None


def _meta(body: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]]:
    meta = body.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or ""), meta


def _ref(
    ref: Any, default_namespace: str, default_kind: str | None = None, *, local: bool = False
) -> ObjectRef | None:
    """A reference; `local` ones (Flux's LocalHelmChartSourceReference) have no namespace: always the object's."""
    if not isinstance(ref, Mapping) or not ref.get("name"):
        return None
    kind = ref.get("kind") or default_kind
    if not kind:
        return None
    namespace = default_namespace if local else str(ref.get("namespace") or default_namespace)
    return ObjectRef(str(kind), namespace, str(ref["name"]))


def _secret(spec: Mapping[str, Any], key: str) -> str | None:
    ref = spec.get(key)
    return str(ref["name"]) if isinstance(ref, Mapping) and ref.get("name") else None


def helm_release(body: Mapping[str, Any]) -> HelmRelease:
    """Snapshot a HelmRelease body. Flux defaults the source namespace to the release's namespace."""
    namespace, name, meta = _meta(body)
    spec = body.get("spec") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    chart_spec = (spec.get("chart") or {}).get("spec") or {}
    chart_ref = spec.get("chartRef")
    source = (
        _ref(chart_ref, namespace) if isinstance(chart_ref, Mapping) else _ref(chart_spec.get("sourceRef"), namespace)
    )
    return HelmRelease(
        namespace=namespace,
        name=name,
        labels=labels,
        chart=str(chart_spec["chart"]) if chart_spec.get("chart") else None,
        version=str(chart_spec.get("version") or "").strip(),
        source=source,
        uses_chart_ref=isinstance(chart_ref, Mapping),
        deployed_version=_deployed_version(body.get("status") or {}),
        kustomization=_kustomization(meta, namespace),
        values=copy.deepcopy(dict(spec["values"])) if isinstance(spec.get("values"), Mapping) else {},
        values_from=bool(spec.get("valuesFrom")),
        upgrade_crds=str((spec.get("upgrade") or {}).get("crds") or "Skip"),
    )


def _kustomization(meta: Mapping[str, Any], namespace: str) -> tuple[str, str] | None:
    """The Flux Kustomization that applied an object, from kustomize-controller's labels."""
    labels = meta.get("labels") or {}
    name = labels.get(kinds.KUSTOMIZE_NAME_LABEL)
    if not name:
        return None
    return (str(labels.get(kinds.KUSTOMIZE_NAMESPACE_LABEL) or namespace), str(name))


def _deployed_version(status: Mapping[str, Any]) -> str | None:
    history = status.get("history")
    latest = history[0] if isinstance(history, list) and history else None
    if isinstance(latest, Mapping) and latest.get("status", "deployed") == "deployed" and latest.get("chartVersion"):
        return str(latest["chartVersion"])
    revision = status.get("lastAttemptedRevision")
    return str(revision) if revision else None


def helm_repository(body: Mapping[str, Any]) -> HelmRepository:
    namespace, name, _ = _meta(body)
    spec = body.get("spec") or {}
    return HelmRepository(
        namespace=namespace,
        name=name,
        url=str(spec.get("url") or ""),
        type=str(spec.get("type") or "default"),
        secret_name=_secret(spec, "secretRef"),
        cert_secret_name=_secret(spec, "certSecretRef"),
        pass_credentials=bool(spec.get("passCredentials")),
        insecure=bool(spec.get("insecure")),
        provider=str(spec.get("provider") or "generic"),
    )


def oci_repository(body: Mapping[str, Any]) -> OCIRepository:
    namespace, name, meta = _meta(body)
    spec = body.get("spec") or {}
    ref = spec.get("ref") or {}
    return OCIRepository(
        namespace=namespace,
        name=name,
        url=str(spec.get("url") or ""),
        tag=ref.get("tag"),
        semver=ref.get("semver"),
        digest=ref.get("digest"),
        secret_name=_secret(spec, "secretRef"),
        insecure=bool(spec.get("insecure")),
        provider=str(spec.get("provider") or "generic"),
        kustomization=_kustomization(meta, namespace),
    )


def helm_chart(body: Mapping[str, Any]) -> HelmChart:
    namespace, name, meta = _meta(body)
    spec = body.get("spec") or {}
    return HelmChart(
        namespace=namespace,
        name=name,
        chart=str(spec.get("chart") or ""),
        version=str(spec.get("version") or ""),
        source=_ref(spec.get("sourceRef"), namespace, local=True),  # a HelmChart's source is in its namespace
        kustomization=_kustomization(meta, namespace),
    )


def kustomization(body: Mapping[str, Any]) -> Kustomization:
    namespace, name, _ = _meta(body)
    spec = body.get("spec") or {}
    return Kustomization(
        namespace=namespace,
        name=name,
        path=str(spec.get("path") or "./"),
        source=_ref(spec.get("sourceRef"), namespace),
    )
