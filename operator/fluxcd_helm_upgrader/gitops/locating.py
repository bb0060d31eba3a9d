"""Find the one line in a GitOps checkout that sets a release's chart version (or an OCI tag/digest).

Called by the PR worker (proposals/) after fetching the repository; the returned `Location` is
handed to `gitops.editing.edit_scalar(s)` via `Location.edit(new)`.

Two modes, cluster-aware first (see DESIGN.md "Locating the line in Git"):

* Cluster-aware (`kustomization_path` = the Flux Kustomization's `spec.path`, relative to the repo
  root; or `flux_kustomization=(namespace, name)`, whose document is looked up in the checkout and
  supplies `spec.path`, `spec.targetNamespace` and inline `spec.patches`). The kustomize tree is
  walked (`gitops.kustomize`); the outermost layer that sets the field wins: a Flux Kustomization
  inline patch, then the top overlay's patches, down to the base document. Two patches of one
  layer that both set it -> `Ambiguous`. If the object is produced but nothing sets the field ->
  `NotFound` (never a guess). If the directory is missing from the checkout or does not produce
  the object (e.g. `spec.path` is relative to an ExternalArtifact, not the repo), we fall back to
  scanning unless `fallback=False`.
* Fallback scan of every *.yaml/*.yml under `search_path` (multi-document; `.git` and dot-dirs
  skipped; unparsable files skipped and counted in the error message). A document matches by
  kind, API group, name and namespace; a document with no namespace counts only when it is the
  single candidate (kustomize overlays usually add the namespace, but with several such files we
  cannot tell which one the cluster runs). Candidates that set the field must be exactly one;
  `target.current` breaks a tie when exactly one candidate holds the live value.

Every path comes from the repository or the cluster, so every one is confined to the checkout
(`manifests.inside`, symlinks followed): `search_path` (spec.git.path) or a Kustomization path that
resolves outside is a `NotFound` saying so; kustomize entries that do are noted; nothing outside is read.

Known limits: no generators/replacements/helm charts inside kustomize, `$patch: delete` and JSON6902
`remove`/`move`/`copy` ops are not modelled, remote bases are skipped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxcd_helm_upgrader.gitops import editing, kustomize, manifests, scalars

Target = manifests.Target


@dataclass(frozen=True)
class Location:
    """The scalar to edit: file (posix, relative to the repo root), document, key path, line."""

    path: str
    doc_index: int
    key_path: scalars.KeyPath
    line: int
    current: str
    via: str
    embedded: scalars.Embedded | None = None

    def edit(self, new: str) -> editing.ScalarEdit:
        """The edit for `gitops.editing.edit_scalars` that sets this scalar to `new`."""
        return editing.ScalarEdit(self.doc_index, self.key_path, self.current, new, self.embedded)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} ({self.via})"


class LocateError(Exception):
    """Base class: the message is meant for the proposal's status and the user."""


class NotFound(LocateError):
    """Nothing in the checkout sets the field; the message names what was searched."""


class Ambiguous(LocateError):
    """Several places could set the field; we never pick one at random."""

    def __init__(self, message: str, candidates: Sequence[Location]) -> None:
        super().__init__(message)
        self.candidates = tuple(candidates)


class StaleValue(LocateError):
    """Git holds a different value than the cluster (`target.current`); e.g. a merged bump not yet
    applied. `location` is what we found."""

    def __init__(self, message: str, location: Location) -> None:
        super().__init__(message)
        self.location = location


def locate(
    root: Path,
    target: Target,
    *,
    kustomization_path: str | None = None,
    search_path: str = ".",
    flux_kustomization: tuple[str, str] | None = None,
    fallback: bool = True,
    files: manifests.Files = manifests.DIRECT,
) -> Location:
    """Find the line to change for `target` in the checkout at `root` (see module docstring); `files` reads the
    checkout (a `gitops.index.ManifestIndex` reads each file once for a whole batch of targets)."""
    root = root.resolve()
    if manifests.inside(root, root / search_path) is None:
        raise NotFound(f"{target}: spec.git.path {search_path!r} resolves outside the repository; not read")
    searched: list[str] = []
    flux_doc = _flux_document(root, search_path, flux_kustomization, searched, files) if flux_kustomization else None
    if kustomization_path is None and flux_doc is not None:
        spec_path = (flux_doc[2].get("spec") or {}).get("path")
        kustomization_path = str(spec_path) if spec_path else None
    if kustomization_path is not None:
        directory = manifests.inside(root, root / kustomization_path)
        if directory is None:
            raise NotFound(
                f"{target}: the Flux Kustomization path {kustomization_path!r} resolves outside the repository; "
                "not read"
            )
        if directory.is_dir():
            found = _cluster_aware(root, directory, target, flux_doc, searched, files)
            if found is not None:
                return _checked(found, target)
        else:
            searched.append(f"kustomization path {kustomization_path!r} does not exist in the checkout")
        if not fallback:
            raise NotFound(f"{target}: not found; " + "; ".join(searched))
    return _checked(_scan(root, target, search_path, flux_doc, searched, files), target)


