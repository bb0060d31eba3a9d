"""Chart versions parsed and ordered as Masterminds/semver v3.5.0 does (checking.versions).

Cases written from v3.5.0's ``NewVersion`` (CoerceNewVersion on), ``validatePrerelease`` and
``Compare``/``comparePrePart``; `test_masterminds_golden.py` replays answers of the library itself.
"""

from __future__ import annotations

import itertools
import random

import packaging.version
import pytest

from fluxcd_helm_upgrader.checking import versions


def v(text: str) -> versions.Version:
    parsed = versions.parse(text)
    assert parsed is not None, text
    return parsed


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),  # lowercase v only
        ("1", "1.0.0"),  # partial versions are coerced
        ("1.2", "1.2.0"),
        ("v2", "2.0.0"),
        ("v0", "0.0.0"),
        ("1-rc.1", "1.0.0-rc.1"),  # a prerelease on a partial version
        ("1.2+build", "1.2.0+build"),
        ("01.002.3", "1.2.3"),  # CoerceNewVersion: leading zeros read as numbers (v3.4.0+)
        ("1." + "0" * 250, "1.0.0"),  # 252 characters: ParseUint reads the zeros as 0
        ("1.0.0-rc.1", "1.0.0-rc.1"),
        ("1.0.0-0", "1.0.0-0"),
        ("1.0.0-alpha-1.x-y", "1.0.0-alpha-1.x-y"),
        ("1.0.0--", "1.0.0--"),  # "-" is an identifier character
        ("1.0.0-0a", "1.0.0-0a"),  # alphanumeric: its leading zero is fine
        ("1.0.0+build.5", "1.0.0+build.5"),
        ("1.0.0-beta.2+exp.sha.5114f85", "1.0.0-beta.2+exp.sha.5114f85"),
        ("1.0.0+001", "1.0.0+001"),  # leading zeros are fine in build metadata
        ("1.0.0-99999999999999999999999", "1.0.0-99999999999999999999999"),  # no uint64 limit here
        ("18446744073709551615.0.0", "18446744073709551615.0.0"),
        ("1.0.0-" + "a" * 250, "1.0.0-" + "a" * 250),  # exactly 256 characters
    ],
)
def test_parse_valid(text: str, canonical: str) -> None:
    version = versions.parse(text)
    assert version is not None
    assert str(version) == canonical
    assert version.original == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v",
        "V1.2.3",  # only a lowercase v
        "vv1",
        " 1.2.3",
        "1.2.3 ",
        "1.2.3\n",  # Go's $ does not match before a final newline
        "1.2.3\t",
        "1.2.3.4",
        "1.",
        ".1",
        "1..2",
        "1.0rc1",  # PEP 440 spelling, not semver
        "1.0.0-",
        "1.0.0-rc..1",
        "1.0.0-01",  # numeric prerelease identifier with a leading zero
        "1.0.0-00",
        "1.0.0-rc.01",
        "1.0.0+",
        "1.0.0+a..b",
        "1.0.0-a+",
        "1.2.3-rc_1",
        "1.2.x",
        "*",
        "latest",
        "18446744073709551616.0.0",  # does not fit uint64
        "1.18446744073709551616",
        "0.0.99999999999999999999",
        "1.0.0-" + "a" * 251,  # 257 characters: over MaxVersionLen
        "1.2.3-é",
        "é",
        "\u0661.2.3",  # Arabic-Indic digit: not [0-9]
        "\uff11.2.3",  # fullwidth digit one
        "1.2.3\x00",
    ],
)
def test_parse_invalid(text: str) -> None:
    assert versions.parse(text) is None
    assert not versions.is_valid(text)


@pytest.mark.parametrize(
    "text",
    [
        "1" + "0" * 5000 + ".0.0",  # a hostile HelmRelease: int() of it would raise in Python 3.11+
        "0." + "9" * 5000,
        "1.0.0-" + "1" * 5000,
        "9" * 4301,  # just over Python's int() digit limit
        "1.2.3" * 400_000,  # 2 MB
        "v" + "1." * 1_000_000,
        "\x00\x01\x7f\ud800",
        "🙂.1.2",
        "\u200b1.2.3",
    ],
)
def test_hostile_input_is_just_not_a_version(text: str) -> None:
    assert versions.parse(text) is None


@pytest.mark.parametrize("value", [None, 1, 1.2, b"1.2.3", ["1.2.3"], object()])
def test_non_strings_are_not_versions(value: object) -> None:
    assert versions.parse(value) is None


