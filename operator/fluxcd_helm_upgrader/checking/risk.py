"""Upgrade risk: what moving one release from its chart version to the target breaks, for THIS release. Pure.

Called by `proposals.risking` (the Git worker, before it opens or updates the PR) and by the repository scan with
both charts already read (`checking.chart_archive`), the release's own `spec.values` and the cluster's version.
The result is the proposal's `status.risk` and the PR's "Upgrade risk" section.

Findings (each `{type, path (when it is about a value), message}`) and the level they raise the proposal to:

| type | when | level |
| --- | --- | --- |
| `ValueRemoved` | a key the release sets exists in the current chart's defaults and not in the target's | High |
| `SchemaViolation` | the release's values over the target's defaults (Helm's coalesce) fail values.schema.json | High |
| `KubeVersion` | the target's `kubeVersion` does not admit the cluster's version (Helm's check, see below) | High |
| `CRDChanged` | a CRD in crds/ lost a version or stopped serving one | High |
| `CRDChanged` | any other change to crds/ (storage version, fields, new or dropped CRD) | Medium |
| `MajorVersion` | the major version goes up (or the minor, below 1.0.0) | Medium |
| `Deprecated` | the target is marked deprecated (index entry or Chart.yaml) | Medium |
| `DefaultsChanged` | defaults changed under keys the release does not set (image tags named) | Low |

No finding is Low too. `Unknown` (with `reason`) when a chart could not be fetched or read; the findings that need
no chart (MajorVersion, Deprecated) are still listed. Never blocking: the PR is opened whatever the level.

Helm's kubeVersion check: `IsCompatibleRange(chart.kubeVersion, gitVersion)` with Masterminds semver, where
gitVersion is the API server's `/version` as is (`v1.26.4+k3s1`: the `v` and the build metadata do not count; a
prerelease such as `v1.29.3-eks-1234` or `v1.31.0-emulator` only matches a constraint that carries a prerelease,
which is why charts write `>=1.25.0-0`). `checking.ranges` implements those Masterminds rules.

Schema validation uses the `jsonschema` library with the draft the schema's `$schema` names (Draft 7, which Helm's
validator used for years, when it names none); `$ref`s are resolved inside the schema only (never fetched).
Messages never echo the release's values (they may hold secrets): only paths, keys and what the schema expects.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import jsonschema.exceptions
import referencing
import referencing.exceptions

from fluxcd_helm_upgrader.checking import chart_archive, crd_changes, helm_values, ranges, versions

LOW, MEDIUM, HIGH, UNKNOWN = "Low", "Medium", "High", "Unknown"
LEVELS = (LOW, MEDIUM, HIGH, UNKNOWN)
MAX_SCHEMA_ERRORS = 10
MAX_MESSAGE = 600


class Severity(enum.IntEnum):
    LOW = 0
    MEDIUM = 1
    HIGH = 2


_LEVEL_OF = {Severity.LOW: LOW, Severity.MEDIUM: MEDIUM, Severity.HIGH: HIGH}


@dataclass(frozen=True)
class Finding:
    type: str  # ValueRemoved | SchemaViolation | KubeVersion | CRDChanged | MajorVersion | Deprecated | DefaultsChanged
    message: str
    severity: Severity
    path: str | None = None

    def to_status(self) -> dict[str, str]:
        item = {"type": self.type, "message": self.message[:MAX_MESSAGE]}
        if self.path:
            item["path"] = self.path[:MAX_MESSAGE]
        return item


@dataclass(frozen=True)
class Release:
    """What the analysis needs of the HelmRelease: its inline values and its CRD upgrade policy."""

    values: Mapping[str, Any] = field(default_factory=dict)
    upgrade_crds: str = "Skip"
    values_from: bool = False  # spec.valuesFrom is set: those values are not read


@dataclass(frozen=True)
class Upgrade:
    """The two chart versions compared (concrete versions, even when Git holds a range)."""

    chart: str
    from_version: str
    to_version: str
    deprecated: bool = False  # the target's index entry says `deprecated: true`


@dataclass(frozen=True)
class Risk:
    level: str
    findings: tuple[Finding, ...] = ()
    reason: str | None = None  # why the level is Unknown
    cluster_version: str | None = None
    notes: tuple[str, ...] = ()  # what could not be checked (e.g. valuesFrom), said instead of guessed
    from_version: str = ""
    to_version: str = ""

    def to_status(self) -> dict[str, Any]:
        """The proposal's `status.risk`."""
        status: dict[str, Any] = {
            "level": self.level,
            "findings": [f.to_status() for f in self.findings],
            "fromVersion": self.from_version,
            "toVersion": self.to_version,
        }
        if self.reason:
            status["reason"] = self.reason[:MAX_MESSAGE]
        if self.cluster_version:
            status["clusterVersion"] = self.cluster_version
        if self.notes:
            status["notes"] = [note[:MAX_MESSAGE] for note in self.notes]
        return status


