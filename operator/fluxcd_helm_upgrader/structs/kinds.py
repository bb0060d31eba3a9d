"""API groups, versions and plurals of every kind the operator reads or writes.

One place for these names: handlers, clients, the emulator and the RBAC list all import them.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "helmupgrader.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


@dataclass(frozen=True)
class Kind:
    """A namespaced API kind: group, version, plural and Kind name."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


UPGRADER_CONFIG = Kind(GROUP, VERSION, "upgraderconfigs", "UpgraderConfig")
UPGRADE_PROPOSAL = Kind(GROUP, VERSION, "upgradeproposals", "UpgradeProposal")

HELM_RELEASE = Kind("helm.toolkit.fluxcd.io", "v2", "helmreleases", "HelmRelease")
HELM_REPOSITORY = Kind("source.toolkit.fluxcd.io", "v1", "helmrepositories", "HelmRepository")
OCI_REPOSITORY = Kind("source.toolkit.fluxcd.io", "v1", "ocirepositories", "OCIRepository")
HELM_CHART = Kind("source.toolkit.fluxcd.io", "v1", "helmcharts", "HelmChart")
KUSTOMIZATION = Kind("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", "Kustomization")

FLUX_KINDS = (HELM_RELEASE, HELM_REPOSITORY, OCI_REPOSITORY, HELM_CHART, KUSTOMIZATION)

# Labels that Flux's kustomize-controller sets on every object it applies.
KUSTOMIZE_NAME_LABEL = "kustomize.toolkit.fluxcd.io/name"
KUSTOMIZE_NAMESPACE_LABEL = "kustomize.toolkit.fluxcd.io/namespace"
# The annotation `flux reconcile` sets; we honour it on UpgraderConfigs for an immediate run.
RECONCILE_REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
