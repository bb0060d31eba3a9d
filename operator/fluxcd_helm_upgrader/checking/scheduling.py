"""When an UpgraderConfig's next check cycle is due. Pure.

The UpgraderConfig handler ticks often (a few seconds) and asks this module whether a cycle is due; the cycle then
runs at the config's own `spec.interval`, at once after a spec change (new generation), and at once when
`flux reconcile`-style tooling sets the `reconcile.fluxcd.io/requestedAt` annotation to a value not yet handled
(recorded in status.lastHandledReconcileAt, as Flux controllers do), and once right after the operator starts.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass


class Why(enum.Enum):
    """Why a cycle runs now (or does not)."""

    NOT_DUE = "not due"
    SUSPENDED = "suspended"
    FIRST = "never checked"
    STARTUP = "operator started"
    SPEC_CHANGED = "spec changed"
    REQUESTED = "reconcile requested"
    WEBHOOK = "webhook"
    INTERVAL = "interval elapsed"


@dataclass(frozen=True)
class Clock:
    """What the schedule depends on, taken from the object's spec, status and metadata."""

    suspend: bool
    interval_seconds: float
    generation: int | None
    observed_generation: int | None
    last_check_time: str | None
    requested_at: str | None
    last_handled_reconcile_at: str | None
    ran_in_this_process: bool = True  # False on the first tick after the operator (re)started
    triggered: bool = False  # a webhook asked for a cycle now


def parse_time(text: str | None) -> datetime.datetime | None:
    """Parse an RFC 3339 timestamp as written in status; None when absent or unreadable."""
    if not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def due(clock: Clock, now: datetime.datetime) -> Why:
    """Decide whether a cycle should run now; the first matching reason wins."""
    if clock.suspend:
        return Why.SUSPENDED
    if clock.requested_at and clock.requested_at != clock.last_handled_reconcile_at:
        return Why.REQUESTED
    if clock.triggered:
        return Why.WEBHOOK
    last = parse_time(clock.last_check_time)
    if last is None:
        return Why.FIRST
    if not clock.ran_in_this_process:
        # In-memory work (the Git queue) is lost on restart: check at once instead of after a whole interval.
        return Why.STARTUP
    if clock.generation is not None and clock.generation != clock.observed_generation:
        return Why.SPEC_CHANGED
    if (now - last).total_seconds() >= clock.interval_seconds:
        return Why.INTERVAL
    return Why.NOT_DUE
