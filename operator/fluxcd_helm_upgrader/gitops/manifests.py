"""Shared vocabulary of the locator: what we look for (Target), where a value is set (Source),
and the plumbing to read YAML manifests and kustomize patches as plain data.

Used by `gitops.kustomize` (walking kustomization.yaml trees), `gitops.locating` (the public
entry point) and `gitops.rendering`. Plain data is read with the operator's one bounded YAML loader
(`checking.safe_yaml.load_typed`: libyaml's parser; aliases, scalar sizes, nesting and merge keys bounded, as a
checkout is untrusted input); a file over `MAX_MANIFEST_BYTES` or a bomb makes the file "unparsable", skipped
and named in the locator's messages. Exact positions are only computed later, by `gitops.scalars`, for the
chosen file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from fluxcd_helm_upgrader.checking import safe_yaml
from fluxcd_helm_upgrader.gitops import scalars
from fluxcd_helm_upgrader.structs import kinds

T = TypeVar("T")
MAX_MANIFEST_BYTES = scalars.MAX_FILE_CHARS  # a bigger file is not read as YAML (reported as unparsable)

# kind -> (API group, fields we may edit, the default field)
FIELDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    kinds.HELM_RELEASE.kind: (
        kinds.HELM_RELEASE.group,
        ("spec.chart.spec.version",),
        "spec.chart.spec.version",
    ),
    kinds.OCI_REPOSITORY.kind: (
        kinds.OCI_REPOSITORY.group,
        ("spec.ref.tag", "spec.ref.digest", "spec.ref.semver"),
        "spec.ref.tag",
    ),
    kinds.HELM_CHART.kind: (kinds.HELM_CHART.group, ("spec.version",), "spec.version"),
}
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
FLUX_KUSTOMIZE_GROUP = kinds.KUSTOMIZATION.group


@dataclass(frozen=True)
class Target:
    """The live object whose version field we want to change.

    `field` defaults per kind (HelmRelease: spec.chart.spec.version, OCIRepository: spec.ref.tag,
    HelmChart: spec.version). `current` is the field's value as the cluster sees it (the spec
    value, e.g. a range like ">=1.0.0", not the resolved chart version); when given, it breaks
    ties between candidates and is checked against what Git holds.
    """

    kind: str
    name: str
    namespace: str
    field: str = ""
    current: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FIELDS:
            raise ValueError(f"unsupported kind {self.kind!r}; expected one of {sorted(FIELDS)}")
        allowed = FIELDS[self.kind][1]
        if not self.field:
            object.__setattr__(self, "field", FIELDS[self.kind][2])
        elif self.field not in allowed:
            raise ValueError(f"{self.kind} field must be one of {allowed}, not {self.field!r}")

    @property
    def group(self) -> str:
        return FIELDS[self.kind][0]

    @property
    def field_path(self) -> tuple[str, ...]:
        return tuple(self.field.split("."))

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name} {self.field}"


@dataclass(frozen=True)
class Source:
    """A place in the repository that sets the target field (before its line is looked up)."""

    path: str
    doc_index: int
    key_path: scalars.KeyPath
    via: str
    embedded: scalars.Embedded | None = None


@dataclass(frozen=True)
class Identity:
    """How kustomize would see an object at some point of the build: for selector matching."""

    kind: str
    group: str
    version: str
    name: str
    namespace: str | None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


def api_group_version(doc: Mapping[str, Any]) -> tuple[str, str]:
    api = str(doc.get("apiVersion") or "")
    group, _, version = api.rpartition("/")
    return group, version


def identity_of(doc: Mapping[str, Any]) -> Identity | None:
    """The identity of a Kubernetes object document, or None if it is not one."""
    meta = doc.get("metadata")
    if not isinstance(doc.get("kind"), str) or not isinstance(meta, dict) or "name" not in meta:
        return None
    group, version = api_group_version(doc)
    ns = meta.get("namespace")
    return Identity(
        kind=doc["kind"],
        group=group,
        version=version,
        name=str(meta["name"]),
        namespace=str(ns) if ns else None,
        labels=_str_map(meta.get("labels")),
        annotations=_str_map(meta.get("annotations")),
    )


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def load_documents(text: str) -> list[Any]:
    """All documents of a YAML stream as plain data (bounded, `checking.safe_yaml`); raises yaml.YAMLError."""
    return safe_yaml.load_typed(text)


def read_documents(path: Path) -> list[Any] | None:
    """Read a manifest file; None when it is unreadable, too large or not YAML (a Go template, an alias bomb)."""
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            return None
        return parse_documents(path.read_bytes())
    except OSError:
        return None


def parse_documents(data: bytes) -> list[Any] | None:
    """A manifest file's bytes as documents; None when too large or not YAML (as `read_documents`)."""
    if len(data) > MAX_MANIFEST_BYTES:
        return None
    try:
        return load_documents(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return None


def inside(root: Path, path: Path) -> Path | None:
    """`path` resolved (symlinks followed), when that is `root` or below it; None when it leaves `root`.

    The one check every path the locator reads goes through: a path taken from the repository or the cluster
    (spec.git.path, a Kustomization's spec.path, kustomize resources, components, patches) is never read
    outside the checkout."""
    resolved = path.resolve()
    return resolved if resolved == root or root in resolved.parents else None


def yaml_files(directory: Path) -> Iterator[Path]:
    """Every *.yaml / *.yml below `directory`, sorted; skips dot-directories (.git) and symlinks out."""
    resolved = directory.resolve()
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).parts
        if any(part.startswith(".") for part in rel[:-1]) or ".git" in rel:
            continue
        # A symlink may point out of the checkout; never read outside it.
        if path.suffix in (".yaml", ".yml") and path.is_file() and path.resolve().is_relative_to(resolved):
            yield path


