"""Walk a kustomize tree the way `kustomize build` would, tracking only where one field is set.

Called by `gitops.locating` in cluster-aware mode. We do not render manifests: we follow
`resources` (and legacy `bases`, plus `components`), collect the objects of the target's kind, and
record, level by level, which file sets the target field: the base document, strategic-merge
patches, JSON6902 patches (from files or inline), legacy `patchesStrategicMerge` /
`patchesJson6902`, and finally a Flux Kustomization's own `spec.patches`. Identity transforms that
change what a patch selects are applied in kustomize's order: patches, then `namespace`,
`namePrefix`/`nameSuffix` and labels, then legacy JSON6902 patches.

Like Flux, a directory without a kustomization file gets a generated one: every *.yaml/*.yml below
it, except that a sub-directory holding a kustomization file is included as one resource.
Remote resources (URLs, git refs) are skipped and noted. So is every path that resolves outside the
checkout (`manifests.inside`, symlinks followed): a resource, a component, a patch file or a
kustomization file itself; the note says so and nothing there is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fluxcd_helm_upgrader.gitops import manifests, scalars


@dataclass(frozen=True)
class Patch:
    """One patch at one level: parsed content, selector, and where its text lives.

    `holder` is (doc_index, key_path) of the string holding an inline patch in `path`; None when
    the patch is a file of its own.
    """

    docs: tuple[Any, ...]
    selector: Mapping[str, Any] | None
    path: str
    holder: tuple[int, scalars.KeyPath] | None
    where: str

    def source(self, ident: manifests.Identity, target: manifests.Target) -> manifests.Source | None:
        """Where this patch sets the target field of `ident`, or None if it does not."""
        if self.docs and isinstance(self.docs[0], list):
            return self._json6902(ident, target)
        found = None
        for index, doc in enumerate(self.docs):
            if not isinstance(doc, dict) or not self._applies(doc, ident):
                continue
            if manifests.has_path(doc, target.field_path):
                found = self._at(index, target.field_path, "strategic-merge")
        return found

    def _applies(self, doc: Mapping[str, Any], ident: manifests.Identity) -> bool:
        if self.selector is not None:
            return manifests.selector_matches(self.selector, ident)
        own = manifests.identity_of(doc)
        return (
            own is not None
            and (own.kind, own.group, own.name) == (ident.kind, ident.group, ident.name)
            and (own.namespace is None or ident.namespace is None or own.namespace == ident.namespace)
        )

    def _json6902(self, ident: manifests.Identity, target: manifests.Target) -> manifests.Source | None:
        if self.selector is None or not manifests.selector_matches(self.selector, ident):
            return None
        wanted = target.field_path
        found = None
        for index, op in enumerate(self.docs[0]):
            if not isinstance(op, dict) or op.get("op") not in ("add", "replace"):
                continue
            pointer = manifests.json_pointer(str(op.get("path", "")))
            if pointer and wanted[: len(pointer)] == pointer:
                rest = wanted[len(pointer) :]
                if manifests.has_path(op.get("value"), rest):
                    found = self._at(0, (index, "value", *rest), "json6902")
        return found

    def _at(self, doc_index: int, key_path: scalars.KeyPath, style: str) -> manifests.Source:
        if self.holder is None:
            return manifests.Source(self.path, doc_index, key_path, f"{style} patch in {self.path}")
        embedded = scalars.Embedded(doc_index, key_path)
        via = f"inline {style} patch in {self.where}"
        return manifests.Source(self.path, self.holder[0], self.holder[1], via, embedded)


@dataclass
class Built:
    """An object of the target's kind produced by the build, with who sets the field at each level."""

    ident: manifests.Identity
    origin: str
    tiers: list[list[manifests.Source]] = field(default_factory=list)


def parse_patch(content: str) -> tuple[Any, ...] | None:
    try:
        return tuple(manifests.load_documents(content))
    except yaml.YAMLError:
        return None


def _is_remote(entry: str) -> bool:
    return "://" in entry or entry.startswith(("git@", "github.com/", "gitlab.com/")) or "?ref=" in entry


def kustomization_file(directory: Path) -> Path | None:
    for name in manifests.KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


