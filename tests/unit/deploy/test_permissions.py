"""RBAC in deploy/ against operator/fluxcd_helm_upgrader/permissions.py: every call the operator makes is granted,
and nothing else is; and permissions.py itself stays in step with the code (client calls, Kopf handlers)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import kopf
import pytest

from fluxcd_helm_upgrader import handlers, permissions, settings
from fluxcd_helm_upgrader.structs import kinds
from tests.unit.deploy import rendering

Grant = tuple[str, str, str]  # (api group, resource[/subresource], verb)
PACKAGE = rendering.REPO_ROOT / "operator" / "fluxcd_helm_upgrader"
# Code that never runs in the deployed operator: the testkit (API emulator, GitHub stand-in, offline demo) and the
# `scan` command (run by a person with their own kubeconfig, not by the operator's service account).
NOT_DEPLOYED = ("testkit", "scanning.py")
CLIENT_CALL = re.compile(
    r"\.((?:list|read|get|create|patch|replace|delete|watch)_\w*(?:namespaced|cluster|for_all_namespaces|access_review)"
    r"\w*)\("
)


def grants(permission_list: Iterable[permissions.Permission]) -> set[Grant]:
    return {(p.api_group, p.resource, verb) for p in permission_list for verb in p.verbs}


def rule_grants(rules: Iterable[dict[str, Any]]) -> set[Grant]:
    out: set[Grant] = set()
    for rule in rules:
        assert not rule.get("resourceNames"), "resourceNames cannot be known in advance here"
        assert not rule.get("nonResourceURLs"), "the operator calls no non-resource URL"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add((group, resource, verb))
    return out


def namespaced_permissions(install: permissions.Install = permissions.Install.DEFAULT) -> list[permissions.Permission]:
    return [p for p in permissions.granted(install) if p.scope is permissions.Scope.NAMESPACED]


def cluster_role_permissions(install: permissions.Install) -> list[permissions.Permission]:
    """What a ClusterRole grants in this install: every permission but those of the operator's own namespace."""
    return [p for p in permissions.granted(install) if p.scope is not permissions.Scope.OWN_NAMESPACE]


def watched_namespaces(deployment: dict[str, Any]) -> list[str]:
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return [args[i + 1] for i, arg in enumerate(args) if arg in ("--namespace", "-n")]


# --- permissions.py is the truth about the code -----------------------------------------------------------------


def test_every_kubernetes_client_call_in_the_package_is_listed() -> None:
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in NOT_DEPLOYED:
            continue
        for match in CLIENT_CALL.finditer(path.read_text()):
            found.setdefault(match.group(1), str(relative))
    assert found, "no kubernetes client call found: the scan is broken"
    missing = {call: where for call, where in found.items() if call not in permissions.CLIENT_CALLS}
    assert not missing, f"API calls missing from permissions.CLIENT_CALLS (list them and grant them): {missing}"
    stale = set(permissions.CLIENT_CALLS) - set(found)
    assert not stale, f"permissions.CLIENT_CALLS lists calls the code no longer makes: {sorted(stale)}"


@pytest.mark.parametrize(("call", "grant"), sorted(permissions.CLIENT_CALLS.items()))
def test_every_listed_client_call_has_a_permission(call: str, grant: str) -> None:
    target, verb = grant.split(" ")
    group, _, resource = target.partition("/")
    assert permissions.needed(group, resource, verb) is not None, f"{call} needs {grant}: add it to PERMISSIONS"


def plural_of(handler: Any) -> str:
    # kopf.index(group, version, "plural") stores the third positional argument as `any_name`.
    return str(handler.selector.plural or handler.selector.any_name)


def served(handler: Any) -> tuple[str, str]:
    """(group, plural) of the kind a Kopf resource handler serves."""
    selector = handler.selector
    assert selector is not None and selector.group is not None, f"{handler.id}: no explicit API group"
    return str(selector.group), plural_of(handler)


def kopf_handlers() -> list[Any]:
    assert handlers.__all__  # importing the package registered the handlers with Kopf's default registry
    registry = kopf.get_default_registry()
    return [
        *registry._indexing.get_all_handlers(),
        *registry._watching.get_all_handlers(),
        *registry._spawning.get_all_handlers(),
        *registry._changing.get_all_handlers(),
    ]