def assess(
    upgrade: Upgrade,
    release: Release,
    current: chart_archive.Chart,
    target: chart_archive.Chart,
    cluster_version: str | None,
) -> Risk:
    """Every finding for this release, and the level they add up to."""
    findings = [
        *(_removed(release, current, target)),
        *(_schema(release, target)),
        *(_kube_version(upgrade, target, cluster_version)),
        *(_crds(release, current, target)),
        *(_metadata(upgrade, target.deprecated)),
        *(_defaults(release, current, target)),
    ]
    notes = [f"target chart: {p}" for p in target.problems] + [f"current chart: {p}" for p in current.problems]
    if release.values_from:
        notes.append("spec.valuesFrom is not read: only the release's inline spec.values were checked")
    if cluster_version is None and target.kube_version:
        notes.append(f"the cluster's version is unknown: kubeVersion {target.kube_version!r} was not checked")
    return _risk(findings, None, upgrade, cluster_version, notes)


def unknown(upgrade: Upgrade, reason: str, cluster_version: str | None = None) -> Risk:
    """A risk that could not be assessed: the chart-independent findings and why the rest is missing."""
    return _risk(_metadata(upgrade, False), reason, upgrade, cluster_version, [])


def level_of(findings: list[Finding]) -> str:
    return _LEVEL_OF[max((f.severity for f in findings), default=Severity.LOW)]


def _risk(
    findings: list[Finding], reason: str | None, upgrade: Upgrade, cluster_version: str | None, notes: list[str]
) -> Risk:
    ordered = sorted(findings, key=lambda f: (-f.severity, f.type, f.path or ""))
    return Risk(
        level=UNKNOWN if reason else level_of(ordered),
        findings=tuple(ordered),
        reason=reason,
        cluster_version=cluster_version,
        notes=tuple(notes),
        from_version=upgrade.from_version,
        to_version=upgrade.to_version,
    )


def _removed(release: Release, current: chart_archive.Chart, target: chart_archive.Chart) -> list[Finding]:
    return [
        Finding(
            "ValueRemoved",
            f"the release sets {helm_values.dotted(path)}, which {target.name or 'the chart'} {target.version} no "
            f"longer has (it was a default in {current.version}): the value is ignored after the upgrade",
            Severity.HIGH,
            helm_values.dotted(path),
        )
        for path in helm_values.removed_keys(release.values, current.values, target.values)
    ]


def _schema(release: Release, target: chart_archive.Chart) -> list[Finding]:
    if target.schema is None:
        return []
    schema = dict(target.schema)
    merged = helm_values.coalesce(release.values, target.values)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    where = f"{target.name or 'the chart'} {target.version}"
    try:
        cls.check_schema(schema)
        validator = cls(schema, registry=referencing.Registry())
        errors = sorted(validator.iter_errors(merged), key=lambda e: [str(p) for p in e.absolute_path])
    except jsonschema.exceptions.SchemaError as bad:
        message = f"values.schema.json of {where} is not a valid JSON Schema ({bad.message[:200]}): Helm refuses it"
        return [Finding("SchemaViolation", message, Severity.HIGH)]
    except referencing.exceptions.Unresolvable as unresolvable:
        message = f"values.schema.json of {where} refers to {str(unresolvable.ref)[:200]!r}, which is not in the chart"
        return [Finding("SchemaViolation", message + ": not checked", Severity.MEDIUM)]
    findings = []
    for error in errors[:MAX_SCHEMA_ERRORS]:
        path = _error_path(error)
        findings.append(
            Finding(
                "SchemaViolation",
                f"{path or 'the values'} {_describe(error)} (values.schema.json of {where})",
                Severity.HIGH,
                path or None,
            )
        )
    if len(errors) > MAX_SCHEMA_ERRORS:
        more = len(errors) - MAX_SCHEMA_ERRORS
        findings.append(Finding("SchemaViolation", f"{more} more schema violations", Severity.HIGH))
    return findings


def _error_path(error: jsonschema.exceptions.ValidationError) -> str:
    """`ports[0].name` style: keys dotted (bracketed when they are not plain names), list indexes in brackets."""
    text = ""
    for part in error.absolute_path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        key = helm_values.dotted((str(part),))
        text += key if not text or key.startswith("[") else f".{key}"
    return text


