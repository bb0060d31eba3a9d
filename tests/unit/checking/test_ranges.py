"""Constraints as Masterminds/semver v3.5.0 parses and checks them (checking.ranges).

Rows written from v3.5.0's ``constraints.go`` (one function per operator, the AND-group prerelease
rule of v3.4.0, the 512-character and 32-group limits); `test_masterminds_golden.py` replays
answers of the library itself. Each row: constraint, version, ``Check`` as Flux calls it
(no ``IncludePrerelease``), ``Check`` with ``IncludePrerelease``.
"""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.checking import ranges, versions


def v(text: str) -> versions.Version:
    parsed = versions.parse(text)
    assert parsed is not None, text
    return parsed


T, F = True, False
CHECKS = [
    # = (or no operator): exact unless a part is a wildcard or missing, then it is ~.
    ("1.2.3", "1.2.3", T, T),
    ("1.2.3", "v1.2.3+build", T, T),
    ("=1.2.3", "1.2.4", F, F),
    ("1.2.3", "1.2.3-rc.1", F, F),
    ("=1.2.3-rc.1", "1.2.3-rc.1", T, T),
    ("=1.2.3-rc.1", "1.2.3", F, F),
    ("=01.2.3", "1.2.3", T, T),
    ("1.2.3+meta", "1.2.3+other", T, T),
    ("1.2.x", "1.2.9", T, T),
    ("1.2.x", "1.3.0", F, F),
    ("1.2.x", "1.2.5-rc.1", F, T),
    ("1.2", "1.2.0-rc.1", F, F),  # below the floor 1.2.0 even when prereleases are included
    ("1.x", "1.9.9", T, T),
    ("1", "2.0.0", F, F),
    ("1.x.x", "1.5.0-beta", F, T),
    ("1.x.5", "1.0.0", T, T),  # everything after the first wildcard is ignored
    ("1.x-rc", "1.0.0-rc.2", T, T),  # the prerelease opens the group
    ("1.x-rc", "1.0.0-beta", F, F),
    ("*", "0.0.0", T, T),
    ("*", "99.0.0", T, T),
    ("*", "1.0.0-rc.1", F, T),
    ("*", "0.0.0-rc.1", F, F),  # below 0.0.0
    ("x", "3.1.4", T, T),
    ("X.x.X", "3.1.4", T, T),
    ("*-0", "1.0.0-rc.1", T, T),
    ("x.|", "3.0.0", T, T),  # Masterminds' part class takes "|"; after a wildcard it is ignored
    # !=: the prerelease rule applies first (v3.4.0 for every !=), then Masterminds' dirty cases.
    ("!=1.2.3", "1.2.4", T, T),
    ("!=1.2.3", "1.2.3+b", F, F),
    ("!=1.2.3", "1.2.4-rc.1", F, T),
    ("!=1.2.3-rc.1", "1.2.3-rc.2", T, T),
    ("!=1.2.3-rc.1", "1.2.3-rc.1", F, F),
    ("!=1.2.3-rc.1", "1.2.3", T, T),
    ("!=4.1-alpha", "4.1.0", T, T),  # issue 16: differs by prerelease only
    ("!=4.1-alpha", "4.1.7", T, T),
    ("!=4.1-alpha", "4.1.5-alpha", F, F),  # same prerelease, the patch is not looked at
    ("!=4.1-alpha", "4.2.0", T, T),
    ("!=4.1", "4.1.5", F, F),
    ("!=4.1", "4.1.5-rc.1", F, T),
    ("!=4.x", "4.9.0", F, F),
    ("!=4.x", "5.0.0", T, T),
    ("!=4.x", "3.0.0-rc.1", F, T),
    ("!=*", "1.0.0", T, T),  # a wildcard major compares minor and patch with 0
    ("!=*", "0.1.0", T, T),
    ("!=*", "0.0.0", F, F),
    # >
    (">1.2.3", "1.2.4", T, T),
    (">1.2.3", "1.2.3+b", F, F),
    (">1.2.3", "1.2.4-rc.1", F, T),
    (">1.2.3-rc.1", "1.2.3-rc.2", T, T),
    (">1.2.3-rc.1", "2.0.0-alpha", T, T),
    (">1", "1.9.9", F, F),  # >1 needs 2 or higher
    (">1.x", "2.0.0", T, T),
    (">1.2", "1.2.9", F, F),
    (">1.2", "1.3.0-rc.1", F, T),
    (">*", "0.0.1", T, T),
    (">*", "0.0.0", F, F),
    # <
    ("<2.0.0", "1.9.9", T, T),
    ("<2.0.0", "2.0.0-rc.1", F, T),  # 2.0.0-rc.1 sorts below 2.0.0
    ("<2.0.0-0", "2.0.0-rc.1", F, F),
    ("<2.0.0-0", "1.9.0-beta", T, T),
    ("<2", "2.0.0", F, F),
    ("<1.2", "1.1.9", T, T),
    # >= and =>
    (">=1.2.3", "1.2.3", T, T),
    (">=1.2.3", "1.2.3-rc.1", F, F),
    (">=1.2.3", "1.3.0-rc.1", F, T),
    (">=1.2.3-0", "1.2.3-alpha", T, T),
    ("=>1.2.3-0", "1.2.2", F, F),
    (">=1", "1.0.0", T, T),
    # <= and =<
    ("<=1.2.3", "1.2.3+b", T, T),
    ("<=1.2.3", "1.2.3-rc.1", F, T),
    ("=<1.2.3", "1.2.4", F, F),
    ("<=1.2", "1.2.9", T, T),
    ("<=1.2", "1.3.0", F, F),
    ("<=1", "1.99.0", T, T),
    ("<=1", "2.0.0", F, F),
    ("<=*", "0.0.9", T, T),
    ("<=*", "0.1.0", F, F),
    # ~ and ~>
    ("~1.2.3", "1.2.9", T, T),
    ("~1.2.3", "1.3.0", F, F),
    ("~1.2.3", "1.2.2", F, F),
    ("~1.2.3", "1.2.9-rc.1", F, T),
    ("~>1.2", "1.2.0", T, T),
    ("~1", "1.9.0", T, T),
    ("~1", "2.0.0", F, F),
    ("~0", "0.9.9", T, T),
    ("~0.0", "0.1.0", F, F),
    ("~0.0.0", "5.0.0", T, T),  # ~0.0.0 and ~* admit everything
    ("~*", "5.0.0-rc.1", F, T),
    ("~1.2.3-beta.2", "1.2.3-beta.4", T, T),
    ("~1.2.3-beta.2", "1.2.4-alpha", T, T),
    ("~1.2.3-beta.2", "1.2.3-beta.1", F, F),
    # ^
    ("^1.2.3", "1.9.9", T, T),
    ("^1.2.3", "2.0.0", F, F),
    ("^1.2.3", "1.2.2", F, F),
    ("^1.2.3", "1.5.0-rc.1", F, T),
    ("^1.2.3", "2.0.0-rc.1", F, F),
    ("^0.2.3", "0.2.9", T, T),
    ("^0.2.3", "0.3.0", F, F),
    ("^0.0.3", "0.0.3", T, T),
    ("^0.0.3", "0.0.4", F, F),
    ("^0.0", "0.0.9", T, T),
    ("^0.0", "0.1.0", F, F),
    ("^0", "0.9.9", T, T),
    ("^0", "1.0.0", F, F),
    ("^0.x", "0.5.0", T, T),
    ("^*", "0.0.0", T, T),  # ^* is 0.0.0 only (the source's comment says "any", its code does not)
    ("^*", "0.0.1", F, F),
    ("^1.2.3-beta", "1.2.3-beta.2", T, T),
    ("^1.2.3-beta", "1.4.0-alpha", T, T),
    # Hyphen ranges: >= low, <= high.
    ("1.2.3 - 2.3.4", "2.3.4", T, T),
    ("1.2.3 - 2.3.4", "2.3.5", F, F),
    ("1.2.3 - 2.3.4", "2.0.0-rc.1", F, T),
    ("1.2 - 2.3", "2.3.9", T, T),
    ("1.2.3-0 - 2.3.4", "2.0.0-rc.1", T, T),
    # || : each group decides about prereleases on its own.
    ("^1.0.0 || >=3.0.0-0", "1.5.0-rc.1", F, T),
    ("^1.0.0 || >=3.0.0-0", "3.1.0-rc.1", T, T),
    ("<1.0.0 || >=2.0.0", "1.5.0", F, F),
    # The AND-group rule of v3.4.0: one prerelease comparator opens the whole group.
    (">=1.0.0-0 <=2.0.0", "1.0.1-beta", T, T),  # issue 16
    (">=1.0.0-0 <2.0.0", "1.5.0-rc.1", T, T),
    (">=1.0.0-0 <2.0.0", "2.0.0-rc.1", T, T),
    (">=1.0.0 <2.0.0-0", "1.5.0-rc.1", T, T),
    ("^1.0.0, >=1.0.0-0", "1.2.0-rc.1", T, T),
    (">=1.0.0-0 !=1.5.0", "1.5.0-rc.1", T, T),
    (">=1.0.0 <2.0.0", "1.5.0-rc.1", F, T),
    # Separators, v prefixes, build metadata.
    (">= 1.2.3 , <2", "1.9.0", T, T),
    (">=1.2.3,<2", "2.0.0", F, F),
    (">=1.2.3\t<2", "1.5.0", T, T),
    ("v1.2.x", "1.2.7", T, T),
    (">=v1.2.3", "v1.3.0", T, T),
    (">1.2.3+b", "1.2.3+c", F, F),
]


