"""The lockdown install on a real API server (issue 10, item 6): `kubectl apply -k deploy/lockdown/` is accepted,
the operator process runs under the install's own ServiceAccount with the Deployment's settings
(UPGRADER_DEFAULT_SERVICE_ACCOUNT, UPGRADER_NO_CROSS_NAMESPACE_REFS), and completes a cycle for a tenant that
created the ServiceAccount and Role the README describes: proposal, PR, every Secret read as the tenant's account.

The tenant's ServiceAccount, Role and RoleBinding are the YAML of the README's "Installing lockdown", applied as
written. The operator's own identity cannot read a tenant's Secret: `kubectl auth can-i` says no, and a real attempt
with its token gets 403. It keeps `get` on exactly one Secret of its own namespace (the webhook's).

apiserver-only: it needs impersonation and SubjectAccessReviews, which the API emulator does not implement.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import harness, installs, tenants
from tests.support import apiserver

pytestmark = [pytest.mark.e2e, pytest.mark.backends("apiserver"), pytest.mark.usefixtures("backend")]

TENANT = "team-a"
TENANT_ACCOUNT = "fluxcd-helm-upgrader"  # the lockdown's UPGRADER_DEFAULT_SERVICE_ACCOUNT, in the tenant namespace
AS_TENANT = f"system:serviceaccount:{TENANT}:{TENANT_ACCOUNT}"


def deployment_settings(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The UPGRADER_* values the rendered Deployment sets (paths left out: this process uses its own)."""
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    return {e["name"]: e["value"] for e in env if "value" in e and not e["name"].endswith("_DIR")}


def readme_tenant_objects() -> list[dict[str, Any]]:
    """The per-tenant YAML the README's "Installing lockdown" gives (its first yaml block)."""
    text = (apiserver.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Installing lockdown"):]
    block = section[section.index("```yaml\n") + len("```yaml\n"):]
    return [doc for doc in yaml.safe_load_all(block[: block.index("```")]) if doc]


def can_i(admin: Path, *args: str) -> str:
    done = installs.kubectl("auth", "can-i", *args, "--as", installs.USER, kubeconfig=admin)
    return done.stdout.strip()


async def test_lockdown_install_serves_a_tenant_and_cannot_read_its_secrets_itself(tmp_path: Path) -> None:
    async with tenants.tenants(tmp_path, [TENANT]) as t:
        local = t.local
        assert isinstance(local, apiserver.RealCluster)
        admin = local.server.kubeconfig
        objects = installs.install(installs.DEPLOY / "lockdown", admin)
        settings = deployment_settings(objects)
        assert settings["UPGRADER_DEFAULT_SERVICE_ACCOUNT"] == TENANT_ACCOUNT
        assert settings["UPGRADER_NO_CROSS_NAMESPACE_REFS"] == "true"
        documented = readme_tenant_objects()
        assert [(o["kind"], o["metadata"]["namespace"]) for o in documented] == [
            ("ServiceAccount", TENANT), ("Role", TENANT), ("RoleBinding", TENANT)]  # fmt: skip
        for body in documented:  # the README's per-tenant ServiceAccount, Role and RoleBinding, as written
            local.apply(body)
        t.add(TENANT)
        local.apply(t.config(TENANT))  # no serviceAccountName: the default account of its namespace
        kubeconfig = installs.service_account_kubeconfig(local, admin, tmp_path / "sa-kubeconfig")
        async with installs.operator_process(kubeconfig, tmp_path, settings=settings):
            await harness.wait_for(lambda: t.phase(TENANT, f"{TENANT}.podinfo") == "Open", timeout=90,
                                   what="the tenant's PR under the lockdown install")  # fmt: skip
            ready = t.ready(TENANT)
        during = local.entries_of(installs.USER)
        as_tenant = local.entries_of(AS_TENANT)
        own = installs.INSTALL_NAMESPACE
        permissions = {
            "get secrets in the tenant namespace": can_i(admin, "get", "secrets", "-n", TENANT),
            "get the tenant's token": can_i(admin, "get", "secret/github", "-n", TENANT),
            "get secrets cluster-wide": can_i(admin, "get", "secrets", "--all-namespaces"),
            "get the webhook secret": can_i(admin, "get", "secret/fluxcd-helm-upgrader-webhook", "-n", own),
            "get another secret of its namespace": can_i(admin, "get", "secret/other", "-n", own),
            "impersonate the tenant's account": can_i(admin, "impersonate", f"serviceaccount/{TENANT_ACCOUNT}",
                                                      "-n", TENANT),
            "create subjectaccessreviews": can_i(admin, "create", "subjectaccessreviews.authorization.k8s.io"),
        }  # fmt: skip
        attempt = installs.kubectl("get", "secret", "github", "-n", TENANT, "-o", "name", kubeconfig=kubeconfig)
        after = local.entries_of(installs.USER)
    assert ready is not None and ready["status"] == "True", ready
    assert t.heads() == [f"helm-upgrader/{TENANT}/podinfo"]
    assert permissions == {
        "get secrets in the tenant namespace": "no",
        "get the tenant's token": "no",
        "get secrets cluster-wide": "no",
        "get the webhook secret": "yes",
        "get another secret of its namespace": "no",
        "impersonate the tenant's account": "yes",
        "create subjectaccessreviews": "yes",
    }, permissions
    assert attempt.returncode != 0 and "forbidden" in attempt.stderr, (attempt.stdout, attempt.stderr)
    refused = [e for e in during if e.status == 403]
    assert refused == [], refused
    assert [e for e in during if e.resource == "secrets"] == [], "the operator read a Secret as itself"
    tenant_reads = {(e.name, e.status) for e in as_tenant if e.resource == "secrets"}
    assert tenant_reads == {("github", 200), ("repo-auth", 200)}, tenant_reads
    attempts = [(e.namespace, e.name, e.status) for e in after[len(during):] if e.resource == "secrets"]
    assert attempts == [(TENANT, "github", 403)], attempts
