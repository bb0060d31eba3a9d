"""Rewriting a range in its own style so Flux installs the proposed version (checking.ranges.rewrite).

Every rewrite is checked the way Flux's source-controller would use it: an exact string match
first, else the highest available version the range admits under Masterminds v3.5.0 ``Check``
(no ``IncludePrerelease``, the AND-group prerelease rule of v3.4.0). That must be the proposed
version, and the range must admit prereleases after the rewrite only if it did before or the
proposed version is one.
"""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.checking import ranges, versions


def v(text: str) -> versions.Version:
    parsed = versions.parse(text)
    assert parsed is not None, text
    return parsed


def flux_installs(spec_version: str, available: list[str]) -> str | None:
    """source-controller's getChartVersion: an exact string match, else the highest admitted version."""
    if spec_version in available:
        return spec_version
    constraint = ranges.parse_constraint(spec_version)
    assert constraint is not None, spec_version
    admitted = [a for a in available if constraint.allows(v(a))]
    return max(admitted, key=lambda a: versions.sort_key(v(a)), default=None)


# (range as written, proposed version, expected rewrite, other versions in the repository)
REWRITES = [
    ("6.5.0", "7.2.3", "7.2.3", ["6.5.0", "7.3.0-rc.1"]),
    ("v6.5.0", "7.2.3", "v7.2.3", []),
    ("=6.5.0", "7.2.3", "=7.2.3", []),
    ("6.5.0", "7.0.0-rc.1", "7.0.0-rc.1", ["6.5.0", "7.0.0-beta.1"]),
    ("6.x", "7.2.3", "7.x", ["6.9.0", "7.0.0", "7.3.0-rc.1"]),
    ("6.*", "7.2.3", "7.*", []),
    ("6.X", "7.2.3", "7.X", []),
    ("6", "7.2.3", "7", ["7.0.0"]),
    ("v6.x", "7.2.3", "v7.x", []),
    ("6.1.x", "7.2.3", "7.2.x", ["7.2.4-rc.1"]),
    ("6.1", "6.3.1", "6.3", ["6.3.0"]),
    ("^6.1.0", "7.2.3", "^7.2.3", ["6.9.0", "7.0.0", "7.3.0-rc.1"]),
    ("^6.1.0", "7.0.0-rc.1", "^7.0.0-rc.1", ["6.9.0", "7.0.0-beta.2"]),
    ("^6", "7.2.3", "^7", ["7.0.0"]),
    ("^6.x", "7.2.3", "^7.x", []),
    ("^0.2.3", "0.3.1", "^0.3.1", ["0.3.0", "0.4.0"]),
    ("~6.1.0", "7.2.3", "~7.2.3", ["7.2.0"]),
    ("~6.1", "7.2.3", "~7.2", ["7.2.0"]),
    ("~>6.1.0", "6.2.4", "~>6.2.4", []),
    # A written prerelease (the "-0" idiom) is kept: the range stays opted into prereleases.
    ("^6.1.0-0", "7.2.3", "^7.2.3-0", ["7.2.3-rc.1", "7.0.0"]),
    ("^6.1.0-0", "7.3.0-beta.1", "^7.3.0-beta.1", ["7.2.3", "7.3.0-alpha"]),
    ("~6.1-0", "6.2.0-rc.1", "~6.2-0", ["6.1.5", "6.2.0-beta"]),
    # Two-sided ranges keep their width; bounds keep their shape and their prerelease.
    (">=6.0.0 <7.0.0", "7.2.3", ">=7.0.0 <8.0.0", ["6.9.0", "7.0.0", "7.5.0-rc.1", "8.0.0"]),
    (">=6.0.0, <7.0.0", "8.1.0", ">=8.0.0, <9.0.0", ["8.0.0"]),
    (">=6.1.0, <6.3.0", "7.2.3", ">=7.2.0, <7.4.0", ["7.3.0-rc.1"]),
    (">=6 <7", "7.2.3", ">=7 <8", []),
    ("<7.0.0 >=6.0.0", "7.0.1", "<8.0.0 >=7.0.0", []),
    (">=6 <6.5", "7.2.3", ">=7.2 <7.7", []),  # width: 5 minors
    (">6.0.0 <7.0.0", "7.2.3", ">7.0.0 <8.0.0", []),
    # Since v3.4.0 a prerelease floor admits prereleases up to the upper bound, so this works now.
    (">=6.0.0 <7.0.0", "7.0.0-rc.1", ">=7.0.0-rc.1 <8.0.0", ["6.9.0", "7.0.0-beta.1"]),
    (">=6.0.0-0 <7.0.0", "7.2.3", ">=7.0.0-0 <8.0.0", ["7.0.0-rc.1", "7.1.0"]),
    (">=6.0.0-0 <7.0.0", "8.0.0-beta.1", ">=8.0.0-beta.1 <9.0.0", ["7.9.0"]),
    (">=6.0.0 <7.0.0-0", "7.2.3", ">=7.0.0 <8.0.0-0", ["7.2.3-rc.1", "8.0.0-rc.1"]),
    # Already admitted: unchanged.
    (">=6.0.0", "7.2.3", ">=6.0.0", []),
    ("^7.0.0", "7.2.3", "^7.0.0", ["7.0.0"]),
    (">=1.0.0-0 <=2.0.0", "1.0.1-beta", ">=1.0.0-0 <=2.0.0", ["1.0.0"]),  # issue 16's range
]


@pytest.mark.parametrize(("text", "new", "expected", "others"), REWRITES)
def test_rewrite_keeps_the_style_and_flux_installs_the_proposal(
    text: str, new: str, expected: str, others: list[str]
) -> None:
    rewritten = ranges.rewrite(text, v(new))
    assert rewritten == expected
    assert flux_installs(rewritten, [*others, new]) == new
    before, after = ranges.parse_constraint(text), ranges.parse_constraint(rewritten)
    assert before is not None and after is not None
    assert after.admits_prereleases is (before.admits_prereleases or v(new).is_prerelease)


@pytest.mark.parametrize(
    ("text", "new"),
    [
        ("^5.0.0 || ^6.1.0", "7.2.3"),  # OR: which branch to move is a human choice
        ("!=6.5.0 <7.0.0", "7.2.3"),
        ("6.0.0 - 6.9.9", "7.2.3"),  # hyphen range
        ("<7.0.0", "7.2.3"),  # an upper bound alone
        ("<=6.5.0", "7.2.3"),
        (">=6.0.0 <=6.9.9", "7.2.3"),  # inclusive upper bound
        (">6 <7", "7.2.3"),  # >6 means 7 or higher: shifting it is ambiguous
        ("6.x", "7.0.0-rc.1"),  # a wildcard would need a written prerelease to admit one
        ("^6", "7.0.0-rc.1"),
        (">=6.0.0 <7.0.0", "7.2.0-rc.1"),  # the floor 7.0.0 is not the prerelease's own version
        ("", "7.2.3"),  # not a Masterminds constraint
        ("not a range", "7.2.3"),
    ],
)
def test_rewrite_refuses_what_it_cannot_do_safely(text: str, new: str) -> None:
    assert ranges.rewrite(text, v(new)) is None
