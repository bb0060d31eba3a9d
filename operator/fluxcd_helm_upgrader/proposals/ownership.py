"""Whose proposal is this, and may the operator act on it? Pure.

Anyone who may create UpgradeProposals in a config's namespace could otherwise make the Git worker push a branch
and open a PR with any target. So the operator acts only on proposals that:

1. are owned by the config: an ownerReference of kind UpgraderConfig whose uid is the config's uid (a name alone,
   or a uid of a deleted config, is not enough);
2. name a release in the config's current scope (`checking.scope`, with the release's labels when the cluster
   has it, its namespace alone otherwise);
3. carry the target the config's last check of that release decided (checked by `cycles.jobs` and again by the
   worker: a target the check did not allow is never written).

What claims the config (its label or spec.configRef) without being owned by it is `UNOWNED`: reported as phase
Failed, reason NotOwned, and otherwise left alone. A proposal owned by another UpgraderConfig is that config's
(`OTHER_CONFIG`): never touched; when this config would need the same name, the release is reported instead
(ScopeOverlap). Called by `cycles.syncing` (each cycle) and `proposals.processing` (before any Git work).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.checking import scope
from fluxcd_helm_upgrader.proposals import naming
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import flux, kinds
from fluxcd_helm_upgrader.structs import proposals as proposals_


class Standing(enum.Enum):
    OWNED = "owned"  # ours: act on it
    UNOWNED = "unowned"  # claims us, not owned by us: report NotOwned, never act
    OTHER_CONFIG = "other-config"  # another UpgraderConfig's: not ours to judge
    UNRELATED = "unrelated"  # neither claims nor belongs to us


@dataclass(frozen=True)
class Config:
    """The config a proposal is judged against: namespace, name and uid from its metadata."""

    namespace: str
    name: str
    uid: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Verdict:
    """Why the operator will not act on a proposal: a proposal reason and the message for its status."""

    reason: str
    message: str


def config_owner(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(name, uid) of the UpgraderConfig named by the proposal's ownerReferences, or None."""
    for ref in (body.get("metadata") or {}).get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("kind") == kinds.UPGRADER_CONFIG.kind:
            api = str(ref.get("apiVersion") or "")
            if api.split("/")[0] == kinds.GROUP:
                return str(ref.get("name") or ""), str(ref.get("uid") or "")
    return None


def standing(body: Mapping[str, Any], cfg: Config) -> Standing:
    """How `body` relates to the config `cfg` (see the module docstring)."""
    owner = config_owner(body)
    if owner is not None and cfg.uid and owner[1] == cfg.uid:
        return Standing.OWNED
    if owner is not None and owner[0] != cfg.name:
        return Standing.OTHER_CONFIG
    labels = (body.get("metadata") or {}).get("labels") or {}
    claimed_by = (labels.get(naming.CONFIG_LABEL), proposals_.upgrade_proposal(body).spec.config_name)
    claims = cfg.name in claimed_by
    return Standing.UNOWNED if claims or owner is not None else Standing.UNRELATED


def release_ref(body: Mapping[str, Any]) -> tuple[str, str]:
    spec = proposals_.upgrade_proposal(body).spec
    return spec.release_namespace, spec.release_name


def in_scope(spec: config_.ScopeSpec, namespace: str, release: flux.HelmRelease | None) -> bool:
    """Whether the config covers the release (its labels when the cluster has it, else its namespace alone)."""
    return scope.in_scope(
        namespace,
        release.labels if release is not None else {},
        cluster_wide=spec.cluster_wide,
        namespaces=spec.namespaces,
        selector=spec.selector if release is not None else {},
        excluded=spec.excluded,
    )


def not_owned(body: Mapping[str, Any], cfg: Config) -> Verdict:
    name = (body.get("metadata") or {}).get("name")
    return Verdict(
        reasons.NOT_OWNED,
        f"proposal {cfg.namespace}/{name} is not owned by UpgraderConfig {cfg.key} (no ownerReference with its "
        "uid): the operator does not act on it; delete it, the operator creates its own proposals",
    )


def out_of_scope(body: Mapping[str, Any], cfg: Config) -> Verdict:
    namespace, name = release_ref(body)
    return Verdict(
        reasons.OUT_OF_SCOPE,
        f"HelmRelease {namespace}/{name} is not in the scope of UpgraderConfig {cfg.key}: nothing is pushed for it",
    )


def conflict(name: str, holder: Mapping[str, Any], cfg: Config) -> tuple[str, str]:
    """(reason, message) for a release whose proposal name is taken by a proposal this config does not own."""
    owner = config_owner(holder)
    if owner is not None and owner[0] != cfg.name:
        return reasons.SCOPE_OVERLAP, (
            f"proposal {cfg.namespace}/{name} belongs to UpgraderConfig {cfg.namespace}/{owner[0]}, "
            "whose scope covers this release too"
        )
    return reasons.NOT_OWNED, (
        f"proposal {cfg.namespace}/{name} exists but is not owned by UpgraderConfig {cfg.key}; "
        "delete it so the operator can create its own"
    )
