"""Status bodies for each UpgradeProposal phase. Pure.

Pending → Open (PR opened or updated; with provider `none`, the branch was pushed) → Merged → Applied (the cluster
runs the target). Closed: the PR was closed without merge; the target is added to status.skippedTargets and not
proposed again until a newer version appears. Failed: the message says what to fix; retried next cycle.
Each builder returns the whole status with the Ready condition set (kstatus).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluxcd_helm_upgrader.status import conditions, reasons

PENDING, OPEN, MERGED, CLOSED, APPLIED, FAILED = "Pending", "Open", "Merged", "Closed", "Applied", "Failed"

EventArgs = tuple[str, str, str]
"""The one event a transition posts on the proposal: (type, reason, message)."""
Transition = tuple[dict[str, Any] | None, EventArgs | None]
"""What a Git worker action decided: the proposal's new status (None: unchanged) and its event (None: none)."""


def generation(body: Mapping[str, Any]) -> int | None:
    """The object's metadata.generation (status.observedGeneration records it)."""
    value = (body.get("metadata") or {}).get("generation")
    return int(value) if value is not None else None


def _with(
    old: Mapping[str, Any] | None,
    *,
    phase: str,
    ready: bool,
    reason: str,
    message: str,
    generation: int | None,
    **fields: Any,
) -> dict[str, Any]:
    status = dict(old or {})
    status.update(fields)
    status["phase"] = phase
    status["message"] = message
    status["lastAttemptTime"] = conditions.now_rfc3339()
    if generation is not None:
        status["observedGeneration"] = generation
    status["conditions"] = conditions.set_condition(
        status.get("conditions"),
        type_=reasons.READY,
        status=ready,
        reason=reason,
        message=message,
        generation=generation,
    )
    return status


def opened(
    old: Mapping[str, Any] | None,
    *,
    number: int | None,
    url: str | None,
    branch: str,
    path: str,
    line: int,
    message: str,
    generation: int | None,
    risk: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    pull_request: dict[str, Any] = {"branch": branch}
    if number is not None:
        pull_request["number"] = number
    if url:
        pull_request["url"] = url
    # When the PR (branch) was first opened: an update of the same one keeps it (pullRequests.maxPerHour counts it).
    before = (old or {}).get("pullRequest") or {}
    same = before.get("branch") == branch and before.get("number") == number
    pull_request["openedAt"] = before.get("openedAt") if same and before.get("openedAt") else conditions.now_rfc3339()
    return _with(
        old,
        phase=OPEN,
        ready=True,
        reason=reasons.PULL_REQUEST_OPEN,
        message=message,
        generation=generation,
        pullRequest=pull_request,
        manifest={"path": path, "line": line},
        **({"risk": dict(risk)} if risk is not None else {}),
    )


def merged(old: Mapping[str, Any] | None, message: str, generation: int | None) -> dict[str, Any]:
    return _with(
        old, phase=MERGED, ready=True, reason=reasons.PULL_REQUEST_MERGED, message=message, generation=generation
    )


def applied(old: Mapping[str, Any] | None, message: str, generation: int | None) -> dict[str, Any]:
    return _with(
        old,
        phase=APPLIED,
        ready=True,
        reason=reasons.UPGRADE_APPLIED,
        message=message,
        generation=generation,
        appliedAt=conditions.now_rfc3339(),
    )


def closed(old: Mapping[str, Any] | None, target: str, message: str, generation: int | None) -> dict[str, Any]:
    skipped = list((old or {}).get("skippedTargets") or [])
    if target not in skipped:
        skipped.append(target)
    return _with(
        old,
        phase=CLOSED,
        ready=True,
        reason=reasons.PULL_REQUEST_CLOSED,
        message=message,
        generation=generation,
        skippedTargets=skipped,
    )


def failed(old: Mapping[str, Any] | None, reason: str, message: str, generation: int | None) -> dict[str, Any]:
    return _with(old, phase=FAILED, ready=False, reason=reason, message=message, generation=generation)


def fails_with(status: Mapping[str, Any], reason: str, message: str, generation: int | None) -> bool:
    """True when `status` is already phase Failed for this reason and message at this generation."""
    if status.get("phase") != FAILED or status.get("message") != message:
        return False
    if generation is not None and status.get("observedGeneration") != generation:
        return False
    ready = conditions.find(status.get("conditions"), reasons.READY) or {}
    return ready.get("reason") == reason


def pending(old: Mapping[str, Any] | None, message: str, generation: int | None) -> dict[str, Any]:
    return _with(old, phase=PENDING, ready=False, reason=reasons.AWAITING_PUSH, message=message, generation=generation)


def waiting(old: Mapping[str, Any] | None, message: str, generation: int | None) -> dict[str, Any]:
    """Pending, held back by spec.pullRequests.maxOpen or maxPerHour (`proposals.flood`)."""
    return _with(
        old, phase=PENDING, ready=False, reason=reasons.PULL_REQUEST_LIMIT, message=message, generation=generation
    )