@pytest.mark.parametrize(
    ("digits", "value"),
    [
        ("0", 0),
        ("000", 0),
        ("18446744073709551615", 2**64 - 1),
        ("0018446744073709551615", 2**64 - 1),
        ("18446744073709551616", None),
        ("", None),
        ("1a", None),
        ("-1", None),
        ("+1", None),
        ("٣", None),
        ("9" * 5000, None),
    ],
)
def test_uint64(digits: str, value: int | None) -> None:
    assert versions.uint64(digits) == value


# Each list is in ascending precedence (Masterminds Compare), the SemVer spec's own example first.
ASCENDING = [
    [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ],
    ["1.0.0-alpha.9", "1.0.0-alpha.10"],  # numeric identifiers compare as numbers
    ["1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0--", "1.0.0-a"],  # numbers < words; "-" < letters in ASCII
    ["1.0.0-rc", "1.0.0-rc.0"],  # a shorter identifier list sorts lower
    ["1.0.0-Z", "1.0.0-a"],  # ASCII order for words
    ["1.0.0-0a", "1.0.0-0b", "1.0.0-1a"],  # digits-and-letters are words
    # A digit string beyond uint64 fails ParseUint, so Masterminds compares it as a word: after every
    # number, and lexically against another such string ("2…" > "1…" whatever the lengths).
    ["1.0.0-18446744073709551615", "1.0.0-100000000000000000000000", "1.0.0-20000000000000000000", "1.0.0-a"],
    ["0.9.9", "1.0.0-0", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0", "10.0.0", "18446744073709551615.0.0"],
]


@pytest.mark.parametrize("ordered", ASCENDING)
def test_precedence_order(ordered: list[str]) -> None:
    parsed = [v(t) for t in ordered]
    shuffled = list(parsed)
    random.Random(7).shuffle(shuffled)
    assert [p.original for p in sorted(shuffled)] == ordered
    assert [p.original for p in sorted(shuffled, key=versions.sort_key)] == ordered
    for low, high in itertools.pairwise(parsed):
        assert low < high and high > low and low != high and low <= high and high >= low


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0.0+build.1", "1.0.0+build.2"),
        ("v1.2.3", "1.2.3"),
        ("1.2", "1.2.0"),
        ("1", "v1.0.0+x"),
        ("01.2.3", "1.2.3"),
        ("1.0.0-rc.1+a", "1.0.0-rc.1"),
    ],
)
def test_equal_ignoring_build_and_prefix(a: str, b: str) -> None:
    va, vb = v(a), v(b)
    assert va == vb and hash(va) == hash(vb)
    assert not va < vb and not vb < va and va <= vb and va >= vb


@pytest.mark.parametrize(
    ("a", "b", "semver_says", "packaging_says"),
    [
        # packaging reads "rc.1" and "rc1" alike; Masterminds has no "1.0.0rc1" at all.
        ("1.0.0-rc.1", "1.0.0rc1", "invalid", "equal"),
        # packaging sorts "+local" versions above the plain version; semver ignores build metadata.
        ("1.0.0+build", "1.0.0", "equal", "greater"),
        # The classic lexical-sort trap ("10" < "9" as text): both get it right.
        ("1.0.0-alpha.10", "1.0.0-alpha.9", "greater", "greater"),
        # "1.0.0-1": packaging reads a post-release (> 1.0.0); semver a prerelease (< 1.0.0).
        ("1.0.0-1", "1.0.0", "less", "greater"),
        # packaging: dev < alpha; semver compares lexically: "alpha" < "dev".
        ("1.0.0-dev", "1.0.0-alpha", "greater", "less"),
    ],
)
def test_cases_where_packaging_disagrees(a: str, b: str, semver_says: str, packaging_says: str) -> None:
    def relation(x: object, y: object) -> str:
        if x is None or y is None:
            return "invalid"
        return "less" if x < y else "greater" if x > y else "equal"  # type: ignore[operator]

    assert relation(versions.parse(a), versions.parse(b)) == semver_says
    assert relation(packaging.version.Version(a), packaging.version.Version(b)) == packaging_says


def test_newest_and_prerelease_flags() -> None:
    parsed = [versions.parse(t) for t in ("1.2.3", "v2.0.0-rc.1", "1.10.0", "2.0.0-beta")]
    newest = versions.newest(p for p in parsed if p is not None)
    assert newest is not None and newest.original == "v2.0.0-rc.1"
    assert newest.is_prerelease and newest.has_v_prefix and newest.core == (2, 0, 0)
    assert versions.newest([]) is None
