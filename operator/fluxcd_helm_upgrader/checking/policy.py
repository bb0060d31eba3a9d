"""The upgrade policy of an UpgraderConfig (``spec.policy``) as plain values.

Built by `config.py` from the UpgraderConfig spec; read by `checking.decisions`. Pure.

Ignore rules (``spec.policy.ignore``), each with optional ``chart``, ``versions`` and ``release``;
the fields given must all match (AND):

- ``{release: ns/name}`` or ``{chart: X}`` without ``versions``: the whole release is ignored
  (verdict IGNORED, no proposal).
- with ``versions`` (a Masterminds constraint, e.g. ``>=7.0.0``): those chart versions are never
  proposed; older ones still are. ``versions`` also matches prereleases (``>=7.0.0`` ignores
  ``7.1.0-rc.1``), because a user ignoring a line means its previews too.
- ``chart`` and ``release`` accept shell-style wildcards (``fnmatch``: ``bitnami-*``, ``apps/*``).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Literal, get_args

from fluxcd_helm_upgrader.checking import ranges
from fluxcd_helm_upgrader.checking import versions as semver  # `versions` is also a field name

AllowedUpdates = Literal["major", "minor", "patch"]
ALLOWED_UPDATES: tuple[str, ...] = get_args(AllowedUpdates)


@dataclass(frozen=True)
class IgnoreRule:
    """One ``spec.policy.ignore`` item. Raises ValueError for an empty rule or a bad constraint."""

    chart: str | None = None
    versions: str | None = None
    release: str | None = None

    def __post_init__(self) -> None:
        if self.chart is None and self.versions is None and self.release is None:
            raise ValueError("an ignore rule needs at least one of chart, versions, release")
        if self.versions is not None and ranges.parse_constraint(self.versions) is None:
            raise ValueError(f"ignore rule has an invalid versions constraint: {self.versions!r}")
        if self.release is not None and "/" not in self.release:
            raise ValueError(f"ignore rule release must be namespace/name, got {self.release!r}")

    def applies_to(self, *, release: str, chart: str) -> bool:
        """Whether the rule's chart/release fields match (its ``versions`` not considered)."""
        if self.chart is not None and not fnmatch.fnmatchcase(chart, self.chart):
            return False
        return self.release is None or fnmatch.fnmatchcase(release, self.release)

    def ignores_release(self, *, release: str, chart: str) -> bool:
        """True when the rule ignores every version for this release."""
        return self.versions is None and self.applies_to(release=release, chart=chart)

    def ignores_version(self, version: semver.Version, *, release: str, chart: str) -> bool:
        if not self.applies_to(release=release, chart=chart):
            return False
        if self.versions is None:
            return True
        constraint = ranges.parse_constraint(self.versions)
        return constraint is not None and constraint.allows(version, include_prerelease=True)

    def describe(self) -> str:
        fields = [
            f"{k}={v}"
            for k, v in (("chart", self.chart), ("versions", self.versions), ("release", self.release))
            if v is not None
        ]
        return "{" + ", ".join(fields) + "}"


@dataclass(frozen=True)
class Policy:
    """``spec.policy``: prereleases, the largest allowed step, and ignore rules."""

    include_prerelease: bool = False
    allowed_updates: AllowedUpdates = "major"
    ignore: tuple[IgnoreRule, ...] = ()

    def __post_init__(self) -> None:
        if self.allowed_updates not in ALLOWED_UPDATES:
            raise ValueError(
                f"allowedUpdates must be one of {', '.join(ALLOWED_UPDATES)}: got {self.allowed_updates!r}"
            )

    def within_step(self, base: semver.Version, candidate: semver.Version) -> bool:
        """Whether going from `base` to `candidate` stays within ``allowed_updates``."""
        if self.allowed_updates == "minor":
            return candidate.major == base.major
        if self.allowed_updates == "patch":
            return (candidate.major, candidate.minor) == (base.major, base.minor)
        return True
