"""Semantic versions as Helm and Flux read them (Masterminds semver v3 `NewVersion` semantics).

Called by `checking.ranges` (constraints), `checking.decisions` (choosing the newest chart version)
and by the OCI tag listing in `sources/` (tags -> versions). Pure: strings in, values out.

Semantics chosen, matching Masterminds/semver v3 (which Helm and Flux's source-controller use):

- An optional leading ``v`` is accepted: ``v1.2.3`` == ``1.2.3``; `Version.original` keeps it.
- Partial versions are coerced: ``1`` -> 1.0.0, ``1.2`` -> 1.2.0 (Masterminds ``NewVersion``,
  not ``StrictNewVersion``).
- Leading zeros in major/minor/patch are accepted and read as numbers (``01.2.3`` -> 1.2.3), as the
  non-strict parser does; leading zeros in a *numeric prerelease identifier* (``1.0.0-01``) are
  rejected, as Masterminds v3 validates prereleases per SemVer 2.0.
- Numbers must fit in an unsigned 64-bit integer (Masterminds parses with ``ParseUint(…, 64)``).
- Precedence per SemVer 2.0: a prerelease sorts below its release; prerelease identifiers compare
  numerically when both are numeric, lexically (ASCII) when both are alphanumeric, numeric <
  alphanumeric, and a shorter identifier list sorts lower when it is a prefix of the longer one.
- Build metadata (``+build``) is ignored for ordering *and* equality: ``1.0.0+a == 1.0.0+b``.
- Anything else (whitespace, empty identifiers, ``1.2.3.4``, Python-style ``1.0rc1``) -> ``None``.
  Python's ``packaging`` disagrees on several of these; never use it for chart versions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_UINT64_MAX = 2**64 - 1

# Masterminds v3 accepts 1 to 3 numeric parts, then an optional prerelease and build metadata.
_VERSION_RE = re.compile(
    r"v?(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?(?:\.(?P<patch>[0-9]+))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)

# One prerelease identifier's sort key: numeric ones sort before alphanumeric ones (SemVer 2.0 §11).
_PreKey = tuple[int, int, str]


def _pre_key(identifier: str) -> _PreKey:
    if identifier.isdigit():
        return (0, int(identifier), "")
    return (1, 0, identifier)


@dataclass(frozen=True, eq=False)
class Version:
    """One parsed version. Compare with <, ==, etc.: build metadata and ``v`` do not count."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""
    original: str = ""
    # Precomputed sort key: (major, minor, patch, is_release, prerelease identifier keys).
    _key: tuple[int, int, int, int, tuple[_PreKey, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pre = tuple(_pre_key(p) for p in self.prerelease)
        # frozen dataclass: __setattr__ is blocked, so use object's on our own instance.
        object.__setattr__(self, "_key", (self.major, self.minor, self.patch, 0 if pre else 1, pre))

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def has_v_prefix(self) -> bool:
        return self.original.startswith("v")

    def __str__(self) -> str:
        """The canonical form (no ``v``), with prerelease and build metadata."""
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + self.build
        return text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __lt__(self, other: Version) -> bool:
        return self._key < other._key

    def __le__(self, other: Version) -> bool:
        return self._key <= other._key

    def __gt__(self, other: Version) -> bool:
        return self._key > other._key

    def __ge__(self, other: Version) -> bool:
        return self._key >= other._key


def parse(text: str) -> Version | None:
    """Parse a version like Masterminds ``NewVersion``; ``None`` when it is not a version."""
    if not isinstance(text, str):
        return None
    match = _VERSION_RE.fullmatch(text)
    if match is None:
        return None
    numbers = [int(match.group(name) or 0) for name in ("major", "minor", "patch")]
    if any(n > _UINT64_MAX for n in numbers):
        return None
    pre_text = match.group("pre")
    prerelease: tuple[str, ...] = ()
    if pre_text:
        prerelease = tuple(pre_text.split("."))
        # SemVer 2.0 §9: numeric identifiers must not have leading zeros (Masterminds v3 agrees).
        if any(p.isdigit() and len(p) > 1 and p[0] == "0" for p in prerelease):
            return None
    return Version(numbers[0], numbers[1], numbers[2], prerelease, match.group("build") or "", text)


def is_valid(text: str) -> bool:
    return parse(text) is not None


def newest(versions: Iterable[Version]) -> Version | None:
    """The highest version, or ``None`` for an empty iterable."""
    return max(versions, default=None)


def sort_key(version: Version) -> tuple[int, int, int, int, tuple[_PreKey, ...]]:
    """A key for `sorted()` ordering versions by SemVer precedence."""
    return version._key
