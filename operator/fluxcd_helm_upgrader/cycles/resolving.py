"""Resolve a HelmRelease to the chart source that must be checked and the manifest field that holds its version.

Called by `cycles.running` once per release in scope. Pure over the FluxView. The shapes:

* `spec.chart.spec.sourceRef` → HelmRepository: an HTTP index (`HttpChart`) or `type: oci` (`OciChart`, the
  tags of `<url>/<chart>`); the value is the HelmRelease's `spec.chart.spec.version`.
* `spec.chartRef` → OCIRepository (`OciChart` over its `spec.url`): the value is `spec.ref.tag` (exact) or
  `spec.ref.semver` (a range) of the OCIRepository; a pinned `spec.ref.digest` next to a tag travels along so the
  worker can update both. A digest alone is reported as unsupported: there is no version in Git to compare with,
  and a proposal could only rewrite the digest, which reviewers cannot read (add `spec.ref.tag` next to it).
* `spec.chartRef` → HelmChart: its `spec.sourceRef` HelmRepository (HTTP or OCI) and its `spec.chart`; the
  value is the HelmChart's `spec.version`.

The namespace of a reference defaults to the referrer's own, as in Flux. What cannot be resolved is a `Failure`
carrying a reason constant and a message for the config's status.failedReleases. A value in Git longer than
`MAX_VERSION_CHARS` (or holding control characters) is no version or range whatever a parser would say: it is
reported as `InvalidVersion` here, before anything tries to convert it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.proposals import targets
from fluxcd_helm_upgrader.sources import oci_refs
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import flux, urls

LATEST = "latest"  # an OCIRepository without spec.ref follows this tag, as Flux does
MAX_VERSION_CHARS = 256  # longer than any version or range a person writes; longer values are not read


@dataclass(frozen=True)
class Failure:
    """Why one release could not be checked."""

    reason: str
    message: str


@dataclass(frozen=True)
class Origin:
    """What a proposal's spec.source names: the Flux object that holds the version (kind, namespace, name), or
    for a HelmRelease's own version its HelmRepository; `url` is the index or registry URL as `structs.urls.sanitize`
    shows it (no userinfo, no query: Helm accepts credentials there, and this value is stored and rendered)."""

    kind: str  # HelmRepository | OCIRepository | HelmChart
    namespace: str
    name: str
    url: str


@dataclass(frozen=True)
class Edited:
    """The object and field whose manifest line the worker changes."""

    kind: str  # targets.HELM_RELEASE | OCI_REPOSITORY | HELM_CHART
    namespace: str
    name: str
    field: str
    kustomization: tuple[str, str] | None  # the Flux Kustomization that applied it (kustomize labels)


@dataclass(frozen=True)
class HttpChart:
    """A chart in an HTTP Helm repository index; `current` is the value in Git (exact or range)."""

    repository: flux.HelmRepository
    chart: str
    current: str
    origin: Origin
    edited: Edited


@dataclass(frozen=True)
class OciChart:
    """A chart whose versions are the tags of one OCI artifact repository.

    `current` is the value in Git: a chart version (HelmRelease/HelmChart), an OCI tag or a semver range
    (OCIRepository). `secret` is the source's spec.secretRef (namespace, name); `digest` an OCIRepository's pinned
    spec.ref.digest that must follow the tag.
    """

    ref: oci_refs.OciRef
    secret: tuple[str, str] | None
    chart: str
    current: str
    origin: Origin
    edited: Edited
    digest: str | None = None

    @property
    def writes_tag(self) -> bool:
        """True when the value written is an OCI tag (spelled "1.2.3_build"), not a chart version."""
        return self.edited.field == targets.OCI_TAG


Checkable = HttpChart | OciChart
Resolved = Checkable | Failure


def resolve(release: flux.HelmRelease, view: FluxView) -> Resolved:
    """Find what to check for this release."""
    resolved = _resolve(release, view)
    if isinstance(resolved, Failure):
        return resolved
    current = resolved.current
    if len(current) > MAX_VERSION_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in current):
        edited = resolved.edited
        return Failure(
            reasons.INVALID_VERSION,
            f"{release.key}: {edited.kind} {edited.namespace}/{edited.name} {edited.field} is not a version or "
            f"range: it is {len(current)} characters long (at most {MAX_VERSION_CHARS}, no control characters)",
        )
    return resolved


def _resolve(release: flux.HelmRelease, view: FluxView) -> Resolved:
    ref = release.source
    if ref is None:
        return Failure(reasons.SOURCE_NOT_FOUND, f"{release.key}: no spec.chart.spec.sourceRef or spec.chartRef")
    if release.uses_chart_ref:
        if ref.kind == "OCIRepository":
            return _oci_repository(release, ref, view)
        if ref.kind == "HelmChart":
            return _helm_chart(release, ref, view)
        return Failure(reasons.SOURCE_UNSUPPORTED, f"{release.key}: spec.chartRef to a {ref.kind} is not supported")
    if ref.kind != "HelmRepository":
        return Failure(
            reasons.SOURCE_UNSUPPORTED,
            f"{release.key}: charts from a {ref.kind} have no versions to propose (only HelmRepository sources)",
        )
    if not release.chart:
        return Failure(reasons.SOURCE_NOT_FOUND, f"{release.key}: spec.chart.spec.chart is empty")
    edited = Edited(
        targets.HELM_RELEASE, release.namespace, release.name, targets.RELEASE_VERSION, release.kustomization
    )
    return _from_helm_repository(release, ref, release.chart, release.version, edited, None, view)


def _from_helm_repository(
    release: flux.HelmRelease,
    ref: flux.ObjectRef,
    chart: str,
    current: str,
    edited: Edited,
    origin: Origin | None,
    view: FluxView,
) -> Resolved:
    repository = view.helm_repositories.get((ref.namespace, ref.name))
    where = f"HelmRepository {ref.namespace}/{ref.name}"
    if repository is None:
        return Failure(reasons.SOURCE_NOT_FOUND, f"{release.key}: {where} not found")
    origin = origin or Origin("HelmRepository", repository.namespace, repository.name, urls.sanitize(repository.url))
    if repository.type == "oci":
        if repository.provider != "generic":
            return _provider_failure(release, where, repository.provider)
        try:
            oci_ref = oci_refs.chart_ref(repository.url, chart, insecure=repository.insecure)
        except oci_refs.InvalidReference as error:
            return Failure(reasons.SOURCE_UNSUPPORTED, f"{release.key}: {where}: {error}")
        secret = (repository.namespace, repository.secret_name) if repository.secret_name else None
        return OciChart(oci_ref, secret, chart, current, origin, edited)
    if not repository.url.startswith(("http://", "https://")):
        return Failure(reasons.SOURCE_UNSUPPORTED, f"{release.key}: {where} url {repository.url!r} is not http(s)")
    return HttpChart(repository, chart, current, origin, edited)


def _oci_repository(release: flux.HelmRelease, ref: flux.ObjectRef, view: FluxView) -> Resolved:
    source = view.oci_repositories.get((ref.namespace, ref.name))
    where = f"OCIRepository {ref.namespace}/{ref.name}"
    if source is None:
        return Failure(reasons.SOURCE_NOT_FOUND, f"{release.key}: {where} not found")
    if source.provider != "generic":
        return _provider_failure(release, where, source.provider)
    try:
        oci_ref = oci_refs.parse_ref(source.url, insecure=source.insecure)
    except oci_refs.InvalidReference as error:
        return Failure(reasons.SOURCE_UNSUPPORTED, f"{release.key}: {where}: {error}")
    if source.semver:
        field, current = targets.OCI_SEMVER, source.semver  # Flux: semver wins over tag
    elif source.tag:
        field, current = targets.OCI_TAG, source.tag
    elif source.digest:
        return Failure(
            reasons.SOURCE_UNSUPPORTED,
            f"{release.key}: {where} pins only spec.ref.digest, which has no version to compare; "
            "add spec.ref.tag next to the digest to get proposals for both",
        )
    else:
        field, current = targets.OCI_TAG, LATEST
    edited = Edited(targets.OCI_REPOSITORY, source.namespace, source.name, field, source.kustomization)
    origin = Origin("OCIRepository", source.namespace, source.name, urls.sanitize(source.url))
    secret = (source.namespace, source.secret_name) if source.secret_name else None
    chart = oci_ref.repository.rsplit("/", 1)[-1]
    # A digest next to a semver range is not ours to follow: Flux then uses the digest and ignores the range.
    digest = source.digest if field == targets.OCI_TAG else None
    if source.digest and field == targets.OCI_SEMVER:
        return Failure(
            reasons.SOURCE_UNSUPPORTED,
            f"{release.key}: {where} sets both spec.ref.semver and spec.ref.digest; Flux uses the digest, "
            "so there is no range to follow",
        )
    return OciChart(oci_ref, secret, chart, current, origin, edited, digest)


def _helm_chart(release: flux.HelmRelease, ref: flux.ObjectRef, view: FluxView) -> Resolved:
    chart = view.helm_charts.get((ref.namespace, ref.name))
    where = f"HelmChart {ref.namespace}/{ref.name}"
    if chart is None:
        return Failure(reasons.SOURCE_NOT_FOUND, f"{release.key}: {where} not found")
    if chart.source is None or not chart.chart:
        return Failure(reasons.SOURCE_NOT_FOUND, f"{release.key}: {where} has no spec.chart or spec.sourceRef")
    if chart.source.kind != "HelmRepository":
        return Failure(
            reasons.SOURCE_UNSUPPORTED,
            f"{release.key}: {where} takes its chart from a {chart.source.kind}, which has no versions to propose",
        )
    edited = Edited(targets.HELM_CHART, chart.namespace, chart.name, targets.CHART_VERSION, chart.kustomization)
    repository = view.helm_repositories.get((chart.source.namespace, chart.source.name))
    origin = Origin("HelmChart", chart.namespace, chart.name, urls.sanitize(repository.url) if repository else "")
    return _from_helm_repository(release, chart.source, chart.chart, chart.version.strip(), edited, origin, view)


def _provider_failure(release: flux.HelmRelease, where: str, provider: str) -> Failure:
    return Failure(
        reasons.SOURCE_UNSUPPORTED,
        f"{release.key}: {where} uses provider {provider!r}; only 'generic' (secretRef or anonymous) is supported",
    )
