"""Semantic versions as Helm and Flux read them: Masterminds/semver v3.5.0 ``NewVersion`` and ``Compare``.

Called by `checking.ranges` (constraints), `checking.decisions` (choosing the newest chart version),
`checking.applying` and `checking.oci_tags` (tags -> versions). Pure: strings in, values out.

Reference: github.com/Masterminds/semver/v3 v3.5.0, the release Flux's source-controller and Helm
link (read from its ``version.go``). `parse` is its lenient ``NewVersion`` with the defaults
``CoerceNewVersion = true`` (leading zeros allowed again since v3.4.0, released 2025-06-27),
never ``StrictNewVersion``:

- At most 256 characters (v3.5.0's ``MaxVersionLen``), checked before any regex or ``int()``: a
  hostile ``"1" + "0" * 5000 + ".0.0"`` is "not a version", never a ``ValueError``.
- ``v?MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]``, ASCII only: an optional lowercase ``v``
  (``v1.2.3`` == ``1.2.3``; `Version.original` keeps it), missing parts read as 0 (``1`` -> 1.0.0,
  ``1.2`` -> 1.2.0), leading zeros in the numbers read as numbers (``01.2.3`` -> 1.2.3).
- Each number must fit an unsigned 64-bit integer (``ParseUint(…, 10, 64)``).
- Prerelease and build identifiers are ``[0-9A-Za-z-]+``, dot-separated, never empty; a numeric
  prerelease identifier must not have a leading zero (``1.0.0-01`` is invalid; ``1.0.0+001`` is fine).
- Anything else (whitespace, ``V1``, ``1.2.3.4``, ``1.0rc1``, a trailing newline) -> ``None``.
  `parse` never raises, whatever it is given.

Ordering is Masterminds ``Compare`` (SemVer 2.0 precedence): numbers first; a prerelease sorts
below its release; prerelease identifiers compare left to right, numerically when both parse as
uint64, ASCII-lexically otherwise, a number below a word, and a shorter list below a longer one
it prefixes. A digits-only identifier too big for uint64 is compared as a word, as Masterminds does.
Build metadata counts for neither order nor equality (``1.0.0+a == 1.0.0+b``).
Python's ``packaging`` disagrees on several of these; never use it for chart versions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_LENGTH = 256  # Masterminds v3.5.0 MaxVersionLen
UINT64_MAX = 2**64 - 1
# Digits of UINT64_MAX: a longer digit string cannot fit, so int() is never called on one.
_UINT64_DIGITS = len(str(UINT64_MAX))

_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
# Masterminds' looseSemVerRegex; matched with fullmatch, which is Go's ``^…$`` (no newline before $).
_VERSION_RE = re.compile(
    rf"v?(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?(?:\.(?P<patch>[0-9]+))?"
    rf"(?:-(?P<pre>{_IDENTIFIERS}))?(?:\+(?P<build>{_IDENTIFIERS}))?"
)

# One prerelease identifier's sort key: (0, number, "") for numbers, (1, 0, text) for words.
_PreKey = tuple[int, int, str]


def uint64(digits: str) -> int | None:
    """The value of an ASCII digit string, or ``None`` when it does not fit uint64 (``ParseUint``)."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    significant = digits.lstrip("0") or "0"  # ParseUint reads "000" as 0
    if len(significant) > _UINT64_DIGITS:
        return None
    value = int(significant)
    return value if value <= UINT64_MAX else None


def _pre_key(identifier: str) -> _PreKey:
    number = uint64(identifier)
    return (1, 0, identifier) if number is None else (0, number, "")


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


def parse(text: object) -> Version | None:
    """Parse a version like Masterminds v3.5.0 ``NewVersion``; ``None`` when it is not one (never raises)."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        return None
    match = _VERSION_RE.fullmatch(text)
    if match is None:
        return None
    numbers = [uint64(match.group(name) or "0") for name in ("major", "minor", "patch")]
    if numbers[0] is None or numbers[1] is None or numbers[2] is None:
        return None
    pre_text = match.group("pre")
    prerelease: tuple[str, ...] = ()
    if pre_text:
        prerelease = tuple(pre_text.split("."))
        # SemVer 2.0 §9 (Masterminds validatePrerelease): numeric identifiers have no leading zero.
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