@pytest.mark.parametrize(("text", "version", "flux", "with_prereleases"), CHECKS)
def test_check(text: str, version: str, flux: bool, with_prereleases: bool) -> None:
    constraint = ranges.parse_constraint(text)
    assert constraint is not None
    assert constraint.allows(v(version)) is flux
    assert constraint.allows(v(version), include_prerelease=True) is with_prereleases


@pytest.mark.parametrize(
    "text",
    [
        "",  # Flux asks for "*" when spec.version is empty
        " ",
        "latest",
        "6.5.0.1",
        ">>6",
        "==6",
        "<>6",
        "> =6",
        "!6",
        "^",
        "6.5.0 |",
        "||",
        "1 ||",
        "|| 1",
        "1|2",
        "1.2.|",  # "|" counts only after a wildcard
        "~ 6.x -",
        "6.5.0 - ",
        "1.0.0 -2.0.0",  # a hyphen range needs spaces on both sides
        "^1.2.3 - 2.0.0",  # the hyphen rewrite makes it "^>= 1.2.3, <= 2.0.0"
        "1 - 2 - 3",
        "1.2.3-",
        "1.2.3-01",
        "1.x+",
        "xx",
        "1x",
        "a.b.c",
        "V1",
        ",1",
        "1,",
        "1,,2",
        ">=1.2.3<2",
        "≥6",
        "\u00a01",  # only Go's \s (space, tab, CR, LF, FF) separates
        "1\v2",
        "18446744073709551616.x",
        "1.18446744073709551616.x",  # a written part must fit uint64
        ">=1.0.0-" + "a" * 251,  # its version is over 256 characters
    ],
)
def test_invalid_constraints(text: str) -> None:
    assert ranges.parse_constraint(text) is None


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        (">=1" + " " * 509, True),  # 512 characters
        (">=1" + " " * 510, False),  # 513: over MaxConstraintLen
        ("||".join(["1"] * 32), True),
        ("||".join(["1"] * 33), False),  # over MaxConstraintGroups
        (" ".join(["1"] * 256), True),  # AND terms are only bounded by the length
        ("1.x.18446744073709551616", True),  # ignored after the wildcard
        ("1 - 2 || 3 - 4", True),
        ("1\t-\t2", True),
        ("1 , 2", True),
        ("=1.2.3 - 2", False),  # the textual hyphen rewrite gives "=>= 1.2.3, <= 2 "
        ("1.x.18446744073709551616x", True),  # "x" is in the part class; ignored after the wildcard
    ],
)
def test_limits_and_corners(text: str, valid: bool) -> None:
    assert (ranges.parse_constraint(text) is not None) is valid


