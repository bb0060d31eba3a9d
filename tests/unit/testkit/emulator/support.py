"""Shared test data for the API emulator's tests: inline CRDs and object builders.

`WIDGET_CRD` is an inline test CRD (the project's own CRDs are written elsewhere and must not be
needed here): namespaced, with a status subresource and a schema that exercises defaults, enums,
int-or-string, nullable and preserve-unknown-fields. `GADGET_CRD` is cluster-scoped without /status.
"""

from __future__ import annotations

import copy
from typing import Any

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator, builtin_flux_crds

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {
            "kind": "Widget",
            "listKind": "WidgetList",
            "plural": "widgets",
            "singular": "widget",
            "shortNames": ["wdg"],
            "categories": ["all", "examples"],
        },
        "versions": [
            {
                "name": "v1",
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
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer", "default": 1, "minimum": 0},
                                    "mode": {"type": "string", "enum": ["fast", "slow"]},
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "note": {"type": "string", "nullable": True},
                                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                },
                            },
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    }
                },
            }
        ],
    },
}
# A cluster-scoped kind without a status subresource: status is an ordinary field there.
GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Cluster",
        "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def make_emulator(**kwargs: Any) -> ApiEmulator:
    emulator = ApiEmulator(**kwargs)
    emulator.register_crd(copy.deepcopy(WIDGET_CRD))
    emulator.register_crd(copy.deepcopy(GADGET_CRD))
    for crd in builtin_flux_crds():
        emulator.register_crd(crd)
    return emulator


def widget_crd_versions(versions: list[str], unserved: list[str]) -> dict[str, Any]:
    """A `things.multi.example.com` CRD serving several versions (the first GA one stores)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.multi.example.com"},
        "spec": {
            "group": "multi.example.com",
            "scope": "Namespaced",
            "names": {"kind": "Thing", "plural": "things", "singular": "thing"},
            "versions": [
                {
                    "name": v,
                    "served": v not in unserved,
                    "storage": v == "v1",
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
                for v in versions
            ],
        },
    }