def test_every_kind_kopf_serves_can_be_listed_and_watched() -> None:
    kinds_served = {served(h) for h in kopf_handlers()}
    assert (kinds.HELM_RELEASE.group, kinds.HELM_RELEASE.plural) in kinds_served
    for group, plural in kinds_served:
        for verb in ("list", "watch"):
            assert permissions.needed(group, plural, verb), f"Kopf serves {group}/{plural}: grant {verb}"


def test_kinds_with_timers_or_change_handlers_can_be_patched_and_flux_kinds_cannot() -> None:
    registry = kopf.get_default_registry()
    writing = {served(h) for h in [*registry._spawning.get_all_handlers(), *registry._changing.get_all_handlers()]}
    assert writing, "no timer or change handler registered"
    for group, plural in writing:
        # Kopf stores its finalizer and progress in the object and the handler's result in /status.
        assert permissions.needed(group, plural, "patch"), f"{group}/{plural}"
        assert permissions.needed(group, f"{plural}/status", "patch"), f"{group}/{plural}/status"
    flux = {(k.group, k.plural) for k in kinds.FLUX_KINDS}
    assert not writing & flux, "a timer or change handler on a Flux kind would make Kopf write to Flux objects"


def test_permissions_are_read_only_on_flux_and_secrets_and_never_wildcards() -> None:
    flux_groups = {k.group for k in kinds.FLUX_KINDS}
    for group, resource, verb in grants(permissions.PERMISSIONS):
        assert "*" not in (group, resource, verb)
        if group in flux_groups:
            assert verb in permissions.READ_ONLY, f"{resource}: {verb}"
        if resource == "secrets":
            assert verb == "get", "secrets: get by name only, never list or watch"


# --- the cluster-wide install -----------------------------------------------------------------------------------


def test_cluster_role_grants_exactly_the_permissions() -> None:
    objects = rendering.render(rendering.CLUSTER_WIDE)
    role = rendering.one(objects, "ClusterRole")
    granted = rule_grants(role["rules"])
    wanted = grants(cluster_role_permissions(permissions.Install.DEFAULT))
    assert not wanted - granted, f"missing from the ClusterRole: {sorted(wanted - granted)}"
    assert not granted - wanted, f"the ClusterRole grants more than permissions.py: {sorted(granted - wanted)}"
    assert not granted & grants(permissions.NOT_GRANTED)
    assert not rendering.of_kind(objects, "Role")


def test_cluster_role_is_bound_to_the_deployments_service_account() -> None:
    objects = rendering.render(rendering.CLUSTER_WIDE)
    binding = rendering.one(objects, "ClusterRoleBinding")
    deployment = rendering.one(objects, "Deployment")
    role_name = rendering.one(objects, "ClusterRole")["metadata"]["name"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name}
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": deployment["metadata"]["namespace"]}
    ]
    assert rendering.one(objects, "ServiceAccount")["metadata"]["name"] == account
    assert "--all-namespaces" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]


# --- the namespaced install -------------------------------------------------------------------------------------


def test_namespaced_install_has_no_cluster_role() -> None:
    objects = rendering.render(rendering.NAMESPACED)
    assert not rendering.of_kind(objects, "ClusterRole")
    assert not rendering.of_kind(objects, "ClusterRoleBinding")


def test_namespaced_install_grants_the_namespaced_permissions_in_each_watched_namespace() -> None:
    objects = rendering.render(rendering.NAMESPACED)
    deployment = rendering.one(objects, "Deployment")
    watched = watched_namespaces(deployment)
    assert watched == ["flux-system", "apps"]
    assert "--all-namespaces" not in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    roles = {role["metadata"]["namespace"]: role for role in rendering.of_kind(objects, "Role")}
    assert sorted(roles) == sorted(watched), "one Role per watched namespace, no others"
    wanted = grants(namespaced_permissions())
    for namespace, role in roles.items():
        granted = rule_grants(role["rules"])
        assert granted == wanted, f"Role in {namespace}: missing {wanted - granted}, extra {granted - wanted}"