def locate_in_flux_kustomization(
    root: Path,
    path: str,
    doc_index: int,
    target: Target,
    labels: dict[str, str] | None = None,
    files: manifests.Files = manifests.DIRECT,
) -> Location | None:
    """Check one Flux Kustomization document's inline `spec.patches` for the target field.

    Selectors are matched against the target's kind/name/namespace and `labels` (when None,
    label and annotation selectors are assumed to match). Returns None when no patch sets it.
    """
    root = root.resolve()
    readable = manifests.inside(root, root / path)
    docs = files.documents(readable) if readable is not None else None
    if docs is None or not 0 <= doc_index < len(docs) or not isinstance(docs[doc_index], dict):
        raise NotFound(f"no Flux Kustomization document {doc_index} in {path}")
    ident = manifests.Identity(target.kind, target.group, "", target.name, target.namespace, labels or {}, {})
    patches = kustomize.flux_patches(path, doc_index, docs[doc_index])
    if labels is None:
        patches = [_without_label_selectors(p) for p in patches]
    sources = [s for p in patches if (s := p.source(ident, target))]
    return _pick(root, target, [sources], files) if sources else None


def find_flux_kustomizations(root: Path, namespace: str, name: str, search_path: str = ".") -> list[Location]:
    """Every Flux Kustomization document named namespace/name (namespace-less ones too).

    Returned as Locations of the document itself (key_path (), line 0) so callers can pass
    path/doc_index on to `locate_in_flux_kustomization`.
    """
    root = root.resolve()
    if manifests.inside(root, root / search_path) is None:
        return []
    return [
        Location(path, index, (), 0, "", "Flux Kustomization")
        for path, index, _ in _flux_documents(root, search_path, namespace, name)
    ]


def _without_label_selectors(patch: kustomize.Patch) -> kustomize.Patch:
    if patch.selector is None:
        return patch
    selector = {k: v for k, v in patch.selector.items() if k not in ("labelSelector", "annotationSelector")}
    return kustomize.Patch(patch.docs, selector, patch.path, patch.holder, patch.where)


def _flux_documents(
    root: Path, search_path: str, namespace: str, name: str, files: manifests.Files = manifests.DIRECT
) -> list[tuple[str, int, dict[str, Any]]]:
    found = []
    for path in files.named((root / search_path).resolve(), name):
        text = files.data(path)
        if b"kustomize.toolkit.fluxcd.io" not in text or name.encode() not in text:
            continue
        for index, doc in enumerate(files.documents(path) or []):
            ident = manifests.identity_of(doc) if isinstance(doc, dict) else None
            if (
                ident is not None
                and (ident.kind, ident.group, ident.name) == ("Kustomization", manifests.FLUX_KUSTOMIZE_GROUP, name)
                and ident.namespace in (None, namespace)
            ):
                found.append((path.relative_to(root).as_posix(), index, doc))
    return found


def _flux_document(
    root: Path, search_path: str, ref: tuple[str, str], searched: list[str], files: manifests.Files
) -> tuple[str, int, dict[str, Any]] | None:
    """The Flux Kustomization to honour: the one whose document carries `spec.path` (overlay
    patches of a Flux Kustomization usually carry only a fragment). None when it is not in Git."""
    docs = _flux_documents(root, search_path, *ref, files)
    with_path = [d for d in docs if (d[2].get("spec") or {}).get("path")]
    with_patches = [d for d in docs if (d[2].get("spec") or {}).get("patches")]
    chosen = with_patches or with_path or docs
    if len(chosen) > 1:
        # e.g. one per cluster directory: we cannot tell which one this cluster runs.
        searched.append(
            f"{len(chosen)} Flux Kustomization documents {ref[0]}/{ref[1]} found "
            f"({', '.join(d[0] for d in chosen)}); pass kustomization_path"
        )
        return None
    if not chosen:
        searched.append(f"Flux Kustomization {ref[0]}/{ref[1]} not found in the checkout")
    return chosen[0] if chosen else None


