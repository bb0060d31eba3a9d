"""The per-release decision: given what Git says and what the repository offers, what to propose.

Called by the check cycle once per HelmRelease after the index/tag list was read; its result drives
UpgradeProposal creation. Pure: plain values in, a frozen `Decision` out (Flux's "decide, then act").

Rules, in order:

1. An ignore rule without ``versions`` matching the release or chart -> IGNORED.
2. Invalid version strings in ``available`` are skipped and counted; none valid -> NO_VERSIONS.
3. ``current`` ``""``/``*``/``x`` -> UP_TO_DATE: Flux already installs the newest release itself.
   An exact version that does not parse, or a range that does not parse -> INVALID_CURRENT.
4. The *base* of comparison: an exact current version itself; for a range, the highest available
   version it admits (what Flux runs today, reported as ``current_resolved``), else the range's floor.
5. Candidates: valid versions > base (never a downgrade); prereleases only when
   ``policy.include_prerelease``, the current exact version is itself a prerelease, or the current
   range opts into them (a comparator with a prerelease, e.g. ``>=6.0.0-0 <7.0.0``: since
   Masterminds v3.4.0 its whole AND group admits prereleases, so Flux installs them through it);
   within ``policy.allowed_updates`` of base; not ignored by a ``versions`` rule; and not a
   target of a closed PR (``skipped_targets``). If candidates exist only before the ignore filter
   -> IGNORED (the message names them); otherwise none -> UP_TO_DATE.
6. Exact current -> PROPOSE the newest candidate (``v``/``=`` prefix of current kept).
   Range -> if it admits the newest candidate, UP_TO_DATE (Flux upgrades by itself); else PROPOSE
   the range rewritten in the same style (`ranges.rewrite`), or UNSUPPORTED_RANGE.
   A skipped target is compared with what would be written (the exact version or rewritten range),
   so a closed PR for ``7.x`` skips every 7.* until 8.* appears. When the newest candidate is
   skipped, nothing older is proposed either (a closed PR means "not this, wait for newer").
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from fluxcd_helm_upgrader.checking import policy as policies
from fluxcd_helm_upgrader.checking import ranges, versions


class Verdict(enum.Enum):
    UP_TO_DATE = "UpToDate"
    PROPOSE = "Propose"
    IGNORED = "Ignored"
    NO_VERSIONS = "NoVersions"
    UNSUPPORTED_RANGE = "UnsupportedRange"
    INVALID_CURRENT = "InvalidCurrent"
    HELD = "Held"  # newer versions exist but are younger than policy.minimumReleaseAge (checking.release_age)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    message: str
    target: str | None = None  # the value to write into Git
    newest: str | None = None  # the selected chart version, as written in the index
    current_resolved: str | None = None  # what the current value resolves to ("from" in the PR)
    invalid_versions: int = 0


_ANY = ("", "*", "x", "X")


def decide(
    *,
    release: str,
    chart: str,
    current: str,
    available: Iterable[str],
    policy: policies.Policy,
    skipped_targets: Collection[str] = (),
) -> Decision:
    """Decide what to propose for one HelmRelease (see the module docstring for the rules)."""
    for rule in policy.ignore:
        if rule.ignores_release(release=release, chart=chart):
            return Decision(Verdict.IGNORED, f"{release} ({chart}) is ignored by policy rule {rule.describe()}")

    parsed: list[tuple[versions.Version, str]] = []
    invalid = 0
    for raw in available:
        version = versions.parse(raw)
        if version is None:
            invalid += 1
        else:
            parsed.append((version, raw))
    parsed.sort(key=lambda item: versions.sort_key(item[0]), reverse=True)
    if not parsed:
        return Decision(Verdict.NO_VERSIONS, f"chart {chart} has no valid versions", invalid_versions=invalid)

    text = current.strip()
    exact = ranges.exact_version(text)
    constraint = None if exact else ranges.parse_constraint(text)
    if text in _ANY or (constraint is not None and constraint.matches_any_release):
        resolved = next((raw for v, raw in parsed if not v.is_prerelease), None)
        return Decision(
            Verdict.UP_TO_DATE,
            f"version {text or '(empty)'} follows the latest release",
            current_resolved=resolved,
            invalid_versions=invalid,
        )
    if exact is None and constraint is None:
        return Decision(
            Verdict.INVALID_CURRENT,
            f"current version {current!r} is neither a version nor a range",
            invalid_versions=invalid,
        )

    if exact is not None:
        base, resolved = exact, text
        allow_pre = policy.include_prerelease or exact.is_prerelease
    else:
        assert constraint is not None
        hit = next(((v, raw) for v, raw in parsed if constraint.allows(v)), None)
        base, resolved = hit if hit else (constraint.floor, None)
        allow_pre = policy.include_prerelease or constraint.admits_prereleases

    newer = [
        (v, raw) for v, raw in parsed if v > base and (allow_pre or not v.is_prerelease) and policy.within_step(base, v)
    ]
    kept = [
        (v, raw)
        for v, raw in newer
        if not any(r.ignores_version(v, release=release, chart=chart) for r in policy.ignore)
    ]
    if newer and not kept:
        return Decision(
            Verdict.IGNORED,
            f"{chart} {newer[0][1]} is newer than {resolved or text} but ignored by policy",
            current_resolved=resolved,
            invalid_versions=invalid,
        )

    skipped: list[str] = []
    for version, raw in kept:
        if exact is not None:
            target = ranges.rewrite(text, version)
        elif constraint is not None and constraint.allows(version):
            return Decision(
                Verdict.UP_TO_DATE,
                f"range {text} already admits {chart} {raw}; Flux upgrades by itself",
                newest=raw,
                current_resolved=resolved,
                invalid_versions=invalid,
            )
        else:
            target = ranges.rewrite(text, version)
            if target is None:
                return Decision(
                    Verdict.UNSUPPORTED_RANGE,
                    f"{chart} {raw} is available but range {text!r} cannot be rewritten safely",
                    newest=raw,
                    current_resolved=resolved,
                    invalid_versions=invalid,
                )
        if _is_skipped(target, version, skipped_targets, exact=exact is not None):
            # The newest candidate's PR was closed: propose nothing older either, until a newer one appears.
            skipped.append(raw)
            break
        return Decision(
            Verdict.PROPOSE,
            f"{chart} {resolved or text} -> {raw} (write {target})",
            target=target,
            newest=raw,
            current_resolved=resolved,
            invalid_versions=invalid,
        )

    note = f"; skipped (PR closed): {', '.join(skipped)}" if skipped else ""
    return Decision(
        Verdict.UP_TO_DATE,
        f"{chart} {resolved or text} is the newest allowed version{note}",
        current_resolved=resolved,
        invalid_versions=invalid,
    )


def _is_skipped(target: str | None, version: versions.Version, skipped: Collection[str], *, exact: bool) -> bool:
    if target is not None and target in skipped:
        return True
    # An exact target closed as "v7.2.3" also skips "7.2.3": the same version written differently.
    return exact and any(versions.parse(s.lstrip("=").strip()) == version for s in skipped)