def test_namespaced_role_bindings_bind_each_role_to_the_operator() -> None:
    objects = rendering.render(rendering.NAMESPACED)
    deployment = rendering.one(objects, "Deployment")
    account = {
        "kind": "ServiceAccount",
        "name": deployment["spec"]["template"]["spec"]["serviceAccountName"],
        "namespace": deployment["metadata"]["namespace"],
    }
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in rendering.of_kind(objects, "Role")}
    bindings = rendering.of_kind(objects, "RoleBinding")
    assert {b["metadata"]["namespace"] for b in bindings} == {ns for ns, _ in roles}
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "Role"
        assert (binding["metadata"]["namespace"], binding["roleRef"]["name"]) in roles
        assert binding["subjects"] == [account]


# --- the lockdown install ---------------------------------------------------------------------------------------


def test_every_permission_is_granted_by_some_install() -> None:
    for permission in permissions.PERMISSIONS:
        assert permission.installs, f"{permission.resource}: granted by no install"
    assert {p.resource for p in permissions.granted(permissions.Install.LOCKDOWN)} >= {
        "serviceaccounts", "subjectaccessreviews"
    }  # fmt: skip


def test_lockdown_cluster_role_grants_exactly_its_permissions_and_no_secret() -> None:
    objects = rendering.render(rendering.LOCKDOWN)
    granted = rule_grants(rendering.one(objects, "ClusterRole")["rules"])
    wanted = grants(cluster_role_permissions(permissions.Install.LOCKDOWN))
    assert granted == wanted, f"missing {sorted(wanted - granted)}, extra {sorted(granted - wanted)}"
    assert not [g for g in granted if g[1] == "secrets"], "in lockdown the operator reads no Secret as itself"
    # Exactly two grants more than the default install, one less: impersonation and reviews for Secret access.
    default = rule_grants(rendering.one(rendering.render(rendering.CLUSTER_WIDE), "ClusterRole")["rules"])
    assert granted - default == {("", "serviceaccounts", "impersonate"),
                                 ("authorization.k8s.io", "subjectaccessreviews", "create")}  # fmt: skip
    assert default - granted == {("", "secrets", "get")}


def test_lockdown_keeps_only_the_webhook_secret_in_the_operators_namespace() -> None:
    objects = rendering.render(rendering.LOCKDOWN)
    deployment = rendering.one(objects, "Deployment")
    namespace = deployment["metadata"]["namespace"]
    (role,) = rendering.of_kind(objects, "Role")
    assert role["metadata"]["namespace"] == namespace
    own = [p for p in permissions.granted(permissions.Install.LOCKDOWN) if p.scope is permissions.Scope.OWN_NAMESPACE]
    assert {(p.api_group, p.resource, v) for p in own for v in p.verbs} == {("", "secrets", "get")}
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                              "resourceNames": [settings.Settings().webhook_secret]}]  # fmt: skip
    (binding,) = rendering.of_kind(objects, "RoleBinding")
    assert binding["metadata"]["namespace"] == namespace
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}  # fmt: skip
    assert binding["subjects"] == [{"kind": "ServiceAccount", "namespace": namespace,
                                    "name": deployment["spec"]["template"]["spec"]["serviceAccountName"]}]  # fmt: skip


def test_lockdown_turns_both_switches_on_and_is_the_cluster_wide_install_otherwise() -> None:
    objects = rendering.render(rendering.LOCKDOWN)
    container = rendering.one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env[settings.env_name("default_service_account")] == "fluxcd-helm-upgrader"
    assert env[settings.env_name("no_cross_namespace_refs")] == "true"
    assert "--all-namespaces" in container["args"]
    parsed = settings.Settings.from_env({k: v for k, v in env.items() if v is not None and not k.endswith("_DIR")})
    assert (parsed.default_service_account, parsed.no_cross_namespace_refs) == ("fluxcd-helm-upgrader", True)
    cluster_wide = rendering.render(rendering.CLUSTER_WIDE)
    unchanged = ("CustomResourceDefinition", "Namespace", "ServiceAccount", "Service", "NetworkPolicy",
                 "ClusterRoleBinding")  # fmt: skip
    for kind in unchanged:
        assert rendering.of_kind(objects, kind) == rendering.of_kind(cluster_wide, kind), kind
