"""Turn a cycle's decisions into UpgradeProposals: create, retarget, withdraw. One event per transition.

Called by the UpgraderConfig handler after each cycle. A proposal is keyed by its release; a newer target updates
the same proposal (its phase goes back to Pending so the Git worker rewrites the same branch and PR). A release that
is current again (someone bumped it by hand) has its proposal deleted while no PR is open for it (phase Pending or
Failed); proposals with an open, merged or applied PR are kept so users can still see what happened.

Only proposals the config owns are touched (`proposals.ownership`). A release whose proposal name is taken by one
the config does not own (another config's, or a hand-made one), including a create answered 409, becomes a
`conflicts` entry the cycle reports in status.failedReleases; nothing crashes and nothing is overwritten. So is a
proposal write the API refuses (other than 403, which stops the cycle with Forbidden). `refuse`
marks what claims the config without being its to act on (NotOwned), and owned proposals whose release left the
scope (OutOfScope): phase Failed and one event, nothing else changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.checking import decisions
from fluxcd_helm_upgrader.cycles.resolving import Failure
from fluxcd_helm_upgrader.cycles.running import Checked, Outcome
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.proposals import naming, ownership, phases
from fluxcd_helm_upgrader.proposals.store import ProposalStore
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import proposals as proposals_

WRITE_CONCURRENCY = 8  # proposal writes in flight at once: a big first cycle is not 2N sequential calls
ACTIVE_PHASES = frozenset({phases.PENDING, phases.OPEN, phases.FAILED})
WITHDRAWABLE = frozenset({phases.PENDING, phases.FAILED, ""})
MAX_SKIPPED_CHARS = 256  # skippedTargets entries longer than a version are nobody's closed PR: ignored


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
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> latest body (owned only)
    conflicts: dict[str, Failure] = field(default_factory=dict)  # release key -> why its proposal is not ours

    @property
    def open_count(self) -> int:
        return sum(1 for body in self.proposals.values() if _phase(body) in ACTIVE_PHASES)


def _phase(body: Mapping[str, Any]) -> str:
    return proposals_.upgrade_proposal(body).status.phase


def config_of(config: Mapping[str, Any]) -> ownership.Config:
    meta = config.get("metadata") or {}
    return ownership.Config(str(meta.get("namespace")), str(meta.get("name")), str(meta.get("uid") or ""))


def owned(config: Mapping[str, Any], existing: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The proposals of the namespace that `config` owns."""
    me = config_of(config)
    return [body for body in existing if ownership.standing(body, me) is ownership.Standing.OWNED]


