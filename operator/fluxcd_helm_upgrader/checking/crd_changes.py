"""What changes between the CustomResourceDefinitions in two charts' `crds/` directories. Pure.

Called by `checking.risk`. CRDs are matched by `metadata.name` (apiextensions.k8s.io/v1 documents; anything else
under crds/ is ignored). Per CRD the comparison reports, most severe first:

* a version removed, or still listed but no longer served: objects stored or read at that version break
  (`breaking`);
* the storage version moved, fields removed from or added to a version's `openAPIV3Schema` (property paths such
  as `spec.replicas`), other changes to the file (descriptions, validation rules), a CRD added or dropped.

`policy_note` says what Flux does about it: Helm never upgrades `crds/` on its own, and helm-controller follows the
HelmRelease's `spec.upgrade.crds` (Skip, the default; Create; CreateReplace).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fluxcd_helm_upgrader.checking import chart_archive

MAX_FIELDS_NAMED = 5  # field paths listed in one message; the count is always complete
_MAX_SCHEMA_DEPTH = 30


@dataclass(frozen=True)
class CrdChange:
    """One CRD that changed, with a one-line description of how; `breaking` when a version went away."""

    name: str
    path: str  # the file in the target chart (or the current one, when dropped)
    summary: str
    breaking: bool


def changes(current: Sequence[chart_archive.CrdFile], target: Sequence[chart_archive.CrdFile]) -> list[CrdChange]:
    """Every CRD that differs between the two charts, sorted by name."""
    old, new = _by_name(current), _by_name(target)
    found = []
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            found.append(CrdChange(name, old[name][0], "dropped from the chart's crds/ (Helm never deletes it)", False))
        elif name not in old:
            found.append(CrdChange(name, new[name][0], "new in the chart's crds/", False))
        elif old[name][1] != new[name][1]:
            found.append(_compare(name, new[name][0], old[name][1], new[name][1]))
    return found


def policy_note(upgrade_crds: str) -> str:
    """What helm-controller does with crds/ on upgrade, for the HelmRelease's `spec.upgrade.crds`."""
    if upgrade_crds == "CreateReplace":
        return "upgrade.crds is CreateReplace: helm-controller creates and replaces these CRDs during the upgrade"
    if upgrade_crds == "Create":
        return "upgrade.crds is Create: new CRDs are created, changed ones are NOT updated; apply them yourself"
    return (
        "upgrade.crds is Skip (Flux's default): helm-controller applies no CRD change on upgrade; apply the new "
        "CRDs yourself or set spec.upgrade.crds: CreateReplace"
    )


def _by_name(files: Iterable[chart_archive.CrdFile]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for crd_file in files:
        for document in crd_file.documents:
            if not isinstance(document, Mapping) or document.get("kind") != "CustomResourceDefinition":
                continue
            name = (document.get("metadata") or {}).get("name")
            if isinstance(name, str) and name:
                found.setdefault(name, (crd_file.path, document))
    return found


def _versions(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    spec = document.get("spec") or {}
    items = spec.get("versions") if isinstance(spec, Mapping) else None
    return {str(v["name"]): v for v in items or () if isinstance(v, Mapping) and v.get("name")}


def _compare(name: str, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> CrdChange:
    before, after = _versions(old), _versions(new)
    parts: list[str] = []
    gone = [v for v in before if v not in after]
    unserved = [v for v in before if v in after and before[v].get("served", True) and not after[v].get("served", True)]
    if gone:
        parts.append(f"version{'s' if len(gone) > 1 else ''} {', '.join(gone)} removed")
    if unserved:
        parts.append(f"version{'s' if len(unserved) > 1 else ''} {', '.join(unserved)} no longer served")
    old_storage = next((v for v, body in before.items() if body.get("storage")), None)
    new_storage = next((v for v, body in after.items() if body.get("storage")), None)
    if old_storage != new_storage:
        parts.append(f"storage version {old_storage} -> {new_storage}")
    added_versions = [v for v in after if v not in before]
    if added_versions:
        parts.append(f"version{'s' if len(added_versions) > 1 else ''} {', '.join(added_versions)} added")
    for version in (v for v in after if v in before):
        old_fields, new_fields = set(_fields(before[version])), set(_fields(after[version]))
        if old_fields - new_fields:
            parts.append(f"{version}: fields removed: {_named(old_fields - new_fields)}")
        if new_fields - old_fields:
            parts.append(f"{version}: fields added: {_named(new_fields - old_fields)}")
    if not parts:
        parts.append("changed (descriptions, validation rules or other details)")
    return CrdChange(name, path, "; ".join(parts), breaking=bool(gone or unserved))


def _named(paths: set[str]) -> str:
    shown = sorted(paths)[:MAX_FIELDS_NAMED]
    more = len(paths) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _fields(version: Mapping[str, Any]) -> Iterator[str]:
    holder = version.get("schema")
    schema = holder.get("openAPIV3Schema") if isinstance(holder, Mapping) else None
    if isinstance(schema, Mapping):
        yield from _walk(schema, "", 0)


def _walk(schema: Mapping[str, Any], prefix: str, depth: int) -> Iterator[str]:
    if depth > _MAX_SCHEMA_DEPTH:
        return
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for key, sub in properties.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            if isinstance(sub, Mapping):
                yield from _walk(sub, path, depth + 1)
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield from _walk(items, f"{prefix}[]", depth + 1)
