"""Go duration parsing (checking/durations.py): the same answers as Go's time.ParseDuration."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.checking import durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("30m", 1800.0),
        ("1h30m", 5400.0),
        ("1h30m15s", 5415.0),
        ("300ms", 0.3),
        ("1.5h", 5400.0),
        (".5m", 30.0),
        ("1.m", 60.0),
        ("2h45m0.5s", 9900.5),
        ("1500us", 0.0015),
        ("1500µs", 0.0015),
        ("1500μs", 0.0015),
        ("10ns", 1e-8),
        ("+5s", 5.0),
        ("-1m", -60.0),
        ("1m1m", 120.0),  # Go adds repeated units
    ],
)
def test_valid_durations(text: str, seconds: float) -> None:
    assert durations.parse_duration(text) == pytest.approx(seconds, rel=1e-12, abs=1e-15)


def test_fractions_truncate_to_nanoseconds_like_go() -> None:
    assert durations.parse_duration_ns("1.0000000009s") == 1_000_000_000
    assert durations.parse_duration_ns("0.1ns") == 0


def test_largest_go_duration_is_accepted_and_one_more_is_not() -> None:
    assert durations.parse_duration_ns("9223372036854775807ns") == 2**63 - 1
    assert durations.parse_duration_ns("-9223372036854775808ns") == -(2**63)
    with pytest.raises(ValueError, match="292 years"):
        durations.parse_duration_ns("9223372036854775808ns")
    with pytest.raises(ValueError, match="292 years"):
        durations.parse_duration("2562048h")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("-", "empty"),
        ("30", "missing unit"),
        ("1.5", "missing unit"),
        ("30 minutes", "unknown unit ' minutes'"),
        ("30min", "unknown unit 'min'"),
        ("1d", "unknown unit 'd'"),
        ("1h 30m", "unknown unit 'h '"),
        ("h", "expected a number"),
        (".s", "expected a number"),
        ("1..5h", "missing unit"),
        ("00", "missing unit"),
    ],
)
def test_invalid_durations_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        durations.parse_duration(text)
    message = str(caught.value)
    assert repr(text) in message
    assert says in message
    assert "30m" in message or "292" in message  # the hint shows a valid example


def test_non_string_is_rejected() -> None:
    with pytest.raises(ValueError, match="expected a string"):
        durations.parse_duration(30)  # type: ignore[arg-type]
