"""Minimal Flux CRDs (and a loader for the project's own CRDs) to register in the API emulator.

Tests and the `demo` command call `builtin_flux_crds()` to serve HelmRelease, HelmRepository,
OCIRepository, HelmChart and Kustomization without shipping Flux's 10,000-line generated CRDs:
names, short names, categories and scope match the real CRDs (checked against
/work/shared/fixtures/flux-crds), the schema is permissive (spec and status keep unknown fields).
`project_crds(root)` loads `<root>/crds/*.yaml` (UpgraderConfig, UpgradeProposal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fluxcd_helm_upgrader.structs import kinds

# Per kind: short names and categories from the real Flux CRDs.
_NAMES: dict[kinds.Kind, tuple[list[str], list[str]]] = {
    kinds.HELM_RELEASE: (["hr"], ["all", "fluxcd", "fluxcd-appliers"]),
    kinds.HELM_REPOSITORY: (["helmrepo"], ["all", "fluxcd", "fluxcd-sources"]),
    kinds.OCI_REPOSITORY: (["ocirepo"], ["all", "fluxcd", "fluxcd-sources"]),
    kinds.HELM_CHART: (["hc"], ["all", "fluxcd", "fluxcd-sources"]),
    kinds.KUSTOMIZATION: (["ks"], ["all", "fluxcd", "fluxcd-appliers"]),
}
_PRESERVE: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def crd(kind: kinds.Kind, short_names: list[str], categories: list[str]) -> dict[str, Any]:
    """A namespaced apiextensions.k8s.io/v1 CRD with one served storage version and /status."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{kind.group}"},
        "spec": {
            "group": kind.group,
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.kind.lower(),
                "shortNames": short_names,
                "categories": categories,
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": kind.version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": dict(_PRESERVE),
                                "status": dict(_PRESERVE),
                            },
                        }
                    },
                }
            ],
        },
    }


def builtin_flux_crds() -> list[dict[str, Any]]:
    """HelmRelease v2, HelmRepository/OCIRepository/HelmChart v1, Kustomization v1."""
    return [crd(kind, *_NAMES[kind]) for kind in kinds.FLUX_KINDS]


def project_crds(root: Path) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition document in `<root>/crds/*.yaml` (sorted by file name)."""
    found = []
    for path in sorted((Path(root) / "crds").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                found.append(doc)
    return found
