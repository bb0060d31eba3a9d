"""Version constraints as written in ``HelmRelease.spec.chart.spec.version`` (Masterminds semver v3.5.0).

Called by `checking.decisions` (does the range admit the newest chart? what to write instead?),
`checking.policy` (ignore rules' ``versions``) and `checking.applying`. Pure.

Reference: github.com/Masterminds/semver/v3 v3.5.0 ``NewConstraint`` and ``Constraints.Check``
(its ``constraints.go``), the release Flux's source-controller uses. Flux never sets
``IncludePrerelease`` and passes ``*`` for an empty version, so `Constraint.allows` defaults to that.

- Syntax: comparators ``=`` (or none), ``!=``, ``>``, ``<``, ``>=`` (``=>``), ``<=`` (``=<``), ``~``
  (``~>``), ``^``; AND-ed by whitespace or commas; OR-ed by ``||``; ``1.2.3 - 2.0.0`` is rewritten to
  ``>= 1.2.3, <= 2.0.0`` first (textually, as Masterminds does). A version part is digits or
  ``x``/``X``/``*``; a missing or wildcard part makes the comparator "dirty" and everything after the
  first wildcard is ignored (``6``, ``6.x``, ``6.*`` mean ``>=6.0.0 <7.0.0``; ``6.1`` means
  ``>=6.1.0 <6.2.0``). Versions in constraints follow `versions.parse` (``v`` prefix, leading zeros,
  uint64, 256 characters). Whitespace is Go's ``\\s`` (space, tab, CR, LF, FF), nothing else.
- Limits (v3.5.0): at most 512 characters and 32 ``||`` groups. ``""`` is not a constraint (Flux
  asks for ``*`` instead). The version-part character class also takes ``|``, which only survives
  after a wildcard (``x.|`` is ``*``); kept too.
- Prereleases, the rule since v3.4.0 ("Handle pre-releases on all in an and group", 2025-06-26;
  released 2025-06-27): a prerelease is admitted only by an AND group with at least one comparator
  carrying a prerelease, and then by *every* comparator of that group (``>=1.0.0-0 <=2.0.0`` admits
  ``1.0.1-beta``); other ``||`` groups are unaffected.
  ``allows(v, include_prerelease=True)`` is ``IncludePrerelease`` (used by ignore rules, where
  ``>=7.0.0`` should also ignore ``7.1.0-rc.1``).
- Each operator is Masterminds' function, corners included: ``!=4.1-alpha`` admits ``4.1.0``;
  ``!=*`` rejects only ``0.0.0``; ``^*`` means ``0.0.0``; ``<=*`` means ``0.0.x``.

AND groups are read by a linear scanner, not Masterminds' regular expressions, which Python's
backtracking engine runs in exponential time on some inputs (tests compare the two).

`rewrite(text, new)` returns a constraint in the same style that admits ``new`` (or ``None``):

- exact ``6.5.0`` -> ``7.2.3``; ``v6.5.0`` -> ``v7.2.3``; ``=6.5.0`` -> ``=7.2.3`` (prefixes kept).
- wildcards keep their shape: ``6.x`` -> ``7.x``, ``6`` -> ``7``, ``6.1.x`` -> ``7.2.x``, ``6.1`` -> ``7.2``.
- ``^``/``~``: the floor becomes the new version, with as many parts as were written:
  ``^6.1.0`` -> ``^7.2.3``, ``~6.1`` -> ``~7.2``, ``^6`` -> ``^7``. The floor is the new version
  itself so that versions we skipped (closed PRs, ignore rules, the policy cap) cannot be installed
  by Flux through the rewritten range.
- a two-sided range keeps its width: ``>=6.0.0 <7.0.0`` -> ``>=7.0.0 <8.0.0``; ``>=6.1.0, <6.3.0``
  with 7.2.3 -> ``>=7.2.0, <7.4.0`` (separators, spacing and operators kept).
- prereleases: a comparator keeps the prerelease it was written with (``^6.1.0-0`` -> ``^7.2.3-0``,
  ``>=6.0.0-0 <7.0.0`` -> ``>=7.0.0-0 <8.0.0``), so a group that opted into prereleases stays opted
  in; one that did not opts in only to admit a prerelease ``new``, written on a fully written floor
  equal to it (``^6.1.0`` -> ``^7.0.0-rc.1``, ``>=6.0.0 <7.0.0`` -> ``>=7.0.0-rc.1 <8.0.0``).
- ``||``, ``!=``, hyphen ranges, one-sided upper bounds (``<7``) and inclusive upper bounds
  (``<=6.9.9``: is that "6.x" or "width 0.9.9"?) are not rewritten: ``None``. A rewrite is only
  returned after checking that the result admits ``new`` as Flux checks it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fluxcd_helm_upgrader.checking import versions

MAX_LENGTH = 512  # Masterminds v3.5.0 MaxConstraintLen
MAX_GROUPS = 32  # Masterminds v3.5.0 MaxConstraintGroups

_SPACE = "\t\n\f\r "  # Go regexp's \s
_OP_CHARS = frozenset("=!<>~^")
# Every operator as written -> its normalized form ("" is "=").
_OPS = {op: op for op in ("=", "!=", ">", "<", ">=", "<=", "~", "^")} | {"": "=", "=>": ">=", "=<": "<=", "~>": "~"}
_WILDCARDS = frozenset("xX*")
_S = r"[\t\n\f\r ]"
_IDS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_PART = r"[0-9|xX*]+"  # Masterminds' [0-9|x|X|\*]+, the literal "|" included
_CV = rf"v?(?P<p0>{_PART})(?:\.(?P<p1>{_PART}))?(?:\.(?P<p2>{_PART}))?(?:-(?P<pre>{_IDS}))?(?:\+{_IDS})?"
_CV_RE = re.compile(_CV)
_PLAIN_CV = re.sub(r"\(\?P<\w+>", "(?:", _CV)
# Masterminds' constraintRangeRegex. Atomic groups and possessive quantifiers keep Python from
# backtracking, which cannot change the match here (a version never contains or starts with
# whitespace, so giving back characters only fails later) but would cost cubic time on 512 spaces.
_HYPHEN_RE = re.compile(rf"{_S}*+((?>{_PLAIN_CV})){_S}++-{_S}++((?>{_PLAIN_CV})){_S}*+")
_EXACT_RE = re.compile(rf"({_S}*=?{_S}*)(v?)([0-9]+\.[0-9]+\.[0-9]+(?:-{_IDS})?(?:\+{_IDS})?){_S}*")


@dataclass(frozen=True)
class Comparator:
    """One ``op version`` term. ``version`` has wildcards replaced by 0 (Masterminds does the same)."""

    op: str  # normalized: = != > < >= <= ~ ^
    token: str  # the version as written, e.g. "v6.x"
    version: versions.Version
    parts: tuple[str, ...]  # the written parts, e.g. ("6", "x")
    dirty: bool  # some part is a wildcard or missing
    minor_dirty: bool  # minor (and patch) are wildcards/missing
    patch_dirty: bool  # only patch is a wildcard/missing
    start: int  # span of `token` in the constraint text (hyphen ranges: in their >=/<= expansion)
    end: int

    def allows(self, v: versions.Version, include_prerelease: bool = False) -> bool:
        """Masterminds' check of this one term; `include_prerelease` is decided by its AND group."""
        if v.is_prerelease and not include_prerelease:
            return False
        return _CHECKS[self.op](self, v)

    @property
    def floor(self) -> versions.Version | None:
        """The lowest version this term can admit, when it bounds from below."""
        return self.version if self.op in ("=", ">", ">=", "~", "^") else None


