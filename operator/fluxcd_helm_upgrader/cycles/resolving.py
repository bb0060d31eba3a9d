"""Resolve a HelmRelease to the chart source that must be checked. Pure over the FluxView.

`spec.chart.spec.sourceRef` → HelmRepository (HTTP index or `type: oci`); `spec.chartRef` → OCIRepository or
HelmChart. The namespace of a reference defaults to the release's own, as in Flux. What cannot be resolved is a
`Failure` carrying a reason constant and a message for the config's status.failedReleases.
"""

from __future__ import annotations

from dataclasses import dataclass

from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import flux


@dataclass(frozen=True)
class Failure:
    """Why one release could not be checked."""

    reason: str
    message: str


@dataclass(frozen=True)
class HttpChart:
    """A chart in an HTTP Helm repository index; `current` is the value in Git (exact or range)."""

    repository: flux.HelmRepository
    chart: str
    current: str


Resolved = HttpChart | Failure


def resolve(release: flux.HelmRelease, view: FluxView) -> Resolved:
    """Find what to check for this release."""
    ref = release.source
    if ref is None:
        return Failure(reasons.SOURCE_NOT_FOUND, f"{release.key}: no spec.chart.spec.sourceRef or spec.chartRef")
    if release.uses_chart_ref:
        return Failure(
            reasons.SOURCE_UNSUPPORTED,
            f"{release.key}: spec.chartRef to {ref.kind} {ref.namespace}/{ref.name} is not checked yet",
        )
    if ref.kind != "HelmRepository":
        return Failure(
            reasons.SOURCE_UNSUPPORTED,
            f"{release.key}: charts from a {ref.kind} have no versions to propose (only HelmRepository sources)",
        )
    repository = view.helm_repositories.get((ref.namespace, ref.name))
    if repository is None:
        return Failure(reasons.SOURCE_NOT_FOUND, f"{release.key}: HelmRepository {ref.namespace}/{ref.name} not found")
    if not release.chart:
        return Failure(reasons.SOURCE_NOT_FOUND, f"{release.key}: spec.chart.spec.chart is empty")
    if repository.type == "oci":
        return Failure(
            reasons.SOURCE_UNSUPPORTED,
            f"{release.key}: OCI HelmRepository {ref.namespace}/{ref.name} is not checked yet",
        )
    if not repository.url.startswith(("http://", "https://")):
        return Failure(
            reasons.SOURCE_UNSUPPORTED,
            f"{release.key}: HelmRepository {ref.namespace}/{ref.name} url {repository.url!r} is not http(s)",
        )
    return HttpChart(repository=repository, chart=release.chart, current=release.version)