@pytest.mark.parametrize(
    "text",
    [
        "1" + "0" * 5000 + ".0.0",
        ">=" + "9" * 500,
        "^1.2.3 " * 300_000,  # 2 MB
        "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 !",
        "1  " * 170 + "x!",  # would backtrack exponentially in a regex transcription
        "\x00\x01 || \ud800",
        "🙂 - 🙂",
    ],
)
def test_hostile_constraints_are_just_invalid(text: str) -> None:
    assert ranges.parse_constraint(text) is None


@pytest.mark.parametrize("value", [None, 1, b">=1.0.0", [">=1"]])
def test_non_strings_are_not_constraints(value: object) -> None:
    assert ranges.parse_constraint(value) is None


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("6.5.0", True),
        ("v6.5.0", True),
        ("=6.5.0", True),
        ("= 6.5.0 ", True),
        ("1.0.0-rc.1", True),
        ("6.5", False),
        ("6.x", False),
        ("^6.5.0", False),
        ("", False),
        ("*", False),
        (">=6.5.0", False),
        ("\u00a06.5.0", False),
    ],
)
def test_exact_version(text: str, exact: bool) -> None:
    assert (ranges.exact_version(text) is not None) is exact


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("6.x", "6.0.0"),
        ("^6.1.0", "6.1.0"),
        (">=6.0.0 <7.0.0", "6.0.0"),
        ("<7.0.0", "0.0.0"),
        ("^5.0.0 || ^6.1.0", "5.0.0"),
        ("~6.1", "6.1.0"),
        (">=6.0.0-0 <7.0.0", "6.0.0-0"),
    ],
)
def test_floor(text: str, floor: str) -> None:
    constraint = ranges.parse_constraint(text)
    assert constraint is not None and constraint.floor == v(floor)


@pytest.mark.parametrize(
    ("text", "any_release", "prereleases"),
    [
        ("*", True, False),
        ("x.x", True, False),
        ("~*", True, False),
        ("*-0", False, True),
        (">=0.0.0", False, False),
        ("6.x", False, False),
        (">=1.0.0-0 <2.0.0", False, True),
        ("^1.0.0 || ^2.0.0-rc.1", False, True),
        ("* || 1.0.0", False, False),
    ],
)
def test_flags(text: str, any_release: bool, prereleases: bool) -> None:
    constraint = ranges.parse_constraint(text)
    assert constraint is not None
    assert constraint.matches_any_release is any_release
    assert constraint.admits_prereleases is prereleases
