"""`policy.minimumReleaseAge`: a chart version younger than this is not proposed yet. Pure.

Called by `config.parse` (`parse_age`) and by the check cycle (`cycles.aging`, which feeds `apply` with release
times: an HTTP index entry's `created`, an OCI chart's `org.opencontainers.image.created`).

The age is a Go duration, as Flux writes intervals, plus a `d` (24h) unit that Go lacks: `3d`, `1d12h`, `72h`,
`30m`. `0`/empty turns it off. Renovate users know the setting by this name; its "3 days" spelling is not accepted.

How the decision changes (Renovate's behaviour with `internalChecksFilter: strict`):

* the newest allowed version younger than the age is held back, and the decision is taken again without it, so
  an older version that is old enough can still be proposed;
* a version without a release time is held back as well (Renovate's `timestamp-required`): the status says so,
  rather than proposing something whose age nobody knows;
* a rewritten range (`6.x` -> `7.x`) is only proposed when it admits no held version, because Flux would install
  the newest version the range admits, however young;
* when everything newer is held, the verdict is `HELD` and the message says when the first one becomes eligible.
`Step.needs` asks the caller for the release time of one version it has not given yet (OCI times cost a request
each, so they are fetched only for the versions the decision actually reaches).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from fluxcd_helm_upgrader.checking import decisions, durations, ranges, versions

DAY = 86400.0
MAX_HELD = 50  # held versions per release and cycle; beyond that the release waits for the next cycle
_DAYS = re.compile(r"^(?P<days>[0-9]+(?:\.[0-9]*)?)d(?P<rest>.*)$")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_age(text: str) -> float:
    """Seconds of a minimumReleaseAge (`3d`, `1d12h`, `72h`); raises ValueError saying what is wrong."""
    text = text.strip()
    if text in ("", "0"):
        return 0.0
    match = _DAYS.match(text)
    days = float(match["days"]) if match else 0.0
    rest = match["rest"] if match else text
    try:
        seconds = durations.parse_duration(rest) if rest else 0.0
    except ValueError:
        raise ValueError(f"invalid age {text!r}: use a Go duration with an optional leading days part, "
                         "such as 3d, 1d12h, 72h or 30m") from None  # fmt: skip
    if seconds < 0:
        raise ValueError(f"invalid age {text!r}: it must not be negative")
    return days * DAY + seconds


def describe_age(seconds: float) -> str:
    """`3d`, `1d12h`, `90m` style, for messages."""
    whole = int(seconds)
    days, rest = divmod(whole, int(DAY))
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"


def parse_time(text: str | None) -> datetime.datetime | None:
    """An RFC 3339 time as Helm and OCI annotations write it (nanoseconds allowed); None when it is not one."""
    if not text:
        return None
    value = _FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Held:
    """A version held back: when it becomes eligible (None: its release time is unknown)."""

    version: str
    eligible_at: datetime.datetime | None

    def describe(self) -> str:
        if self.eligible_at is None:
            return f"{self.version} (no release time known)"
        return f"{self.version} (eligible at {rfc3339(self.eligible_at)})"


@dataclass(frozen=True)
class Step:
    """The decision so far; `needs` names a version whose release time the caller must add before deciding."""

    decision: decisions.Decision
    held: tuple[Held, ...] = ()
    needs: str | None = None


Decide = Callable[[Sequence[str]], decisions.Decision]


def apply(
    decide: Decide,
    available: Sequence[str],
    created: Mapping[str, str | None],
    minimum: float,
    now: datetime.datetime,
) -> Step:
    """Decide over `available` without the versions younger than `minimum` seconds (see the module docstring)."""
    held: list[Held] = []
    while True:
        excluded = {h.version for h in held}
        decision = decide([v for v in available if v not in excluded])
        if minimum <= 0 or decision.verdict is not decisions.Verdict.PROPOSE or decision.newest is None:
            return Step(_held_decision(decision, held, minimum), tuple(held))
        if decision.newest not in created:
            return Step(decision, tuple(held), needs=decision.newest)
        released = parse_time(created[decision.newest])
        eligible = released + datetime.timedelta(seconds=minimum) if released else None
        if eligible is not None and eligible <= now:
            if _range_admits_held(decision.target, held):
                return Step(_held_decision(None, held, minimum, decision), tuple(held))
            return Step(decision, tuple(held))
        held.append(Held(decision.newest, eligible))
        if len(held) >= MAX_HELD:
            return Step(_held_decision(None, held, minimum, decision), tuple(held))


def _range_admits_held(target: str | None, held: Sequence[Held]) -> bool:
    if not held or target is None or ranges.exact_version(target) is not None:
        return False
    constraint = ranges.parse_constraint(target)
    parsed = (versions.parse(h.version) for h in held)
    return constraint is not None and any(v is not None and constraint.allows(v) for v in parsed)


def _held_decision(
    decision: decisions.Decision | None,
    held: Sequence[Held],
    minimum: float,
    base: decisions.Decision | None = None,
) -> decisions.Decision:
    """`decision` itself when nothing newer was held; otherwise a HELD decision saying until when."""
    if not held or (decision is not None and decision.verdict is decisions.Verdict.PROPOSE):
        assert decision is not None
        return decision
    reference = decision or base
    assert reference is not None
    times = [h.eligible_at for h in held if h.eligible_at is not None]
    first = f"; the first becomes eligible at {rfc3339(min(times))}" if times else ""
    return decisions.Decision(
        decisions.Verdict.HELD,
        f"held back by minimumReleaseAge {describe_age(minimum)}: {', '.join(h.describe() for h in held)}{first}",
        newest=held[0].version,
        current_resolved=reference.current_resolved,
        invalid_versions=reference.invalid_versions,
    )


def rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
