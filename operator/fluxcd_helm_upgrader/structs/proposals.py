"""UpgradeProposals as frozen values: what the check cycle, the Git worker and the metrics read of one.

`upgrade_proposal(body)` turns a raw body (from the API or Kopf) into an `UpgradeProposal`, as `structs.flux` does
for the Flux objects, so readers write `proposal.spec.target_version` instead of `.get("spec") or {}` chains. Only
reading goes through here: status patches are still built from the raw status by `proposals.phases` (which keeps
each condition's lastTransitionTime), and the raw body is what events are posted on.

The CRD requires configRef, release, chart, currentVersion and targetVersion, so the API server never hands out a
proposal without them; a field absent anyway reads as "" (a missing phase is ""; callers choose what that means).
skippedTargets keeps its string entries only: a proposal is writable by anyone who may edit the namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProposalSource:
    """spec.source: the Flux object that holds the version, and its index or registry URL (never credentials)."""

    kind: str
    namespace: str
    name: str
    url: str


@dataclass(frozen=True)
class ProposalSpec:
    """spec: which release moves from which chart version to which (DESIGN.md schema)."""

    config_name: str  # spec.configRef.name
    release_namespace: str
    release_name: str
    chart: str
    current_version: str  # "*" when the release sets no version
    target_version: str
    source: ProposalSource | None = None

    @property
    def release_key(self) -> str:
        return f"{self.release_namespace}/{self.release_name}"


@dataclass(frozen=True)
class ProposalStatus:
    """status, as far as the operator reads it back."""

    phase: str = ""  # "" until the first status write
    message: str = ""
    skipped_targets: tuple[str, ...] = ()  # targets whose PR was closed without merge
    risk_level: str = ""  # status.risk.level, "" when not assessed
    ready_reason: str = ""  # the Ready condition's reason, "" without one


@dataclass(frozen=True)
class UpgradeProposal:
    namespace: str
    name: str
    spec: ProposalSpec
    status: ProposalStatus


def upgrade_proposal(body: Mapping[str, Any]) -> UpgradeProposal:
    """The proposal `body` as a frozen value (see the module docstring for absent fields)."""
    meta, spec, status = _map(body, "metadata"), _map(body, "spec"), _map(body, "status")
    release, source = _map(spec, "release"), spec.get("source")
    return UpgradeProposal(
        namespace=_str(meta, "namespace"),
        name=_str(meta, "name"),
        spec=ProposalSpec(
            config_name=_str(_map(spec, "configRef"), "name"),
            release_namespace=_str(release, "namespace"),
            release_name=_str(release, "name"),
            chart=_str(spec, "chart"),
            current_version=_str(spec, "currentVersion"),
            target_version=_str(spec, "targetVersion"),
            source=_source(source) if isinstance(source, Mapping) else None,
        ),
        status=ProposalStatus(
            phase=_str(status, "phase"),
            message=_str(status, "message"),
            skipped_targets=tuple(t for t in status.get("skippedTargets") or () if isinstance(t, str)),
            risk_level=_str(_map(status, "risk"), "level"),
            ready_reason=_ready_reason(status.get("conditions")),
        ),
    )


def _ready_reason(conditions: Any) -> str:
    for condition in conditions if isinstance(conditions, list) else ():
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return _str(condition, "reason")
    return ""


def _source(source: Mapping[str, Any]) -> ProposalSource:
    return ProposalSource(_str(source, "kind"), _str(source, "namespace"), _str(source, "name"), _str(source, "url"))


def _map(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = body.get(key)
    return value if isinstance(value, Mapping) else {}


def _str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    return "" if value is None else str(value)
