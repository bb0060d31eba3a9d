"""OCI tag lists -> Helm chart versions, sorted by semver. Pure.

Called by the version checker with what `sources.oci.OciClient.list_tags` returned for an OCI
HelmRepository chart or an OCIRepository.

Helm's rules, followed exactly so we propose only versions Flux can resolve:
- OCI tags cannot hold "+", so Helm pushes chart version "1.2.3+build" as tag "1.2.3_build" and
  reads tags back by turning every "_" into "+".
- Helm's registry client keeps a tag only if that version passes Masterminds' *strict* parse
  (`StrictNewVersion`): full SemVer 2.0, three numbers, no leading "v", no leading zeros. So "v1.2.3"
  or "1.2" in an OCI repository are not chart versions even though `versions.parse` (the lenient
  parser used for constraints and HelmRepository indexes) would read them.
- Ordering is SemVer precedence (`checking.versions`): 7.0.0-rc.1 < 7.0.0; build metadata is ignored,
  ties are broken by tag so the output is stable.

Dropped tags: `latest` and cosign's `sha256-<hex>[.sig|.att|.sbom]` silently (every signed
repository has them); anything else is counted in `invalid` so the caller can say "N tags ignored".
A tag that does not have the OCI tag shape (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, what registries accept) is
dropped before any conversion: a hostile registry's 2 MB "tag" never reaches the version parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from fluxcd_helm_upgrader.checking import versions

# Tags every OCI repository may carry that are not chart versions and are not worth reporting.
_EXPECTED_NON_VERSIONS = re.compile(r"^(?:latest|sha256-[0-9a-f]{64}(?:\.[a-z]+)?)$")
# The OCI distribution spec's tag grammar: at most 128 characters.
_TAG_SHAPE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# SemVer 2.0's own grammar (semver.org), which is what Masterminds' StrictNewVersion enforces.
_STRICT_SEMVER = re.compile(
    r"^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
    r"(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$"
)


class TaggedVersion(NamedTuple):
    """A chart version ("1.2.3+build") and the OCI tag that carries it ("1.2.3_build")."""

    version: str
    tag: str


def tag_to_version(tag: str) -> str:
    """Helm's tag -> version spelling: "_" back to "+"."""
    return tag.replace("_", "+")


def version_to_tag(version: str) -> str:
    """Helm's version -> tag spelling: "+" to "_" (for writing an OCIRepository `spec.ref.tag`)."""
    return version.replace("+", "_")


def tags_to_versions(tags: Iterable[str]) -> tuple[list[TaggedVersion], int]:
    """(chart versions sorted ascending by semver, count of unexpected non-semver tags)."""
    found: list[tuple[versions.Version, TaggedVersion]] = []
    seen: set[str] = set()
    invalid = 0
    for tag in tags:
        if not isinstance(tag, str) or len(tag) > 128 or not _TAG_SHAPE.match(tag):
            invalid += 1
            continue
        if _EXPECTED_NON_VERSIONS.match(tag):
            continue
        version = tag_to_version(tag)
        parsed = versions.parse(version) if _STRICT_SEMVER.match(version) else None
        if parsed is None:
            invalid += 1
            continue
        if version in seen:  # a registry's tag list may repeat across pages
            continue
        seen.add(version)
        found.append((parsed, TaggedVersion(version, tag)))
    found.sort(key=lambda item: (versions.sort_key(item[0]), item[1].tag))
    return [tagged for _, tagged in found], invalid
