"""Version constraints as written in ``HelmRelease.spec.chart.spec.version`` (Masterminds semver v3).

Called by `checking.decisions` (does the current range admit the newest chart? what to write
instead?) and by `checking.policy` (ignore rules' ``versions``). Pure: strings in, values out.

Syntax and meaning follow Masterminds/semver v3 ``NewConstraint``/``Check``, which Flux's
source-controller uses to pick a chart version:

- Comparators: ``=`` (or none), ``!=``, ``>``, ``<``, ``>=`` (``=>``), ``<=`` (``=<``), ``~`` (``~>``),
  ``^``; AND-ed by whitespace or commas; OR-ed by ``||``; hyphen ranges ``1.2.3 - 2.0.0`` mean
  ``>=1.2.3, <=2.0.0``; ``x``/``X``/``*`` or missing parts are wildcards (``6``, ``6.x``, ``6.*`` all mean
  ``>=6.0.0 <7.0.0``; ``6.1`` means ``>=6.1.0 <6.2.0``); ``""`` and ``*`` admit every release.
- Prereleases: a comparator whose version has no prerelease rejects every prerelease version, and
  *each* comparator of an AND group applies this rule (so ``>=1.0.0-0 <2.0.0`` still rejects
  ``1.5.0-rc.1``, as in Masterminds). ``allows(v, include_prerelease=True)`` lifts the rule (used by
  ignore rules, where ``>=7.0.0`` should also ignore ``7.1.0-rc.1``).
- Stricter than Masterminds in one corner: its wildcard character class accidentally accepts
  ``|`` inside a version part; here a part is digits or one of ``x X *``.

`rewrite(text, new)` returns a constraint in the same style that admits ``new`` (or ``None``):

- exact ``6.5.0`` -> ``7.2.3``; ``v6.5.0`` -> ``v7.2.3``; ``=6.5.0`` -> ``=7.2.3`` (prefixes kept).
- wildcards keep their shape: ``6.x`` -> ``7.x``, ``6.*`` -> ``7.*``, ``6`` -> ``7``,
  ``6.1.x`` -> ``7.2.x``, ``6.1`` -> ``7.2``.
- ``^``/``~``: the floor becomes the new version, with as many parts as were written:
  ``^6.1.0`` -> ``^7.2.3``, ``~6.1.0`` -> ``~7.2.3``, ``~6.1`` -> ``~7.2``, ``^6`` -> ``^7``. The floor
  is the new version itself (not ``7.0.0``/``7.2.0``) so that versions we skipped (closed PRs,
  ignore rules, the policy cap) cannot be installed by Flux through the rewritten range.
- a two-sided range keeps its width: ``>=6.0.0 <7.0.0`` -> ``>=7.0.0 <8.0.0``; ``>=6.1.0, <6.3.0``
  with 7.2.3 -> ``>=7.2.0, <7.4.0`` (separators, spacing and operators kept).
- ``||``, ``!=``, hyphen ranges, one-sided upper bounds (``<7``), inclusive upper bounds
  (``<=6.9.9``: is that "6.x" or "width 0.9.9"?) and comparators that carry a prerelease are not
  rewritten: ``None``. A rewrite is only returned after checking that the
  result admits ``new`` under the Masterminds prerelease rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fluxcd_helm_upgrader.checking import versions

_PART = r"(?:[0-9]+|[xX*])"
_IDS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_CV = rf"v?{_PART}(?:\.{_PART})?(?:\.{_PART})?(?:-{_IDS})?(?:\+{_IDS})?"
_OPS = r"!=|>=|=>|<=|=<|~>|\^|=|>|<|~"
_COMPARATOR_RE = re.compile(rf"({_OPS})?\s*({_CV})")
_GROUP_RE = re.compile(rf"\s*(?:{_OPS})?\s*{_CV}(?:(?:\s+|\s*,\s*)(?:{_OPS})?\s*{_CV})*\s*")
_HYPHEN_RE = re.compile(rf"({_CV})\s+-\s+({_CV})")
_TOKEN_RE = re.compile(
    rf"(?P<v>v?)(?P<p0>{_PART})(?:\.(?P<p1>{_PART}))?(?:\.(?P<p2>{_PART}))?(?:-(?P<pre>{_IDS}))?(?:\+{_IDS})?"
)
_EXACT_RE = re.compile(rf"(\s*=?\s*)(v?)([0-9]+\.[0-9]+\.[0-9]+(?:-{_IDS})?(?:\+{_IDS})?)\s*")
_OP_ALIASES = {"": "=", "=>": ">=", "=<": "<=", "~>": "~"}
_WILDCARDS = frozenset("xX*")


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
        if v.is_prerelease and not self.version.is_prerelease and not include_prerelease:
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
    return v.minor == con.minor and v.patch == con.patch  # ^0.0.z is effectively =0.0.z


def _equal(c: Comparator, v: versions.Version) -> bool:
    return _tilde(c, v) if c.dirty else v == c.version


def _not_equal(c: Comparator, v: versions.Version) -> bool:
    return not _equal(c, v)


def _greater(c: Comparator, v: versions.Version) -> bool:
    con = c.version
    if not c.dirty or not (c.minor_dirty or c.patch_dirty):
        return v > con
    if v.major != con.major:
        return v.major > con.major
    if c.minor_dirty:
        return False  # >6 needs 7 or higher
    return v.minor > con.minor  # >6.1 needs 6.2 or higher


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
        return any(all(c.allows(v, include_prerelease) for c in group) for group in self.groups)

    @property
    def matches_any_release(self) -> bool:
        """True for ``""``, ``*``, ``x``: every non-prerelease version is admitted."""
        return (
            all(
                len(g) == 1 and g[0].op == "=" and g[0].parts[0] in _WILDCARDS and not g[0].version.prerelease
                for g in self.groups
            )
            and len(self.groups) == 1
        )

    @property
    def floor(self) -> versions.Version:
        """The lowest version the constraint can admit (0.0.0 when unbounded below)."""
        floors = []
        for group in self.groups:
            bounds = [c.floor for c in group if c.floor is not None]
            floors.append(max(bounds) if bounds else versions.Version(0, 0, 0))
        return min(floors)


def _comparator(op: str, token_match: re.Match[str], start: int) -> Comparator:
    parts = tuple(p for p in (token_match.group("p0"), token_match.group("p1"), token_match.group("p2")) if p)
    pre = token_match.group("pre")
    prerelease = tuple(pre.split(".")) if pre else ()
    numbers = [0, 0, 0]
    dirty = minor_dirty = patch_dirty = False
    for index in range(3):
        part = parts[index] if index < len(parts) else None
        if part is None or part in _WILDCARDS:
            dirty = True
            minor_dirty = index == 1
            patch_dirty = index == 2
            break  # Masterminds ignores everything after the first wildcard
        numbers[index] = int(part)
    token = token_match.group(0)
    version = versions.Version(numbers[0], numbers[1], numbers[2], prerelease, "", token)
    return Comparator(
        op=_OP_ALIASES.get(op, op),
        token=token,
        version=version,
        parts=parts,
        dirty=dirty,
        minor_dirty=minor_dirty,
        patch_dirty=patch_dirty,
        start=start + token_match.start(),
        end=start + token_match.end(),
    )


def parse_constraint(text: str) -> Constraint | None:
    """Parse a Masterminds constraint; ``None`` when it is not one. ``""`` admits every release."""
    if not isinstance(text, str) or len(text) > 1024:
        return None
    source = text
    has_hyphen = bool(_HYPHEN_RE.search(text))
    if has_hyphen:
        source = _HYPHEN_RE.sub(r">= \1, <= \2", text)
    if not source.strip():
        source = "*"
    groups: list[tuple[Comparator, ...]] = []
    offset = 0
    for chunk in source.split("||"):
        if not _GROUP_RE.fullmatch(chunk):
            return None
        comparators = []
        for match in _COMPARATOR_RE.finditer(chunk):
            token_match = _TOKEN_RE.fullmatch(match.group(2))
            if token_match is None:  # pragma: no cover - _GROUP_RE already validated the token
                return None
            big_number = any(
                p.isdigit() and int(p) > 2**64 - 1 for p in token_match.group(0).lstrip("v").split(".")[:3]
            )
            if big_number:
                return None
            comparators.append(_comparator(match.group(1) or "", token_match, offset + match.start(2)))
        groups.append(tuple(comparators))
        offset += len(chunk) + 2
    return Constraint(text=text, groups=tuple(groups), has_hyphen=has_hyphen)


def is_exact(text: str) -> bool:
    """True for one exact version (``6.5.0``, ``v6.5.0``, ``=6.5.0``): not a range."""
    match = _EXACT_RE.fullmatch(text)
    return match is not None and versions.parse(match.group(2) + match.group(3)) is not None


def exact_version(text: str) -> versions.Version | None:
    """The version of an exact constraint (see `is_exact`), else ``None``."""
    match = _EXACT_RE.fullmatch(text)
    return versions.parse(match.group(2) + match.group(3)) if match else None


def _render(comparator: Comparator, numbers: tuple[int, int, int], pre: tuple[str, ...], extend: bool) -> str:
    """Write `numbers` in the shape of `comparator.token`: same ``v``, part count and wildcards.

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
    # A prerelease only fits a fully written version; otherwise the final check refuses the result.
    return text + ("-" + ".".join(pre) if pre and count == 3 and not set(out) & _WILDCARDS else "")


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
    if any(c.op == "!=" or c.version.is_prerelease for c in group):
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
        return [(group[0], _render(group[0], new.core, new.prerelease, extend=False))]
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
    new_low = new.core[:level] + (new.core[level],) + (0,) * (2 - level)
    new_high = (*new.core[:level], new.core[level] + width, *high[level + 1 :])
    return [
        (lower, _render(lower, (new_low[0], new_low[1], new_low[2]), (), extend=True)),
        (upper, _render(upper, (new_high[0], new_high[1], new_high[2]), (), extend=True)),
    ]