def _tilde(c: Comparator, v: versions.Version) -> bool:
    con = c.version
    if v < con:
        return False
    if con.core == (0, 0, 0) and not c.minor_dirty and not c.patch_dirty:
        return True  # ~0.0.0, ~*, x: anything at or above 0.0.0
    if v.major != con.major:
        return False
    return c.minor_dirty or v.minor == con.minor


def _caret(c: Comparator, v: versions.Version) -> bool:
    con = c.version
    if v < con:
        return False
    if con.major > 0 or c.minor_dirty:
        return v.major == con.major
    if v.major > 0:
        return False
    if con.minor > 0 or c.patch_dirty:
        return v.minor == con.minor
    return v.minor == 0 and v.patch == con.patch  # ^0.0.z (and ^*) is effectively =0.0.z


def _equal(c: Comparator, v: versions.Version) -> bool:
    return _tilde(c, v) if c.dirty else v == c.version


def _not_equal(c: Comparator, v: versions.Version) -> bool:
    con = c.version
    if c.dirty:
        if v.major != con.major:
            return True
        if c.minor_dirty:
            return False
        if v.minor != con.minor:
            return True
        if c.patch_dirty:  # != 4.1-alpha: differs when the prereleases differ (4.1.0 vs 4.1.0-alpha)
            return v.prerelease != con.prerelease
        if v.patch != con.patch:
            return True
    return v != con


def _greater(c: Comparator, v: versions.Version) -> bool:
    con = c.version
    if c.dirty and v.major != con.major:
        return v.major > con.major
    if c.minor_dirty:
        return False  # >6 needs 7 or higher
    if c.patch_dirty:
        return v.minor > con.minor  # >6.1 needs 6.2 or higher
    return v > con


