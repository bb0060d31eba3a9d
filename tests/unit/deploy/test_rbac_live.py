"""The real operator under exactly the RBAC that deploy/ installs: the API emulator enforces the rendered ClusterRole
(or the namespaced Roles), and the whole flow still ends in an open pull request without a single 403 the
operator did not expect. The static checks in test_permissions.py compare lists; this runs the code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from fluxcd_helm_upgrader import permissions
from fluxcd_helm_upgrader.testkit.emulator import server
from tests.e2e import harness, prs
from tests.unit.deploy import rendering

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]


def cluster_role_rules() -> list[dict[str, Any]]:
    role = rendering.one(rendering.render(rendering.CLUSTER_WIDE), "ClusterRole")
    return [dict(rule) for rule in role["rules"]]


def namespaced_rules() -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    objects = rendering.render(rendering.NAMESPACED)
    deployment = rendering.one(objects, "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    watched = tuple(args[i + 1] for i, arg in enumerate(args) if arg == "--namespace")
    # A Role is the emulator's rule limited to the Role's namespace.
    rules = [
        {**rule, "namespaces": [role["metadata"]["namespace"]]}
        for role in rendering.of_kind(objects, "Role")
        for rule in role["rules"]
    ]
    return rules, watched


def fleet_under(tmp_path: Path, rules: list[dict[str, Any]]) -> contextlib.AbstractAsyncContextManager[prs.Setup]:
    """prs.setup(), but with the emulator enforcing `rules` for the operator's requests."""
    return prs.setup(tmp_path, rules=rules)


def forbidden(entries: Iterable[server.AuditEntry]) -> set[tuple[str, str, str, str | None]]:
    return {
        (e.method, e.group, e.resource + (f"/{e.subresource}" if e.subresource else ""), e.namespace)
        for e in entries
        if e.status == 403
    }


async def test_cluster_wide_rbac_is_enough_for_the_whole_flow(tmp_path: Path) -> None:
    async with fleet_under(tmp_path, cluster_role_rules()) as s:
        s.local.apply(s.config())
        async with s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="podinfo PR under the ClusterRole")
        assert [p.head for p in s.github.pull_requests()].count(prs.PODINFO_BRANCH) == 1
        assert forbidden(s.local.failures) == set()


# Kopf 1.45 would list namespaces cluster-wide in namespaced mode and retry the 403 for about a minute; the
# operator turns Kopf's scanning off when given namespaces (operating.operate), so nothing may be refused here.


async def test_namespaced_rbac_is_enough_for_the_whole_flow(tmp_path: Path) -> None:
    rules, watched = namespaced_rules()
    async with fleet_under(tmp_path, rules) as s:
        s.local.apply(s.config())
        async with s.local.run_operator(namespaces=watched):
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="podinfo PR under the Roles")
        assert not any(e.status == 403 and e.resource == "namespaces" for e in s.local.failures)
        assert [p.head for p in s.github.pull_requests()].count(prs.PODINFO_BRANCH) == 1
        refused = forbidden(s.local.failures)
    # Kopf may still try a cluster-wide CRD watch, be refused and carry on (permissions.py says why); nothing
    # namespaced may be refused.
    cluster_only = {
        (p.api_group, p.resource)
        for p in (*permissions.PERMISSIONS, *permissions.NOT_GRANTED)
        if p.scope is permissions.Scope.CLUSTER
    }
    unexpected = {r for r in refused if (r[1], r[2]) not in cluster_only or r[3] is not None}
    assert unexpected == set(), f"the operator was refused namespaced calls its Roles should allow: {unexpected}"


async def test_a_missing_permission_is_named_on_the_config(tmp_path: Path) -> None:
    rules = [rule for rule in cluster_role_rules() if "upgradeproposals" not in rule.get("resources", ())]
    async with fleet_under(tmp_path, rules) as s:
        s.local.apply(s.config())
        async with s.local.run_operator():
            ready = await harness.wait_for(
                lambda: harness.condition(s.local.get("upgraderconfigs", prs.NAMESPACE, "fleet")), what="Ready"
            )
    assert (ready["status"], ready["reason"]) == ("False", "Forbidden")
    assert '"upgradeproposals"' in ready["message"] and "list" in ready["message"], ready["message"]
