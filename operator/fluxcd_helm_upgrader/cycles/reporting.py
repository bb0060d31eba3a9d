"""Map a cycle's outcome to the UpgraderConfig's status and events. Pure.

Ready=True/Succeeded when every release in scope was checked; Ready=True/PartiallyChecked when some could not be
(listed in status.failedReleases, so the working ones still count); Ready=False/PartiallyChecked when every
release failed; Ready=False/ScopeOverlap when an older config in the namespace keeps some of the releases (named
in the message and in failedReleases; the others are still checked); Ready=False/ScopeForbidden when namespaces of
the scope were skipped because the config may not read them (named in the message; the rest were checked); Ready=False
with InvalidConfig/SecretNotFound/Forbidden when the cycle could not start.
Events are produced only on transitions (a new set of failing releases), never on a quiet tick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fluxcd_helm_upgrader.checking import release_age
from fluxcd_helm_upgrader.cycles.running import Outcome
from fluxcd_helm_upgrader.status import conditions, reasons

MAX_LISTED = 50  # failedReleases entries kept in status; the count in the message is complete


def failed_releases(outcome: Outcome) -> list[dict[str, str]]:
    return [
        {"release": f.release.key, "reason": f.failure.reason, "message": f.failure.message}
        for f in outcome.failed[:MAX_LISTED]
    ]


def held_versions(outcome: Outcome) -> list[dict[str, str]]:
    """Versions policy.minimumReleaseAge held back, with when each becomes eligible (status.heldVersions)."""
    entries = []
    for checked in outcome.checked:
        for held in checked.held:
            entry = {"release": checked.release.key, "version": held.version}
            if held.eligible_at is not None:
                entry["eligibleAt"] = release_age.rfc3339(held.eligible_at)
            entries.append(entry)
    return entries[:MAX_LISTED]


def cycle_status(
    old_status: Mapping[str, Any],
    outcome: Outcome,
    *,
    proposals_open: int,
    proposals_waiting: int = 0,
    generation: int | None,
    now: str,
    requested_at: str | None,
    scope_forbidden: str | None = None,
) -> dict[str, Any]:
    """The status patch after a completed cycle; `scope_forbidden` says which namespaces were skipped and why."""
    checked, failed = len(outcome.checked), len(outcome.failed)
    outdated = len(outcome.outdated)
    overlapping = [f for f in outcome.failed if f.failure.reason == reasons.SCOPE_OVERLAP]
    if scope_forbidden:
        ready, reason = False, reasons.SCOPE_FORBIDDEN
        message = f"{scope_forbidden}; checked {checked} other releases, {outdated} outdated, {failed} failed"
    elif overlapping:
        ready, reason = False, reasons.SCOPE_OVERLAP
        shown = "; ".join(f.failure.message for f in overlapping[:5]) + ("; ..." if len(overlapping) > 5 else "")
        message = f"{len(overlapping)} release(s) kept by an older UpgraderConfig: {shown}; " + (
            f"checked {checked} other releases, {outdated} outdated, {failed - len(overlapping)} failed"
        )
    elif failed == 0:
        ready, reason = True, reasons.SUCCEEDED
        message = f"checked {checked} releases, {outdated} outdated"
    else:
        ready, reason = checked > 0, reasons.PARTIALLY_CHECKED
        names = ", ".join(f.release.key for f in outcome.failed[:5]) + (", ..." if failed > 5 else "")
        message = f"checked {checked} releases, {outdated} outdated; {failed} could not be checked: {names}"
    held = held_versions(outcome)
    if held:
        message += f"; {sum(len(c.held) for c in outcome.checked)} newer version(s) held by minimumReleaseAge"
    if proposals_waiting:
        message += f"; {proposals_waiting} proposal(s) waiting for pullRequests.maxOpen/maxPerHour"
    status: dict[str, Any] = {
        "conditions": _ready(old_status, ready, reason, message, generation, now),
        "observedGeneration": generation,
        "lastCheckTime": now,
        "releasesChecked": checked,
        "releasesOutdated": outdated,
        "proposalsOpen": proposals_open,
        "proposalsWaiting": proposals_waiting,
        "failedReleases": failed_releases(outcome),
        "heldVersions": held,
    }
    if requested_at:
        status["lastHandledReconcileAt"] = requested_at
    return status


def blocked_status(
    old_status: Mapping[str, Any],
    *,
    reason: str,
    message: str,
    generation: int | None,
    now: str,
    requested_at: str | None,
) -> dict[str, Any]:
    """The status patch when a cycle could not run at all (bad spec, missing secret, forbidden)."""
    status: dict[str, Any] = {
        "conditions": _ready(old_status, False, reason, message, generation, now),
        "observedGeneration": generation,
        "lastCheckTime": now,
    }
    if requested_at:
        status["lastHandledReconcileAt"] = requested_at
    return status


def _ready(
    old_status: Mapping[str, Any], ready: bool, reason: str, message: str, generation: int | None, now: str
) -> list[dict[str, Any]]:
    result = conditions.set_condition(
        old_status.get("conditions"),
        type_=reasons.READY,
        status=ready,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
    stalled = reason in (reasons.INVALID_CONFIG, reasons.SECRET_NOT_FOUND, reasons.FORBIDDEN)
    if stalled:
        return conditions.set_condition(
            result,
            type_=reasons.STALLED,
            status=True,
            reason=reason,
            message=message,
            generation=generation,
            now=now,
        )
    return conditions.remove_condition(result, reasons.STALLED)


def scope_forbidden_transition(old_status: Mapping[str, Any], scope_forbidden: str | None) -> bool:
    """Whether a ScopeForbidden Warning event is due: the skipped namespaces (or why) changed since the last cycle."""
    if not scope_forbidden:
        return False
    ready = conditions.find(old_status.get("conditions"), reasons.READY) or {}
    same = ready.get("reason") == reasons.SCOPE_FORBIDDEN and str(ready.get("message", "")).startswith(scope_forbidden)
    return not same


def event_reason(status: Mapping[str, Any]) -> str:
    """The reason of the Warning event about failing releases: ScopeOverlap when that is what Ready says."""
    ready = conditions.find(status.get("conditions"), reasons.READY) or {}
    return reasons.SCOPE_OVERLAP if ready.get("reason") == reasons.SCOPE_OVERLAP else "CheckFailed"


def failure_transition(old_status: Mapping[str, Any], new_status: Mapping[str, Any]) -> str | None:
    """A Warning event message when the set of failing releases changed to a non-empty one, else None."""
    before = _failing(old_status.get("failedReleases") or ())
    after = _failing(new_status.get("failedReleases") or ())
    if after and after != before:
        return "; ".join(entry["message"] for entry in new_status.get("failedReleases") or ())[:1000]
    return None


def _failing(entries: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    return {(str(e.get("release")), str(e.get("reason"))) for e in entries}