def _less_equal(c: Comparator, v: versions.Version) -> bool:
    con = c.version
    if not c.dirty:
        return v <= con
    if v.major != con.major:
        return v.major < con.major
    return c.minor_dirty or v.minor <= con.minor


_CHECKS: dict[str, Callable[[Comparator, versions.Version], bool]] = {
    "=": _equal,
    "!=": _not_equal,
    ">": _greater,
    "<": lambda c, v: v < c.version,
    ">=": lambda c, v: v >= c.version,
    "<=": _less_equal,
    "~": _tilde,
    "^": _caret,
}


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: OR of AND-groups of comparators."""

    text: str
    groups: tuple[tuple[Comparator, ...], ...]
    has_hyphen: bool = False

    def allows(self, v: versions.Version, include_prerelease: bool = False) -> bool:
        """Masterminds ``Check``: some group admits `v`, each group deciding about prereleases as a whole."""
        return any(all(c.allows(v, include_prerelease or _opts_in(group)) for c in group) for group in self.groups)

    @property
    def admits_prereleases(self) -> bool:
        """True when some AND group carries a prerelease, so Flux may install prereleases through it."""
        return any(_opts_in(group) for group in self.groups)

    @property
    def matches_any_release(self) -> bool:
        """True for ``*``, ``x``, ``x.x``: one term admitting every release and no prerelease."""
        if len(self.groups) != 1 or len(self.groups[0]) != 1:
            return False
        term = self.groups[0][0]
        return term.op in ("=", "~") and term.parts[0] in _WILDCARDS and not term.version.is_prerelease

    @property
    def floor(self) -> versions.Version:
        """The lowest version the constraint can admit (0.0.0 when unbounded below)."""
        floors = []
        for group in self.groups:
            bounds = [c.floor for c in group if c.floor is not None]
            floors.append(max(bounds) if bounds else versions.Version(0, 0, 0))
        return min(floors)


def _opts_in(group: tuple[Comparator, ...]) -> bool:
    return any(c.version.is_prerelease for c in group)


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in _SPACE:
        index += 1
    return index


def _scan_group(chunk: str) -> list[tuple[str, re.Match[str]]] | None:
    """``(operator, version match)`` per term of an AND group; ``None`` when malformed.

    Accepts exactly what Masterminds' validConstraintRegex accepts and splits it as its
    findConstraintRegex does: ``\\s* op \\s* version`` terms, separated by whitespace or a comma.
    An operator is the whole run of operator characters (a version never starts with one) and a
    version is the whole run up to whitespace, a comma or the end (none of those occur in one).
    """
    terms = []
    index = _skip_space(chunk, 0)
    while True:
        op_end = index
        while op_end < len(chunk) and chunk[op_end] in _OP_CHARS:
            op_end += 1
        if chunk[index:op_end] not in _OPS:
            return None
        start = end = _skip_space(chunk, op_end)
        while end < len(chunk) and chunk[end] not in _SPACE and chunk[end] != ",":
            end += 1
        version = _CV_RE.fullmatch(chunk, start, end)
        if version is None:
            return None
        terms.append((chunk[index:op_end], version))
        index = _skip_space(chunk, end)
        if index == len(chunk):
            return terms
        if chunk[index] == ",":
            index = _skip_space(chunk, index + 1)


def _comparator(op: str, match: re.Match[str], offset: int) -> Comparator | None:
    """Masterminds parseConstraint for one scanned term; ``None`` when its version does not parse."""
    token = match.group(0)
    parts = tuple(p for p in match.group("p0", "p1", "p2") if p is not None)
    pre = "-" + match.group("pre") if match.group("pre") else ""
    dirty, minor_dirty, patch_dirty = True, False, False
    if parts[0] in _WILDCARDS:
        built = "0.0.0" + pre
    elif len(parts) < 2 or parts[1] in _WILDCARDS:
        minor_dirty, built = True, f"{parts[0]}.0.0{pre}"
    elif len(parts) < 3 or parts[2] in _WILDCARDS:
        patch_dirty, built = True, f"{parts[0]}.{parts[1]}.0{pre}"
    else:
        dirty, built = False, token  # fully written: NewVersion of the token itself, "v" and build metadata included
    version = versions.parse(built)
    if version is None:
        return None
    return Comparator(
        op=_OPS[op],
        token=token,
        version=version,
        parts=parts,
        dirty=dirty,
        minor_dirty=minor_dirty,
        patch_dirty=patch_dirty,
        start=offset + match.start(),
        end=offset + match.end(),
    )


def _expand_hyphens(text: str) -> str:
    """Masterminds rewriteRange: each ``a - b`` becomes ``>= a, <= b `` (first occurrence of the match)."""
    result = text
    for match in _HYPHEN_RE.finditer(text):
        result = result.replace(match.group(0), f">= {match.group(1)}, <= {match.group(2)} ", 1)
    return result


def parse_constraint(text: object) -> Constraint | None:
    """Parse like Masterminds v3.5.0 ``NewConstraint``; ``None`` when it is not a constraint (never raises)."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        return None
    source = _expand_hyphens(text)
    chunks = source.split("||")
    if len(chunks) > MAX_GROUPS:
        return None
    groups: list[tuple[Comparator, ...]] = []
    offset = 0
    for chunk in chunks:
        terms = _scan_group(chunk)
        if terms is None:
            return None
        comparators = []
        for op, match in terms:
            comparator = _comparator(op, match, offset)
            if comparator is None:
                return None
            comparators.append(comparator)
        groups.append(tuple(comparators))
        offset += len(chunk) + 2
    return Constraint(text=text, groups=tuple(groups), has_hyphen=source != text)