def skipped_targets(existing: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Per release key, the targets whose PR was closed without merge (not proposed again)."""
    result: dict[str, list[str]] = {}
    for body in existing:
        proposal = proposals_.upgrade_proposal(body)
        skipped = proposal.status.skipped_targets
        result[proposal.spec.release_key] = [t for t in skipped if len(t) <= MAX_SKIPPED_CHARS]
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
    """Create/retarget/withdraw the proposals of `config` (its body) among `existing` (every proposal of its
    namespace); return what changed and the events (withdrawals are reported on the config, the proposal being
    gone)."""
    me = config_of(config)
    owner = {"namespace": me.namespace, "name": me.name, "uid": me.uid}
    result = SyncResult(proposals={b["metadata"]["name"]: b for b in owned(config, existing)})
    foreign = {b["metadata"]["name"]: b for b in existing if b["metadata"]["name"] not in result.proposals}
    limit = asyncio.Semaphore(WRITE_CONCURRENCY)

    async def one(checked: Checked) -> None:
        async with limit:
            name = naming.proposal_name(checked.release.namespace, checked.release.name)
            holder = foreign.get(name)
            if holder is not None and checked.decision.verdict is decisions.Verdict.PROPOSE:
                result.conflicts[checked.release.key] = Failure(*ownership.conflict(name, holder, me))
                return
            if holder is None:
                try:
                    await _sync_one(store, config, owner, checked, result)
                except ApiException as error:
                    if error.status == 403:
                        raise  # a missing permission stops the whole cycle: Ready=False, Forbidden
                    # One proposal the API refuses (422: a value its schema rejects) fails its release only.
                    result.conflicts[checked.release.key] = Failure(
                        reasons.CHECK_FAILED,
                        f"{checked.release.key}: writing proposal {me.namespace}/{name} failed: HTTP {error.status} "
                        f"{error.reason}",
                    )

    await asyncio.gather(*(one(checked) for checked in outcome.checked))
    for failed in outcome.failed:  # releases an older config keeps: hand over what was never pushed
        if failed.failure.reason == reasons.SCOPE_OVERLAP:
            await _withdraw(store, config, failed.release.key, result, f"{failed.failure.message}; withdrawn here")
    return result


async def refuse(
    store: ProposalStore,
    config: Mapping[str, Any],
    scope_spec: config_.ScopeSpec,
    view: FluxView,
    existing: Sequence[Mapping[str, Any]],
) -> tuple[set[str], list[Event]]:
    """Report what the config will not act on (NotOwned, OutOfScope): phase Failed and one event per transition,
    nothing else changed. Returns their names (no job is made for them) and the events to post."""
    me = config_of(config)
    refused: set[str] = set()
    events: list[Event] = []
    for body in existing:
        standing = ownership.standing(body, me)
        verdict = None
        if standing is ownership.Standing.UNOWNED:
            verdict = ownership.not_owned(body, me)
        elif standing is ownership.Standing.OWNED:
            namespace, name = ownership.release_ref(body)
            if not ownership.in_scope(scope_spec, namespace, view.release(namespace, name)):
                verdict = ownership.out_of_scope(body, me)
        if verdict is None:
            continue
        refused.add(body["metadata"]["name"])
        reported = proposals_.upgrade_proposal(body).status
        if reported.phase == phases.FAILED and reported.message == verdict.message:
            continue  # reported already: one event per transition
        meta = body["metadata"]
        failed = phases.failed(body.get("status"), verdict.reason, verdict.message, phases.generation(body))
        updated = await store.patch_status(meta["namespace"], meta["name"], failed)
        events.append(Event(updated, "Warning", verdict.reason, verdict.message))
    return refused, events


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
    if checked.decision.verdict is not decisions.Verdict.PROPOSE:
        why = f"{checked.release.key} is current ({checked.decision.message}); proposal {name} removed"
        await _withdraw(store, config, checked.release.key, result, why)
        return
    spec = proposal_spec(config_name, checked)
    message = f"{checked.source.chart} {spec['currentVersion']} -> {spec['targetVersion']}: waiting for the Git worker"
    if current is None:
        try:
            body = await store.create(namespace, name, spec, owner)
        except ApiException as error:
            if error.status != 409:
                raise
            # Created meanwhile by someone else (another config's cycle, a person): report, never overwrite.
            holder = await store.get(namespace, name) or {}
            result.conflicts[checked.release.key] = Failure(*ownership.conflict(name, holder, config_of(config)))
            return
        body = await store.patch_status(namespace, name, phases.pending(None, message, phases.generation(body)))
        result.created.append(name)
        result.events.append(Event(body, "Normal", reasons.PROPOSAL_CREATED, _describe(checked, spec)))
    elif _spec_differs(current, spec):
        retarget = proposals_.upgrade_proposal(current).spec.target_version != spec["targetVersion"]
        body = await store.patch_spec(namespace, name, spec)
        if retarget:
            pending = phases.pending(current.get("status"), message, phases.generation(body))
            body = await store.patch_status(namespace, name, pending)
            result.retargeted.append(name)
            result.events.append(Event(body, "Normal", reasons.TARGET_UPDATED, _describe(checked, spec)))
    else:
        body = current
    result.proposals[name] = body


async def _withdraw(
    store: ProposalStore, config: Mapping[str, Any], release_key: str, result: SyncResult, message: str
) -> None:
    """Delete the owned proposal of `release_key` while nothing was pushed for it (Pending/Failed)."""
    namespace, _, name = release_key.partition("/")
    proposal = naming.proposal_name(namespace, name)
    current = result.proposals.get(proposal)
    if current is None or _phase(current) not in WITHDRAWABLE:
        return
    await store.delete(str((config.get("metadata") or {}).get("namespace")), proposal)
    result.proposals.pop(proposal, None)
    result.withdrawn.append(proposal)
    result.events.append(Event(config, "Normal", reasons.PROPOSAL_WITHDRAWN, message))


def _spec_differs(current: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    old = current.get("spec") or {}
    return any(old.get(key) != value for key, value in spec.items())


def _describe(checked: Checked, spec: Mapping[str, Any]) -> str:
    return (
        f"{checked.release.key}: chart {spec['chart']} {spec['currentVersion']} -> {spec['targetVersion']} "
        f"(newest allowed {checked.decision.newest})"
    )
