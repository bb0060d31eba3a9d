"""Masterminds-semver parsing and precedence of chart versions (checking.versions)."""

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
        ("v1.2.3", "1.2.3"),
        ("1", "1.0.0"),
        ("1.2", "1.2.0"),
        ("v2", "2.0.0"),
        ("01.002.3", "1.2.3"),  # non-strict NewVersion reads leading zeros as numbers
        ("1.0.0-rc.1", "1.0.0-rc.1"),
        ("1.0.0-0", "1.0.0-0"),
        ("1.0.0-alpha-1.x-y", "1.0.0-alpha-1.x-y"),
        ("1.0.0+build.5", "1.0.0+build.5"),
        ("1.0.0-beta.2+exp.sha.5114f85", "1.0.0-beta.2+exp.sha.5114f85"),
        ("1.0.0+001", "1.0.0+001"),  # leading zeros are fine in build metadata
        ("18446744073709551615.0.0", "18446744073709551615.0.0"),
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
        " 1.2.3",
        "1.2.3 ",
        "1.2.3.4",
        "1.0rc1",  # PEP 440 spelling, not semver
        "1.0.0-",
        "1.0.0-rc..1",
        "1.0.0-01",  # numeric prerelease identifier with a leading zero
        "1.0.0+",
        "V1.2.3",
        "latest",
        "1.2.x",
        "18446744073709551616.0.0",  # does not fit uint64
        "1.2.3-rc_1",
    ],
)
def test_parse_invalid(text: str) -> None:
    assert versions.parse(text) is None
    assert not versions.is_valid(text)


# Each list is in ascending SemVer 2.0 precedence (the spec's own example first).
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
    ["1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-a"],  # numeric < alphanumeric
    ["1.0.0-rc", "1.0.0-rc.0"],  # a shorter identifier list sorts lower
    ["1.0.0-Z", "1.0.0-a"],  # ASCII order for alphanumerics
    ["0.9.9", "1.0.0-0", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0", "10.0.0"],
]


@pytest.mark.parametrize("ordered", ASCENDING)
def test_precedence_order(ordered: list[str]) -> None:
    parsed = [v(t) for t in ordered]
    shuffled = list(parsed)
    random.Random(7).shuffle(shuffled)
    assert [p.original for p in sorted(shuffled)] == ordered
    for low, high in itertools.pairwise(parsed):
        assert low < high and high > low and low != high


@pytest.mark.parametrize(
    ("a", "b"),
    [("1.0.0+build.1", "1.0.0+build.2"), ("v1.2.3", "1.2.3"), ("1.2", "1.2.0"), ("1.0.0-rc.1+a", "1.0.0-rc.1")],
)
def test_equal_ignoring_build_and_prefix(a: str, b: str) -> None:
    va, vb = v(a), v(b)
    assert va == vb and hash(va) == hash(vb)
    assert not va < vb and not vb < va


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
