"""Masterminds constraints from spec.chart.spec.version, and rewriting them (checking.ranges)."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.checking import ranges, versions


def v(text: str) -> versions.Version:
    parsed = versions.parse(text)
    assert parsed is not None, text
    return parsed


# (constraint, admitted versions, rejected versions)
ALLOWS = [
    ("6.5.0", ["6.5.0", "v6.5.0", "6.5.0+meta"], ["6.5.1", "6.4.9", "6.5.0-rc.1"]),
    ("=6.5.0", ["6.5.0"], ["6.5.1"]),
    ("v6.5.0", ["6.5.0"], ["6.5.1"]),
    ("6.x", ["6.0.0", "6.9.9"], ["7.0.0", "5.9.9", "6.1.0-rc.1"]),
    ("6.*", ["6.0.0", "6.9.9"], ["7.0.0"]),
    ("6.X", ["6.3.0"], ["7.0.0"]),
    ("6", ["6.0.0", "6.7.1"], ["7.0.0", "5.0.0"]),
    ("6.x.x", ["6.2.0"], ["7.0.0"]),
    ("6.1", ["6.1.0", "6.1.9"], ["6.2.0", "6.0.9"]),
    ("6.1.x", ["6.1.7"], ["6.2.0"]),
    ("^6.1.0", ["6.1.0", "6.9.0"], ["6.0.9", "7.0.0", "6.2.0-beta.1"]),
    ("^6", ["6.0.0", "6.9.0"], ["7.0.0"]),
    ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "1.0.0", "0.2.2"]),
    ("^0.0.3", ["0.0.3"], ["0.0.4", "0.1.0"]),
    ("^0", ["0.0.1", "0.9.0"], ["1.0.0"]),
    ("~6.1.0", ["6.1.0", "6.1.9"], ["6.2.0", "6.0.9"]),
    ("~6.1", ["6.1.0", "6.1.5"], ["6.2.0"]),
    ("~6", ["6.0.0", "6.9.9"], ["7.0.0"]),
    ("~>6.1.0", ["6.1.3"], ["6.2.0"]),
    (">=6.0.0 <7.0.0", ["6.0.0", "6.9.9"], ["7.0.0", "5.9.9", "6.5.0-rc.1"]),
    (">=6.0.0, <7.0.0", ["6.0.0", "6.9.9"], ["7.0.0"]),
    (">= 6.0.0 , < 7.0.0", ["6.3.0"], ["7.0.0"]),
    (">6.0.0", ["6.0.1"], ["6.0.0"]),
    (">6", ["7.0.0"], ["6.9.9"]),
    (">6.1", ["6.2.0", "7.0.0"], ["6.1.9"]),
    ("<=6.5.0", ["6.5.0", "1.0.0"], ["6.5.1"]),
    ("<=6", ["6.9.9"], ["7.0.0"]),
    ("<=6.1", ["6.1.9"], ["6.2.0"]),
    ("=<6.1.0", ["6.1.0"], ["6.1.1"]),
    ("=>6.1.0", ["6.1.0"], ["6.0.0"]),
    ("<6", ["5.9.9"], ["6.0.0"]),
    ("!=6.5.0", ["6.5.1", "6.4.0"], ["6.5.0", "6.5.1-rc.1"]),
    ("!=6.x", ["7.0.0", "5.0.0"], ["6.1.0"]),
    ("1.2.3 - 2.0.0", ["1.2.3", "2.0.0", "1.9.0"], ["1.2.2", "2.0.1"]),
    ("1.2 - 1.4", ["1.2.0", "1.4.9"], ["1.5.0", "1.1.9"]),
    ("^5.0.0 || ^6.1.0", ["5.3.0", "6.2.0"], ["6.0.0", "7.0.0"]),
    ("*", ["0.0.1", "99.0.0"], ["1.0.0-rc.1"]),
    ("", ["1.2.3"], ["1.2.3-rc.1"]),
    ("x", ["1.2.3"], []),
    # A comparator with a prerelease opens it to prereleases; each comparator checks on its own.
    (">=1.0.0-0", ["1.5.0-rc.1", "2.0.0"], ["0.9.0"]),
    (">=1.0.0-0 <2.0.0", ["1.5.0"], ["1.5.0-rc.1"]),
    ("^1.2.3-beta.1", ["1.2.3-beta.2", "1.3.0-alpha", "1.9.0"], ["1.2.3-alpha", "2.0.0"]),
]


@pytest.mark.parametrize(("text", "admitted", "rejected"), ALLOWS)
def test_allows(text: str, admitted: list[str], rejected: list[str]) -> None:
    constraint = ranges.parse_constraint(text)
    assert constraint is not None
    assert [a for a in admitted if not constraint.allows(v(a))] == []
    assert [r for r in rejected if constraint.allows(v(r))] == []


def test_include_prerelease_lifts_the_prerelease_rule() -> None:
    constraint = ranges.parse_constraint(">=7.0.0")
    assert constraint is not None
    assert not constraint.allows(v("7.1.0-rc.1"))
    assert constraint.allows(v("7.1.0-rc.1"), include_prerelease=True)
    assert not constraint.allows(v("6.9.0-rc.1"), include_prerelease=True)


@pytest.mark.parametrize(
    "text", ["latest", "6.5.0.1", ">>6", "^", "6.5.0 |", "||", "~ 6.x -", "6.5.0 - ", "1.2.3-", "a.b.c", "≥6"]
)
def test_invalid_constraints(text: str) -> None:
    assert ranges.parse_constraint(text) is None


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("6.5.0", True),
        ("v6.5.0", True),
        ("=6.5.0", True),
        ("1.0.0-rc.1", True),
        ("6.5", False),
        ("6.x", False),
        ("^6.5.0", False),
        ("", False),
        ("*", False),
        (">=6.5.0", False),
    ],
)
def test_is_exact(text: str, exact: bool) -> None:
    assert ranges.is_exact(text) is exact


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("6.x", "6.0.0"),
        ("^6.1.0", "6.1.0"),
        (">=6.0.0 <7.0.0", "6.0.0"),
        ("<7.0.0", "0.0.0"),
        ("^5.0.0 || ^6.1.0", "5.0.0"),
        ("~6.1", "6.1.0"),
    ],
)
def test_floor(text: str, floor: str) -> None:
    constraint = ranges.parse_constraint(text)
    assert constraint is not None and constraint.floor == v(floor)


REWRITES = [
    ("6.5.0", "7.2.3", "7.2.3"),
    ("v6.5.0", "7.2.3", "v7.2.3"),
    ("=6.5.0", "7.2.3", "=7.2.3"),
    ("6.5.0", "7.0.0-rc.1", "7.0.0-rc.1"),
    ("6.x", "7.2.3", "7.x"),
    ("6.*", "7.2.3", "7.*"),
    ("6.X", "7.2.3", "7.X"),
    ("6", "7.2.3", "7"),
    ("v6.x", "7.2.3", "v7.x"),
    ("6.1.x", "7.2.3", "7.2.x"),
    ("6.1", "6.3.1", "6.3"),
    ("^6.1.0", "7.2.3", "^7.2.3"),
    ("^6", "7.2.3", "^7"),
    ("^6.x", "7.2.3", "^7.x"),
    ("^0.2.3", "0.3.1", "^0.3.1"),
    ("~6.1.0", "7.2.3", "~7.2.3"),
    ("~6.1", "7.2.3", "~7.2"),
    ("~>6.1.0", "6.2.4", "~>6.2.4"),
    (">=6.0.0 <7.0.0", "7.2.3", ">=7.0.0 <8.0.0"),
    (">=6.0.0, <7.0.0", "8.1.0", ">=8.0.0, <9.0.0"),
    (">=6.1.0, <6.3.0", "7.2.3", ">=7.2.0, <7.4.0"),
    (">=6 <7", "7.2.3", ">=7 <8"),
    ("<7.0.0 >=6.0.0", "7.0.1", "<8.0.0 >=7.0.0"),
    (">=6 <6.5", "7.2.3", ">=7.2 <7.7"),  # width: 5 minors
    (">6.0.0 <7.0.0", "7.2.3", ">7.0.0 <8.0.0"),
    # Already admitted: unchanged.
    (">=6.0.0", "7.2.3", ">=6.0.0"),
    ("^7.0.0", "7.2.3", "^7.0.0"),
]


@pytest.mark.parametrize(("text", "new", "expected"), REWRITES)
def test_rewrite_keeps_the_style(text: str, new: str, expected: str) -> None:
    rewritten = ranges.rewrite(text, v(new))
    assert rewritten == expected
    constraint = ranges.parse_constraint(rewritten)
    assert constraint is not None and constraint.allows(v(new))


@pytest.mark.parametrize(
    ("text", "new"),
    [
        ("^5.0.0 || ^6.1.0", "7.2.3"),  # OR: which branch to move is a human choice
        ("!=6.5.0 <7.0.0", "7.2.3"),
        ("6.0.0 - 6.9.9", "7.2.3"),  # hyphen range
        ("<7.0.0", "7.2.3"),  # an upper bound alone
        ("<=6.5.0", "7.2.3"),
        (">=6.0.0 <=6.9.9", "7.2.3"),  # inclusive upper bound
        ("^6.1.0-0", "7.2.3"),  # the comparator carries a prerelease
        ("6.x", "7.0.0-rc.1"),  # a wildcard cannot admit a prerelease
        ("not a range", "7.2.3"),
    ],
)
def test_rewrite_refuses_what_it_cannot_do_safely(text: str, new: str) -> None:
    assert ranges.rewrite(text, v(new)) is None