class Walker:
    """One build of one kustomization directory for one target; collects notes on what it skipped."""

    def __init__(self, root: Path, target: manifests.Target, files: manifests.Files = manifests.DIRECT) -> None:
        self.root = root.resolve()
        self.target = target
        self.files = files  # how files are read: from disk, or from a batch's `gitops.index.ManifestIndex`
        self.notes: list[str] = []

    def rel(self, path: Path) -> str:
        resolved = manifests.inside(self.root, path)
        return resolved.relative_to(self.root).as_posix() if resolved is not None else str(path)

    def _outside(self, what: str) -> None:
        self.notes.append(f"{what} resolves outside the repository; not read")

    def build(self, directory: Path, *, extra: Sequence[Patch] = (), namespace: str | None = None) -> list[Built]:
        """Build `directory`; `extra` patches (a Flux Kustomization's) win over the top level's,
        and `namespace` (its targetNamespace) replaces the top level's `namespace:`."""
        return self._level(directory.resolve(), (), extra, namespace)

    def _kustomization(self, directory: Path) -> Path | None:
        """The kustomization file of `directory`, when there is one and it stays in the checkout."""
        kfile = kustomization_file(directory)
        if kfile is not None and manifests.inside(self.root, kfile) is None:
            self._outside(f"{self.rel(directory) or '.'}/{kfile.name}")
            return None
        return kfile

    def _level(
        self, directory: Path, stack: tuple[Path, ...], extra: Sequence[Patch], ns_override: str | None
    ) -> list[Built]:
        read = self._read_level(directory, stack)
        if read is None:
            return []
        kfile, kust, entries = read
        objects: list[Built] = []
        for entry in entries:
            objects.extend(self._resource(directory, entry, (*stack, directory)))
        patches = list(self._patches(directory, kfile, kust, ("patchesStrategicMerge", "patches")))
        for comp in kust.get("components") or []:
            objects.extend(self._component(directory, str(comp), (*stack, directory), patches))
        legacy = list(self._patches(directory, kfile, kust, ("patchesJson6902",)))
        for obj in objects:
            level = [s for p in patches if (s := p.source(obj.ident, self.target))]
            flux = [s for p in extra if (s := p.source(obj.ident, self.target))]
            obj.ident = self._transform(obj.ident, kust, ns_override)
            level += [s for p in legacy if (s := p.source(obj.ident, self.target))]
            obj.tiers.append(level)
            obj.tiers.append(flux)
        return objects

    def _read_level(
        self, directory: Path, stack: tuple[Path, ...]
    ) -> tuple[Path | None, dict[str, Any], list[str]] | None:
        """(kustomization file, its content, the resources to build) of one directory; None when it cannot be
        built (a cycle, an invalid kustomization, a kustomization file outside the checkout: noted). Without a
        kustomization file, Flux's generated one. Shared with `gitops.rendering`."""
        if directory in stack:
            self.notes.append(f"cycle through {self.rel(directory)} skipped")
            return None
        kfile = self._kustomization(directory)
        if kfile is None and kustomization_file(directory) is not None:
            return None  # the kustomization file leaves the checkout: this directory produces nothing we read
        if kfile is None:
            return None, {}, self._generated(directory)
        docs = self.files.documents(kfile)
        if not docs or not isinstance(docs[0], dict):
            self.notes.append(f"{self.rel(kfile)} is not a valid kustomization")
            return None
        kust = docs[0]
        return kfile, kust, [str(e) for e in [*(kust.get("resources") or []), *(kust.get("bases") or [])]]

    def _resource_path(self, directory: Path, entry: str) -> Path | None:
        """The file or directory a `resources` entry names, inside the checkout; None (noted) otherwise."""
        if _is_remote(entry):
            self.notes.append(f"remote resource {entry} skipped")
            return None
        path = manifests.inside(self.root, directory / entry)
        if path is None:
            self._outside(f"resource {entry} of {self.rel(directory) or '.'}")
            return None
        if not path.exists():
            self.notes.append(f"resource {entry} of {self.rel(directory) or '.'} not found in the repository")
            return None
        return path

    def _component_level(self, parent: Path, entry: str) -> tuple[Path, Path, dict[str, Any]] | None:
        """(directory, kustomization file, content) of a `components` entry inside the checkout; None (noted)."""
        directory = manifests.inside(self.root, parent / entry)
        if directory is None:
            self._outside(f"component {entry} of {self.rel(parent) or '.'}")
            return None
        kfile = self._kustomization(directory)
        docs = self.files.documents(kfile) if kfile else None
        if kfile is None or not docs or not isinstance(docs[0], dict):
            self.notes.append(f"component {self.rel(directory)} has no readable kustomization")
            return None
        return directory, kfile, docs[0]

    def _generated(self, directory: Path) -> list[str]:
        entries: list[str] = []
        claimed: list[Path] = []
        for sub in sorted(p for p in directory.rglob("*") if p.is_dir()):
            rel = sub.relative_to(directory).parts
            if any(part.startswith(".") for part in rel) or any(c in sub.parents for c in claimed):
                continue
            if kustomization_file(sub) is not None:
                claimed.append(sub)
                entries.append(sub.relative_to(directory).as_posix())
        for path in self.files.yaml_files(directory):
            if not any(c in path.parents for c in claimed):
                entries.append(path.relative_to(directory).as_posix())
        return entries

    def _resource(self, directory: Path, entry: str, stack: tuple[Path, ...]) -> list[Built]:
        path = self._resource_path(directory, entry)
        if path is None:
            return []
        if path.is_dir():
            return self._level(path, stack, (), None)
        docs = self.files.documents(path)
        if docs is None:
            self.notes.append(f"{self.rel(path)} is not parsable YAML")
            return []
        built = []
        for index, doc in enumerate(docs):
            ident = manifests.identity_of(doc) if isinstance(doc, dict) else None
            if ident is None or (ident.kind, ident.group) != (self.target.kind, self.target.group):
                continue
            obj = Built(ident, self.rel(path))
            if manifests.has_path(doc, self.target.field_path):
                obj.tiers.append([manifests.Source(self.rel(path), index, self.target.field_path, "base")])
            built.append(obj)
        return built

    def _component(self, parent: Path, entry: str, stack: tuple[Path, ...], patches: list[Patch]) -> list[Built]:
        """A component's resources join this level and its patches apply at this level."""
        level = self._component_level(parent, entry)
        if level is None:
            return []
        directory, kfile, comp = level
        patches.extend(self._patches(directory, kfile, comp, ("patchesStrategicMerge", "patches")))
        objects: list[Built] = []
        for resource in comp.get("resources") or []:
            objects.extend(self._resource(directory, str(resource), stack))
        return objects

    def _patches(
        self, directory: Path, kfile: Path | None, kust: Mapping[str, Any], keys: Sequence[str]
    ) -> list[Patch]:
        out: list[Patch] = []
        if kfile is None:
            return out
        kpath = self.rel(kfile)
        for key in keys:
            for index, item in enumerate(kust.get(key) or []):
                if isinstance(item, str):  # patchesStrategicMerge: a file name or an inline patch
                    spec: Mapping[str, Any] = {"patch": item} if "\n" in item else {"path": item}
                    holder_path: scalars.KeyPath = (key, index)
                elif isinstance(item, dict):
                    spec, holder_path = item, (key, index, "patch")
                else:
                    continue
                patch = self._patch(directory, kpath, spec, holder_path, f"{kpath} ({key}[{index}])")
                if patch is not None:
                    out.append(patch)
        return out

    def _patch(
        self, directory: Path, kpath: str, spec: Mapping[str, Any], holder: scalars.KeyPath, where: str
    ) -> Patch | None:
        selector = spec.get("target") if isinstance(spec.get("target"), dict) else None
        if isinstance(spec.get("patch"), str):
            docs = parse_patch(spec["patch"])
            if docs is None:
                self.notes.append(f"inline patch in {where} is not parsable YAML")
                return None
            return Patch(docs, selector, kpath, (0, holder), where)
        if isinstance(spec.get("path"), str):
            path = manifests.inside(self.root, directory / spec["path"])
            if path is None:
                self._outside(f"patch file {spec['path']} of {kpath}")
                return None
            docs_list = self.files.documents(path) if path.is_file() else None
            if docs_list is None:
                self.notes.append(f"patch file {spec['path']} of {kpath} missing or not parsable")
                return None
            return Patch(tuple(docs_list), selector, self.rel(path), None, self.rel(path))
        return None

    def _transform(
        self, ident: manifests.Identity, kust: Mapping[str, Any], ns_override: str | None
    ) -> manifests.Identity:
        namespace = ns_override or kust.get("namespace") or ident.namespace
        name = f"{kust.get('namePrefix') or ''}{ident.name}{kust.get('nameSuffix') or ''}"
        labels = dict(ident.labels)
        if isinstance(kust.get("commonLabels"), dict):
            labels.update({str(k): str(v) for k, v in kust["commonLabels"].items()})
        for entry in kust.get("labels") or []:
            if isinstance(entry, dict) and isinstance(entry.get("pairs"), dict):
                labels.update({str(k): str(v) for k, v in entry["pairs"].items()})
        return dataclasses.replace(ident, name=name, namespace=namespace and str(namespace), labels=labels)


def flux_patches(path: str, doc_index: int, doc: Mapping[str, Any]) -> list[Patch]:
    """The inline `spec.patches` of a Flux Kustomization document (they are always inline)."""
    meta = doc.get("metadata") or {}
    where = f"Flux Kustomization {meta.get('namespace', '')}/{meta.get('name', '')}"
    spec = doc.get("spec") or {}
    out = []
    for index, item in enumerate(spec.get("patches") or []):
        if isinstance(item, dict) and isinstance(item.get("patch"), str):
            docs = parse_patch(item["patch"])
            selector = item.get("target") if isinstance(item.get("target"), dict) else None
            if docs is not None:
                holder = (doc_index, ("spec", "patches", index, "patch"))
                out.append(Patch(docs, selector, path, holder, where))
    return out