def exact_version(text: str) -> versions.Version | None:
    """The version of one exact version (``6.5.0``, ``v6.5.0``, ``=6.5.0``), not a range; else ``None``."""
    match = _EXACT_RE.fullmatch(text)
    return versions.parse(match.group(2) + match.group(3)) if match else None


def _render(comparator: Comparator, numbers: tuple[int, int, int], pre: tuple[str, ...], extend: bool) -> str:
    """Write `numbers` and `pre` in the shape of `comparator.token`: same ``v``, part count and wildcards.

    With `extend`, parts are added when the written ones cannot hold the value (``>=6`` -> ``>=7.2``);
    otherwise the value is cut to the written shape (``6.x`` -> ``7.x``, ``^6`` -> ``^7``).
    """
    count = len(comparator.parts)
    while extend and count < 3 and any(numbers[count:]):
        count += 1
    out = []
    for index in range(count):
        written = comparator.parts[index] if index < len(comparator.parts) else None
        out.append(written if written in _WILDCARDS else str(numbers[index]))
    text = ("v" if comparator.token.startswith("v") else "") + ".".join(out)
    return text + ("-" + ".".join(pre) if pre else "")


def _floor_pre(comparator: Comparator, numbers: tuple[int, int, int], new: versions.Version) -> tuple[str, ...]:
    """The prerelease to write on a floor: `new`'s when the floor is exactly `new`, else the written one."""
    fully_written = len(comparator.parts) == 3 and not _WILDCARDS & set(comparator.parts)
    if new.is_prerelease and fully_written and numbers == new.core:
        return new.prerelease
    return comparator.version.prerelease


def rewrite(text: str, new: versions.Version) -> str | None:
    """A constraint in the style of `text` that admits `new`; ``None`` when that cannot be done safely."""
    exact = _EXACT_RE.fullmatch(text)
    if exact is not None and versions.parse(exact.group(2) + exact.group(3)) is not None:
        return text[: exact.end(2)] + str(new) + text[exact.end(3) :]
    constraint = parse_constraint(text)
    if constraint is None:
        return None
    if constraint.allows(new):
        return text
    if constraint.has_hyphen or len(constraint.groups) != 1:
        return None
    group = constraint.groups[0]
    if any(c.op == "!=" for c in group):
        return None
    replacements = _replacements(group, new)
    if replacements is None:
        return None
    result = text
    for comparator, value in sorted(replacements, key=lambda r: r[0].start, reverse=True):
        result = result[: comparator.start] + value + result[comparator.end :]
    check = parse_constraint(result)
    return result if check is not None and check.allows(new) else None


def _replacements(group: tuple[Comparator, ...], new: versions.Version) -> list[tuple[Comparator, str]] | None:
    if len(group) == 1 and group[0].op in ("=", "~", "^"):
        only = group[0]
        return [(only, _render(only, new.core, _floor_pre(only, new.core, new), extend=False))]
    if len(group) != 2:
        return None
    lower = next((c for c in group if c.op in (">", ">=")), None)
    upper = next((c for c in group if c.op in ("<", "<=")), None)
    if lower is None or upper is None or upper.op != "<" or (lower.dirty and lower.op == ">"):
        return None  # inclusive upper bounds (<=6.9.9) and >6-style bounds: shifting them is ambiguous
    low, high = lower.version.core, upper.version.core
    level = next((i for i in range(3) if low[i] != high[i]), None)
    if level is None or high[level] < low[level]:
        return None
    width = high[level] - low[level]
    new_low = (*new.core[:level], new.core[level], *(0,) * (2 - level))
    new_high = (*new.core[:level], new.core[level] + width, *high[level + 1 :])
    floor = (new_low[0], new_low[1], new_low[2])
    return [
        (lower, _render(lower, floor, _floor_pre(lower, floor, new), extend=True)),
        (upper, _render(upper, (new_high[0], new_high[1], new_high[2]), upper.version.prerelease, extend=True)),
    ]