def _describe(error: jsonschema.exceptions.ValidationError) -> str:
    """What the schema expects, without the value the release wrote (it may be a secret)."""
    expected = error.validator_value
    kind = error.validator
    if kind == "type":
        return f"must be of type {_short(expected)}, not {_json_type(error.instance)}"
    if kind == "required":
        missing = [name for name in expected if isinstance(error.instance, Mapping) and name not in error.instance]
        return f"is missing required key{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))[:200]}"
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set((error.schema.get("properties") or {}).keys()) if isinstance(error.schema, Mapping) else set()
        extra = sorted(str(k) for k in error.instance if k not in allowed)
        return f"has keys the schema does not allow: {', '.join(extra)[:200]}"
    if kind == "enum":
        return f"must be one of {_short(expected)}"
    if kind == "const":
        return f"must be {_short(expected)}"
    return f"does not satisfy {kind} {_short(expected)}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:117] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def kube_version_admits(constraint: str, cluster_version: str) -> bool:
    """Helm's `IsCompatibleRange(constraint, gitVersion)`: False when either does not parse."""
    version = versions.parse(cluster_version.strip())
    parsed = ranges.parse_constraint(constraint)
    return version is not None and parsed is not None and parsed.allows(version)


def _kube_version(upgrade: Upgrade, target: chart_archive.Chart, cluster_version: str | None) -> list[Finding]:
    constraint = target.kube_version
    if not constraint or cluster_version is None or kube_version_admits(constraint, cluster_version):
        return []
    who = f"{target.name or upgrade.chart} {target.version or upgrade.to_version}"
    message = f"{who} requires kubeVersion {constraint!r}; the cluster runs {cluster_version}: Helm refuses to upgrade"
    version, parsed = versions.parse(cluster_version.strip()), ranges.parse_constraint(constraint)
    if parsed is None:
        message = f"{who} declares kubeVersion {constraint!r}, which is not a valid constraint: Helm refuses it"
    elif version is None:
        message += f" ({cluster_version} is not a semantic version)"
    elif version.is_prerelease and parsed.allows(version, include_prerelease=True):
        message += (
            f" (Masterminds semver reads {cluster_version} as a prerelease, which only a constraint with a "
            "prerelease such as '>=1.25.0-0' admits)"
        )
    return [Finding("KubeVersion", message, Severity.HIGH, None)]


def _crds(release: Release, current: chart_archive.Chart, target: chart_archive.Chart) -> list[Finding]:
    note = crd_changes.policy_note(release.upgrade_crds)
    return [
        Finding(
            "CRDChanged",
            f"CRD {change.name} ({change.path}): {change.summary}; {note}",
            Severity.HIGH if change.breaking else Severity.MEDIUM,
        )
        for change in crd_changes.changes(current.crds, target.crds)
    ]


def _metadata(upgrade: Upgrade, chart_deprecated: bool) -> list[Finding]:
    findings = []
    old, new = versions.parse(upgrade.from_version), versions.parse(upgrade.to_version)
    if old is not None and new is not None and (new.major > old.major or (old.major == new.major == 0 and new > old)):
        step = "major version" if new.major > old.major else "0.x version (semver: anything may change)"
        findings.append(
            Finding(
                "MajorVersion",
                f"{upgrade.chart} {upgrade.from_version} -> {upgrade.to_version} is a new {step}: "
                "read the chart's upgrade notes",
                Severity.MEDIUM,
            )
        )
    if upgrade.deprecated or chart_deprecated:
        findings.append(
            Finding(
                "Deprecated",
                f"{upgrade.chart} {upgrade.to_version} is marked deprecated by its maintainers",
                Severity.MEDIUM,
            )
        )
    return findings


def _defaults(release: Release, current: chart_archive.Chart, target: chart_archive.Chart) -> list[Finding]:
    diff = helm_values.defaults_diff(release.values, current.values, target.values, (current.leaves, target.leaves))
    if diff.empty:
        return []
    counts = [
        f"{len(items)} {word}"
        for items, word in ((diff.changed, "changed"), (diff.added, "added"), (diff.removed, "removed"))
        if items
    ]
    message = f"defaults under keys the release does not set: {', '.join(counts)}"
    if diff.image_tags:
        tags = ", ".join(
            f"{helm_values.dotted(path)} {_short(old)} -> {_short(new)}" for path, old, new in diff.image_tags[:5]
        )
        message += f"; image tags: {tags}"
    elif diff.added and len(diff.added) <= 5:
        message += f" ({', '.join(helm_values.dotted(p) for p in diff.added)})"
    return [Finding("DefaultsChanged", message, Severity.LOW)]
