"""Go-style duration strings ("30m", "1h30m", "300ms") parsed into seconds.

Flux users write intervals as Go durations, so `spec.interval` of an UpgraderConfig uses the same
syntax. This is a pure re-implementation of Go's `time.ParseDuration` (same units, signs, fractions
and overflow limit), used by `config.parse` and anything else that reads a duration from a spec.
It never touches the network or the clock.
"""

from __future__ import annotations

import re

# Go's unit table, in nanoseconds. Both micro signs are accepted, as in Go.
_UNITS_NS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # MICRO SIGN
    "\u03bcs": 1_000,  # GREEK SMALL LETTER MU
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
# A Go time.Duration is an int64 of nanoseconds: anything larger does not exist in Flux either.
_MAX_NS = (1 << 63) - 1

# One "<number><unit>" component: digits, an optional fraction, then the unit letters.
_COMPONENT = re.compile(r"(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?P<unit>[^0-9.]*)")

_HINT = "use a Go duration such as 30m, 1h30m, 1.5h or 300ms"


def parse_duration(text: str) -> float:
    """Return the duration `text` (Go syntax) in seconds; raise ValueError saying what is wrong.

    >>> parse_duration("1h30m")
    5400.0
    """
    return parse_duration_ns(text) / 1_000_000_000


def parse_duration_ns(text: str) -> int:
    """Return the duration `text` (Go syntax) in whole nanoseconds, like Go's time.ParseDuration."""
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}: expected a string; {_HINT}")
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]
    # Go accepts a bare zero without a unit, and only zero.
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"invalid duration {text!r}: it is empty; {_HINT}")

    total = 0
    while rest:
        match = _COMPONENT.match(rest)
        # The pattern always matches (all parts are optional), so check what it consumed.
        assert match is not None
        whole, frac, unit = match.group("int"), match.group("frac"), match.group("unit")
        if not whole and not frac:
            raise ValueError(f"invalid duration {text!r}: expected a number at {rest!r}; {_HINT}")
        if not unit:
            raise ValueError(
                f"invalid duration {text!r}: missing unit after {rest[: match.end()]!r}"
                f" (one of ns, us, ms, s, m, h); {_HINT}"
            )
        if unit not in _UNITS_NS:
            raise ValueError(f"invalid duration {text!r}: unknown unit {unit!r} (use ns, us, ms, s, m or h); {_HINT}")
        scale = _UNITS_NS[unit]
        value = int(whole or "0") * scale
        if frac:
            # Go truncates the fractional nanoseconds; integer arithmetic does the same exactly.
            value += int(frac) * scale // 10 ** len(frac)
        total += value
        if total > _MAX_NS + (1 if negative else 0):
            raise ValueError(f"invalid duration {text!r}: longer than about 292 years (Go's limit)")
        rest = rest[match.end() :]
    return -total if negative else total
