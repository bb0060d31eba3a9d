"""What the Git worker edits for one proposal: which object, which field, and an optional pinned digest. Pure.

Built by the check cycle (`cycles.jobs`) from what it resolved and decided, carried in `proposals.worker.Job`,
and applied by `proposals.publishing`. The three shapes:

* HelmRelease `spec.chart.spec.version` (HTTP or OCI HelmRepository): the release's own manifest.
* OCIRepository `spec.ref.tag` or `spec.ref.semver` (HelmRelease `spec.chartRef`): the OCIRepository's manifest;
  when it also pins `spec.ref.digest`, the digest of the new tag is written in the same commit (Flux prefers the
  digest over the tag, so changing only the tag would change nothing in the cluster).
* HelmChart `spec.version` (HelmRelease `spec.chartRef`): the HelmChart's manifest.

`from_spec` rebuilds the plan from a proposal's spec alone, for proposals whose source was not checked in this
cycle; it returns None when that is not safe (an OCIRepository may pin a digest the spec does not record).
"""

from __future__ import annotations

from dataclasses import dataclass

from fluxcd_helm_upgrader.structs import proposals as proposals_

HELM_RELEASE, OCI_REPOSITORY, HELM_CHART = "HelmRelease", "OCIRepository", "HelmChart"
RELEASE_VERSION, OCI_TAG, OCI_SEMVER, OCI_DIGEST, CHART_VERSION = (
    "spec.chart.spec.version",
    "spec.ref.tag",
    "spec.ref.semver",
    "spec.ref.digest",
    "spec.version",
)


@dataclass(frozen=True)
class DigestPin:
    """An OCIRepository's `spec.ref.digest`: what Git holds now and the digest of the target tag."""

    current: str
    target: str


@dataclass(frozen=True)
class EditPlan:
    """The object whose manifest holds the version, the field to set, and a digest to update with it."""

    kind: str  # HelmRelease | OCIRepository | HelmChart
    namespace: str
    name: str
    field: str
    current: str | None  # the field's value in the cluster (None: absent, e.g. "latest" implied)
    target: str  # the new value (the proposal's spec.targetVersion)
    digest: DigestPin | None = None
    kustomization: tuple[str, str] | None = None  # Flux Kustomization that applied the edited object

    def describe(self) -> str:
        pinned = f" and spec.ref.digest {self.digest.target}" if self.digest else ""
        return f"{self.kind} {self.namespace}/{self.name} {self.field} {self.current} -> {self.target}{pinned}"


def from_spec(spec: proposals_.ProposalSpec) -> EditPlan | None:
    """The plan for a proposal spec whose edit does not depend on this cycle's registry answers, else None."""
    current_value = spec.current_version if spec.current_version != "*" else None
    target = spec.target_version
    if not target:
        return None
    source = spec.source
    kind = (source.kind if source else "") or "HelmRepository"
    if kind == "HelmRepository":
        return EditPlan(
            HELM_RELEASE, spec.release_namespace, spec.release_name, RELEASE_VERSION, current_value, target
        )
    if kind == HELM_CHART and source and source.name:
        return EditPlan(HELM_CHART, source.namespace, source.name, CHART_VERSION, current_value, target)
    return None  # OCIRepository: whether a digest is pinned is only known from the cluster
