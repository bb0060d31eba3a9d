"""Turn a cycle's decisions into UpgradeProposals: create, retarget, withdraw. One event per transition.

Called by the UpgraderConfig handler after each cycle. A proposal is keyed by its release; a newer target updates
the same proposal (its phase goes back to Pending so the Git worker rewrites the same branch and PR). A release that
is current again (someone bumped it by hand) has its proposal deleted while no PR is open for it (phase Pending or
Failed); proposals with an open, merged or applied PR are kept so users can still see what happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fluxcd_helm_upgrader.checking import decisions
from fluxcd_helm_upgrader.cycles.running import Checked, Outcome
from fluxcd_helm_upgrader.proposals import naming, phases
from fluxcd_helm_upgrader.proposals.store import ProposalStore

WRITE_CONCURRENCY = 8  # proposal writes in flight at once: a big first cycle is not 2N sequential calls
ACTIVE_PHASES = frozenset({phases.PENDING, phases.OPEN, phases.FAILED})
WITHDRAWABLE = frozenset({phases.PENDING, phases.FAILED, ""})


@dataclass(frozen=True)
class Event:
    """A Kubernetes event to post on an object (its body) after the sync."""

    body: Mapping[str, Any]
    type: str
    reason: str
    message: str


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    retargeted: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> latest body

    @property
    def open_count(self) -> int:
        return sum(1 for body in self.proposals.values() if _phase(body) in ACTIVE_PHASES)


def _phase(body: Mapping[str, Any]) -> str:
    return str((body.get("status") or {}).get("phase") or "")


def skipped_targets(existing: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Per release key, the targets whose PR was closed without merge (not proposed again)."""
    result: dict[str, list[str]] = {}
    for body in existing:
        release = (body.get("spec") or {}).get("release") or {}
        key = f"{release.get('namespace')}/{release.get('name')}"
        result[key] = list((body.get("status") or {}).get("skippedTargets") or [])
    return result


def proposal_spec(config_name: str, checked: Checked) -> dict[str, Any]:
    """The spec of the proposal for one outdated release (DESIGN.md schema).

    spec.source names the object that holds the version beyond the release itself: the HelmRepository (the
    release's own spec.chart.spec.version is edited), the OCIRepository or the HelmChart (its manifest is edited);
    `url` is the index or registry URL, never with credentials.
    """
    origin = checked.source.origin
    return {
        "configRef": {"name": config_name},
        "release": {"namespace": checked.release.namespace, "name": checked.release.name},
        "chart": checked.source.chart,
        "source": {"kind": origin.kind, "namespace": origin.namespace, "name": origin.name, "url": origin.url},
        "currentVersion": checked.source.current or "*",
        "targetVersion": checked.target,
    }


async def sync(
    store: ProposalStore,
    config: Mapping[str, Any],
    outcome: Outcome,
    existing: Sequence[dict[str, Any]],
) -> SyncResult:
    """Create/retarget/withdraw the proposals of `config` (its body) in its namespace; return what changed and
    the events (withdrawals are reported on the config, the proposal being gone)."""
    meta = config.get("metadata") or {}
    namespace, config_name = str(meta.get("namespace")), str(meta.get("name"))
    owner = {"namespace": namespace, "name": config_name, "uid": meta.get("uid")}
    result = SyncResult(proposals={b["metadata"]["name"]: b for b in existing})
    limit = asyncio.Semaphore(WRITE_CONCURRENCY)

    async def one(checked: Checked) -> None:
        async with limit:
            await _sync_one(store, config, owner, checked, result)

    await asyncio.gather(*(one(checked) for checked in outcome.checked))
    return result


async def _sync_one(
    store: ProposalStore,
    config: Mapping[str, Any],
    owner: Mapping[str, Any],
    checked: Checked,
    result: SyncResult,
) -> None:
    """Create, retarget or withdraw the proposal of one checked release (each release has its own name)."""
    namespace, config_name = str(owner["namespace"]), str(owner["name"])
    name = naming.proposal_name(checked.release.namespace, checked.release.name)
    current = result.proposals.get(name)
    if checked.decision.outcome is not decisions.Outcome.PROPOSE:
        if current is not None and _phase(current) in WITHDRAWABLE:
            await store.delete(namespace, name)
            result.proposals.pop(name, None)
            result.withdrawn.append(name)
            result.events.append(
                Event(
                    config,
                    "Normal",
                    "ProposalWithdrawn",
                    f"{checked.release.key} is current ({checked.decision.message}); proposal {name} removed",
                )
            )
        return
    spec = proposal_spec(config_name, checked)
    message = f"{checked.source.chart} {spec['currentVersion']} -> {spec['targetVersion']}: waiting for the Git worker"
    if current is None:
        body = await store.create(namespace, name, spec, owner)
        body = await store.patch_status(namespace, name, phases.pending(None, message, _gen(body)))
        result.created.append(name)
        result.events.append(Event(body, "Normal", "ProposalCreated", _describe(checked, spec)))
    elif _spec_differs(current, spec):
        retarget = (current.get("spec") or {}).get("targetVersion") != spec["targetVersion"]
        body = await store.patch_spec(namespace, name, spec)
        if retarget:
            body = await store.patch_status(namespace, name, phases.pending(current.get("status"), message, _gen(body)))
            result.retargeted.append(name)
            result.events.append(Event(body, "Normal", "TargetUpdated", _describe(checked, spec)))
    else:
        body = current
    result.proposals[name] = body


def _gen(body: Mapping[str, Any]) -> int | None:
    generation = (body.get("metadata") or {}).get("generation")
    return int(generation) if generation is not None else None


def _spec_differs(current: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    old = current.get("spec") or {}
    return any(old.get(key) != value for key, value in spec.items())


def _describe(checked: Checked, spec: Mapping[str, Any]) -> str:
    return (
        f"{checked.release.key}: chart {spec['chart']} {spec['currentVersion']} -> {spec['targetVersion']} "
        f"(newest allowed {checked.decision.newest})"
    )
