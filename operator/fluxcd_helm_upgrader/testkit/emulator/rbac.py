"""RBAC for the emulator: allow or forbid a request by a list of PolicyRule-like dicts.

`emulator.server` calls `Authorizer.check()` for every resource request when `ApiEmulator(rules=...)`
is set (discovery is always allowed). A rule is a Kubernetes PolicyRule (`apiGroups`, `resources`
incl. `plural/status`, `verbs`, optional `resourceNames`) plus an optional `namespaces` list that
models a Role bound in those namespaces; without it the rule is a ClusterRole bound cluster-wide.
Denials raise 403 Forbidden with kube-apiserver's message, so the operator's error paths see what
they would see on a real cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fluxcd_helm_upgrader.testkit.emulator import errors

DEFAULT_USER = "system:serviceaccount:flux-system:fluxcd-helm-upgrader"


@dataclass(frozen=True)
class Rule:
    """One PolicyRule, optionally limited to some namespaces (a Role) instead of cluster-wide."""

    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()
    namespaces: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Rule:
        namespaces = raw.get("namespaces")
        return cls(
            api_groups=tuple(raw.get("apiGroups") or ()),
            resources=tuple(raw.get("resources") or ()),
            verbs=tuple(raw.get("verbs") or ()),
            resource_names=tuple(raw.get("resourceNames") or ()),
            namespaces=None if namespaces is None else tuple(namespaces),
        )

    def allows(self, verb: str, group: str, resource: str, namespace: str | None, name: str | None) -> bool:
        if not ("*" in self.verbs or verb in self.verbs):
            return False
        if not ("*" in self.api_groups or group in self.api_groups):
            return False
        base = resource.split("/")[0]
        if not (
            "*" in self.resources or resource in self.resources or (resource != base and f"{base}/*" in self.resources)
        ):
            return False
        if self.resource_names and name not in self.resource_names:
            return False
        # A Role grants nothing at the cluster scope (cluster-scoped kinds, all-namespace lists).
        return self.namespaces is None or (namespace is not None and namespace in self.namespaces)


def verb_for(method: str, name: str | None, watch: bool) -> str:
    """The RBAC verb of an HTTP request, as kube-apiserver's request-info resolver names it."""
    if method == "GET":
        return "get" if name else ("watch" if watch else "list")
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


class Authorizer:
    """Checks requests against the rules; `None` rules mean everything is allowed."""

    def __init__(self, rules: Iterable[Mapping[str, Any]] | None, user: str = DEFAULT_USER) -> None:
        self.rules: Sequence[Rule] | None = None if rules is None else [Rule.parse(rule) for rule in rules]
        self.user = user

    def check(self, verb: str, group: str, resource: str, namespace: str | None, name: str | None) -> None:
        if self.rules is None:
            return
        if any(rule.allows(verb, group, resource, namespace, name) for rule in self.rules):
            return
        subject = f'{resource} "{name}"' if name else resource
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        base = resource.partition("/")[0]
        raise errors.ApiError(
            403,
            "Forbidden",
            f'{subject} is forbidden: User "{self.user}" cannot {verb} resource "{resource}" '
            f'in API group "{group}" {scope}',
            {"name": name or "", "group": group, "kind": base},
        )
