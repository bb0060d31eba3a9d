"""Build a directory of a GitOps checkout into objects, the way Flux's kustomize-controller would build it.

Called by the repository scan (`fluxcd-helm-upgrader scan --path DIR`), which needs the HelmReleases and chart
sources a directory produces, with their final field values, without a cluster. Where `gitops.kustomize.Walker`
only tracks which file sets one field, `Renderer` (a Walker, reusing its reading of kustomization files, generated
kustomizations, components and patches) produces the documents themselves:

* `resources` (and legacy `bases`), recursively; `components`, whose resources join the level and whose patches
  apply at it; a directory without a kustomization file gets every *.yaml/*.yml below it, as Flux generates it;
* `patches` and `patchesStrategicMerge` (files or inline; with a `target` selector or matched by kind and name),
  applied as merge patches (Flux's kinds have no strategic-merge schema: maps merge, lists are replaced, `null`
  deletes, `$patch: delete` removes the object); JSON6902 `add`, `replace`, `remove` (`patches` with a list body
  and legacy `patchesJson6902`);
* then `namespace`, `namePrefix`/`nameSuffix`, `commonLabels`/`labels`, then the legacy JSON6902 patches, in
  kustomize's order (the Walker's order, so the two agree on what a patch selects).

Not modelled (noted in `notes`): generators, replacements, `helmCharts`, remote resources, JSON6902 `move`/`copy`/
`test`. Files are read with the bounded loader (`gitops.manifests`), never outside the checkout root.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxcd_helm_upgrader.gitops import kustomize, manifests
from fluxcd_helm_upgrader.structs import kinds

# Kinds a `namespace:` transformer leaves alone (cluster-scoped), as kustomize does for the built-in ones.
_CLUSTER_SCOPED = frozenset({
    "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
    "StorageClass", "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "APIService", "IngressClass", "RuntimeClass", "CSIDriver",
})  # fmt: skip
_UNMODELLED = ("generators", "configMapGenerator", "secretGenerator", "replacements", "helmCharts", "transformers")


@dataclass
class Rendered:
    """One object of the build and the file (relative to the checkout root) its base document came from."""

    doc: dict[str, Any]
    origin: str


class Renderer(kustomize.Walker):
    """One build of one directory; `notes` says what was skipped."""

    def __init__(self, root: Path) -> None:
        # The Walker's target only matters to its own build(); the reading helpers used here ignore it.
        super().__init__(root, manifests.Target(kinds.HELM_RELEASE.kind, "", ""))

    def render(self, directory: Path) -> list[Rendered]:
        return self._render(directory.resolve(), ())

    def _render(self, directory: Path, stack: tuple[Path, ...]) -> list[Rendered]:
        read = self._read_level(directory, stack)
        if read is None:
            return []
        kfile, kust, entries = read
        if kfile is not None:
            self.notes.extend(f"{self.rel(kfile)}: {key} not applied" for key in _UNMODELLED if kust.get(key))
        objects: list[Rendered] = []
        for entry in entries:
            objects.extend(self._render_resource(directory, entry, (*stack, directory)))
        # A component acts on what the level accumulated so far, before the level's own patches (as in kustomize).
        component_patches: list[kustomize.Patch] = []
        for component in kust.get("components") or []:
            objects.extend(self._render_component(directory, str(component), (*stack, directory), component_patches))
        patches = self._patches(directory, kfile, kust, ("patchesStrategicMerge", "patches"))
        legacy = self._patches(directory, kfile, kust, ("patchesJson6902",))
        objects = _patched(_patched(objects, component_patches), patches)
        for obj in objects:
            _transform(obj.doc, kust)
        return _patched(objects, legacy)

    def _render_resource(self, directory: Path, entry: str, stack: tuple[Path, ...]) -> list[Rendered]:
        path = self._resource_path(directory, entry)
        if path is None:
            return []
        if path.is_dir():
            return self._render(path, stack)
        docs = manifests.read_documents(path)
        if docs is None:
            self.notes.append(f"{self.rel(path)} is not parsable YAML")
            return []
        origin = self.rel(path)
        return [Rendered(copy.deepcopy(doc), origin) for doc in docs if _is_object(doc)]

    def _render_component(
        self, parent: Path, entry: str, stack: tuple[Path, ...], patches: list[kustomize.Patch]
    ) -> list[Rendered]:
        level = self._component_level(parent, entry)
        if level is None:
            return []
        directory, kfile, comp = level
        patches.extend(self._patches(directory, kfile, comp, ("patchesStrategicMerge", "patches")))
        objects: list[Rendered] = []
        for resource in comp.get("resources") or []:
            objects.extend(self._render_resource(directory, str(resource), stack))
        return objects


def _is_object(doc: Any) -> bool:
    return isinstance(doc, dict) and manifests.identity_of(doc) is not None


def _patched(objects: list[Rendered], patches: Sequence[kustomize.Patch]) -> list[Rendered]:
    for patch in patches:
        objects = [obj for obj in objects if _apply(patch, obj.doc)]
    return objects


def _apply(patch: kustomize.Patch, doc: dict[str, Any]) -> bool:
    """Apply `patch` to `doc` if it selects it; False when the patch deletes the object."""
    ident = manifests.identity_of(doc)
    if ident is None:
        return True
    if patch.docs and isinstance(patch.docs[0], list):
        if patch.selector is not None and manifests.selector_matches(patch.selector, ident):
            for op in patch.docs[0]:
                if isinstance(op, Mapping):
                    _json6902(doc, op)
        return True
    for body in patch.docs:
        if isinstance(body, dict) and patch._applies(body, ident):
            if body.get("$patch") == "delete":
                return False
            _merge(doc, body, top=True)
    return True


def _merge(target: dict[str, Any], patch: Mapping[str, Any], *, top: bool = False) -> None:
    for key, value in patch.items():
        if key == "$patch" or (top and key in ("apiVersion", "kind")):
            continue
        if top and key == "metadata" and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k not in ("name", "namespace")}  # identity, not content
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _json6902(doc: dict[str, Any], op: Mapping[str, Any]) -> None:
    path = manifests.json_pointer(str(op.get("path", "")))
    if not path or op.get("op") not in ("add", "replace", "remove"):
        return
    parent: Any = doc
    for key in path[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else _index(parent, key)
        if parent is None:
            return
    last = path[-1]
    if isinstance(parent, dict):
        if op["op"] == "remove":
            parent.pop(last, None)
        else:
            parent[last] = copy.deepcopy(op.get("value"))
    elif isinstance(parent, list):
        position = len(parent) if last == "-" else _position(last)
        if position is None or position > len(parent):
            return
        if op["op"] == "add":
            parent.insert(position, copy.deepcopy(op.get("value")))
        elif position < len(parent):
            if op["op"] == "remove":
                del parent[position]
            else:
                parent[position] = copy.deepcopy(op.get("value"))


def _position(key: str) -> int | None:
    return int(key) if key.isdigit() else None


def _index(node: Any, key: str) -> Any:
    position = _position(key)
    return node[position] if isinstance(node, list) and position is not None and position < len(node) else None


def _transform(doc: dict[str, Any], kust: Mapping[str, Any]) -> None:
    meta = doc.setdefault("metadata", {})
    if kust.get("namespace") and doc.get("kind") not in _CLUSTER_SCOPED:
        meta["namespace"] = str(kust["namespace"])
    if kust.get("namePrefix") or kust.get("nameSuffix"):
        meta["name"] = f"{kust.get('namePrefix') or ''}{meta.get('name')}{kust.get('nameSuffix') or ''}"
    labels: dict[str, str] = {}
    if isinstance(kust.get("commonLabels"), dict):
        labels.update({str(k): str(v) for k, v in kust["commonLabels"].items()})
    for entry in kust.get("labels") or []:
        if isinstance(entry, dict) and isinstance(entry.get("pairs"), dict):
            labels.update({str(k): str(v) for k, v in entry["pairs"].items()})
    if labels:
        meta["labels"] = {**(meta.get("labels") or {}), **labels}