def _cluster_aware(
    root: Path,
    directory: Path,
    target: Target,
    flux_doc: tuple[str, int, dict[str, Any]] | None,
    searched: list[str],
    files: manifests.Files,
) -> Location | None:
    extra: list[kustomize.Patch] = []
    namespace = None
    if flux_doc is not None:
        extra = kustomize.flux_patches(*flux_doc)
        namespace = (flux_doc[2].get("spec") or {}).get("targetNamespace")

    def build() -> tuple[list[kustomize.Built], tuple[str, ...]]:
        walker = kustomize.Walker(root, target, files)
        return walker.build(directory, extra=extra, namespace=namespace), tuple(walker.notes)

    # The build depends on the tree, the Flux Kustomization, the kind and the field, never on the target's name: one
    # build serves every release of a Kustomization path (the index keeps it for the batch).
    flux_key = (flux_doc[0], flux_doc[1]) if flux_doc is not None else None
    built, walker_notes = files.build(("kustomize", directory, flux_key, namespace, target.kind, target.field), build)
    rel = directory.relative_to(root).as_posix()
    exact = [b for b in built if b.ident.name == target.name and b.ident.namespace == target.namespace]
    loose = [b for b in built if b.ident.name == target.name and b.ident.namespace is None]
    matches = exact or (loose if len(loose) == 1 else [])
    notes = f" ({'; '.join(walker_notes)})" if walker_notes else ""
    if not matches:
        searched.append(
            f"the kustomization at {rel} does not produce {target.kind} {target.namespace}/{target.name}{notes}"
        )
        return None
    if len(matches) > 1:
        raise Ambiguous(
            f"{target}: the kustomization at {rel} produces it more than once",
            [loc for b in matches for loc in _all(root, target, b.tiers, files)],
        )
    obj = matches[0]
    if not any(obj.tiers):
        raise NotFound(
            f"{target}: defined in {obj.origin} (built from {rel}) but no base or patch sets {target.field}{notes}"
        )
    return _pick(root, target, obj.tiers, files)


def _pick(root: Path, target: Target, tiers: Sequence[Sequence[manifests.Source]], files: manifests.Files) -> Location:
    """The outermost non-empty tier wins; two sources in it are ambiguous."""
    winning = next(t for t in reversed(tiers) if t)
    if len(winning) > 1:
        candidates = [_location(root, target, s, files) for s in winning]
        raise Ambiguous(
            f"{target}: set by {len(winning)} patches at the same level: " + ", ".join(str(c) for c in candidates),
            candidates,
        )
    return _location(root, target, winning[0], files)


def _all(
    root: Path, target: Target, tiers: Sequence[Sequence[manifests.Source]], files: manifests.Files
) -> list[Location]:
    return [_location(root, target, s, files) for tier in tiers for s in tier]


def _location(root: Path, target: Target, source: manifests.Source, files: manifests.Files) -> Location:
    data = files.data(root / source.path)
    try:
        span = scalars.find_scalar(scalars.decode(data), source.doc_index, source.key_path, source.embedded)
    except scalars.EditError as exc:
        raise NotFound(f"{target}: set in {source.path} ({source.via}) but not editable: {exc}") from exc
    return Location(source.path, source.doc_index, source.key_path, span.line, span.value, source.via, source.embedded)


def _checked(location: Location, target: Target) -> Location:
    if target.current is not None and location.current != target.current:
        raise StaleValue(
            f"{target}: Git has {location.current!r} at {location}, the cluster has {target.current!r}",
            location,
        )
    return location


def _scan(
    root: Path,
    target: Target,
    search_path: str,
    flux_doc: tuple[str, int, dict[str, Any]] | None,
    searched: list[str],
    files: manifests.Files,
) -> Location:
    if flux_doc is not None:
        flux = locate_in_flux_kustomization(root, flux_doc[0], flux_doc[1], target, files=files)
        if flux is not None:
            return flux
    base = (root / search_path).resolve()
    exact: list[manifests.Source] = []
    loose: list[manifests.Source] = []
    defined = 0
    unparsable = []
    needle = target.name.encode()
    for path in files.named(base, target.name):
        raw = files.data(path)
        if needle not in raw:  # cheap pre-filter: big CRD bundles never mention the release
            continue
        docs = files.documents(path)
        if docs is None:
            unparsable.append(path.relative_to(root).as_posix())
            continue
        for index, doc in enumerate(docs):
            ident = manifests.identity_of(doc) if isinstance(doc, dict) else None
            wanted = (target.kind, target.group, target.name)
            if ident is None or (ident.kind, ident.group, ident.name) != wanted:
                continue
            if ident.namespace not in (None, target.namespace):
                continue
            defined += 1
            if manifests.has_path(doc, target.field_path):
                source = manifests.Source(path.relative_to(root).as_posix(), index, target.field_path, "scan")
                (exact if ident.namespace else loose).append(source)
    candidates = exact or loose
    where = base.relative_to(root).as_posix()
    skipped = f"; {len(unparsable)} unparsable file(s) skipped: {', '.join(unparsable)}" if unparsable else ""
    prefix = "; ".join([*searched, ""])
    if not candidates:
        raise NotFound(
            f"{target}: {prefix}scanned *.yaml/*.yml under {where}: {defined} matching "
            f"document(s), none sets {target.field}{skipped}"
        )
    locations = [_location(root, target, s, files) for s in candidates]
    if len(locations) == 1 and (exact or len(loose) == 1):
        return locations[0]
    if target.current is not None:
        same = [loc for loc in locations if loc.current == target.current]
        if len(same) == 1:
            return _with_via(same[0], f"scan (the only one of {len(locations)} holding {target.current!r})")
    raise Ambiguous(
        f"{target}: {prefix}{len(locations)} files set it: " + ", ".join(str(loc) for loc in locations),
        locations,
    )


def _with_via(location: Location, via: str) -> Location:
    return dataclasses.replace(location, via=via)