class Files:
    """How the locator reads the checkout. This one reads the disk on every call; `gitops.index.ManifestIndex`
    reads each file once per commit and answers from memory (a batch of proposals, a `scan --path` run)."""

    def yaml_files(self, directory: Path) -> list[Path]:
        return list(yaml_files(directory))

    def data(self, path: Path) -> bytes:
        return path.read_bytes()

    def documents(self, path: Path) -> list[Any] | None:
        return read_documents(path)

    def named(self, directory: Path, name: str) -> list[Path]:
        """The files under `directory` that may define an object named `name` (here: every one; callers check)."""
        return self.yaml_files(directory)

    def build(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """A kustomize build keyed by what it depends on (memoized by the index; built every time here)."""
        return make()


DIRECT = Files()


def has_path(doc: Any, key_path: Sequence[scalars.Key]) -> bool:
    """True when `doc` holds a scalar (not a mapping or list) at `key_path`."""
    for key in key_path:
        in_map = isinstance(key, str) and isinstance(doc, dict) and key in doc
        in_list = isinstance(key, int) and isinstance(doc, list) and 0 <= key < len(doc)
        if not (in_map or in_list):
            return False
        doc = doc[key]
    return not isinstance(doc, dict | list) and doc is not None


def json_pointer(pointer: str) -> tuple[str, ...]:
    """Split an RFC 6901 pointer (/spec/chart/spec/version) into keys."""
    if not pointer.startswith("/"):
        return ()
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/"))


def _full_match(pattern: Any, value: str | None) -> bool:
    """kustomize selector fields are regular expressions anchored at both ends."""
    if pattern in (None, ""):
        return True
    try:
        return re.fullmatch(str(pattern), value or "") is not None
    except re.error:
        return str(pattern) == value


def _requirements(selector: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in selector:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [p for p in [*parts, cur.strip()] if p]


def label_selector_matches(selector: str, labels: Mapping[str, str]) -> bool:
    """Evaluate a Kubernetes label selector string (equality- and set-based)."""
    for req in _requirements(selector):
        match = re.fullmatch(r"\s*(\S+?)\s+(in|notin)\s+\((.*)\)\s*", req)
        if match:
            key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            if (op == "in") != (key in labels and labels[key] in values):
                return False
        elif "!=" in req:
            key, value = (s.strip() for s in req.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in req:
            key, value = (s.strip() for s in req.replace("==", "=").split("=", 1))
            if labels.get(key) != value:
                return False
        elif req.startswith("!"):
            if req[1:].strip() in labels:
                return False
        elif req not in labels:
            return False
    return True


def selector_matches(selector: Mapping[str, Any], ident: Identity) -> bool:
    """Does a kustomize patch `target:` select this object?"""
    return (
        _full_match(selector.get("kind"), ident.kind)
        and _full_match(selector.get("group"), ident.group)
        and _full_match(selector.get("version"), ident.version)
        and _full_match(selector.get("name"), ident.name)
        and _full_match(selector.get("namespace"), ident.namespace)
        and label_selector_matches(str(selector.get("labelSelector") or ""), ident.labels)
        and label_selector_matches(str(selector.get("annotationSelector") or ""), ident.annotations)
    )
