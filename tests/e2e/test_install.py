"""The real install on a real API server: `kubectl apply -k deploy/` (and `deploy/namespaced/`) is accepted with
server-side validation of every object, and the operator process (`fluxcd-helm-upgrader run`) then runs with the
deploy's own ServiceAccount identity, a token from the TokenRequest API (`kubectl create token`), not as admin.

This is the proof of least privilege that the static rule list in permissions.py only approximates: the
cluster-wide install completes a cycle and opens a PR without a single refused call; the namespaced install
works in its namespaces, sees nothing outside them and never loops on 403s. While it runs, Kopf's liveness
endpoint answers and `kubectl get` prints the CRDs' printer columns.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests import builders
from tests.e2e import harness, installs, prs
from tests.support import apiserver

pytestmark = [pytest.mark.e2e, pytest.mark.backends("apiserver"), pytest.mark.usefixtures("backend")]


async def test_cluster_wide_install_runs_under_its_own_service_account(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        local = s.local
        assert isinstance(local, apiserver.RealCluster)
        admin = local.server.kubeconfig
        objects = installs.install(installs.DEPLOY, admin)
        assert {"ClusterRole", "ClusterRoleBinding", "Deployment", "ServiceAccount"} <= {o["kind"] for o in objects}
        kubeconfig = installs.service_account_kubeconfig(local, admin, tmp_path / "sa-kubeconfig")
        local.apply(s.config())
        async with installs.operator_process(kubeconfig, tmp_path) as port:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", timeout=90, what="podinfo PR")
            assert await installs.liveness(port) == 200
            proposals = installs.kubectl("get", "upgradeproposals", "-A", kubeconfig=admin)
            configs = installs.kubectl("get", "upgraderconfigs", "-A", kubeconfig=admin)
        refused = [e for e in local.entries_of(installs.USER) if e.status == 403]
    assert [p.head for p in s.github.pull_requests()].count(prs.PODINFO_BRANCH) == 1
    assert refused == [], refused
    assert local.entries_of(installs.USER), "the operator's calls are in the audit log under the deploy's account"
    header, rows = harness.table(proposals.stdout)
    assert header[:10] == ["NAMESPACE", "NAME", "RELEASE NAMESPACE", "RELEASE", "CHART", "CURRENT", "TARGET", "RISK",
                           "PHASE", "PR"], proposals.stdout  # fmt: skip
    row = next(r for r in rows if r["NAME"] == "apps.podinfo")
    shown = [row[c] for c in ("RELEASE NAMESPACE", "RELEASE", "CHART", "CURRENT", "TARGET", "PHASE")]
    assert shown == ["apps", "podinfo", "podinfo", "6.5.0", "6.7.1", "Open"], proposals.stdout
    assert row["RISK"] in ("Low", "Medium", "High", "Unknown"), proposals.stdout
    assert row["PR"].startswith(s.github.urls.html) and "/pull/" in row["PR"], proposals.stdout
    header, rows = harness.table(configs.stdout)
    assert header[:4] == ["NAMESPACE", "NAME", "READY", "STATUS"], configs.stdout
    assert next(r for r in rows if r["NAME"] == "fleet")["READY"] == "True", configs.stdout


async def test_namespaced_install_sees_only_its_namespaces_and_never_loops_on_403(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        local = s.local
        assert isinstance(local, apiserver.RealCluster)
        admin = local.server.kubeconfig
        local.apply(builders.helm_release("podinfo", "podinfo", "6.5.0", namespace="outside", repo="demo-charts"))
        objects = installs.install(installs.DEPLOY / "namespaced", admin)
        assert "ClusterRole" not in {o["kind"] for o in objects}
        deployment = next(o for o in objects if o["kind"] == "Deployment")
        args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]  # type: ignore[index]
        watched = [args[i + 1] for i, arg in enumerate(args) if arg == "--namespace"]
        assert sorted(watched) == ["apps", "flux-system"]
        kubeconfig = installs.service_account_kubeconfig(local, admin, tmp_path / "sa-kubeconfig")
        config = s.config()
        config["spec"]["scope"] = {"clusterWide": False, "namespaces": ["apps"]}
        local.apply(config)
        async with installs.operator_process(kubeconfig, tmp_path, args) as port:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", timeout=90, what="podinfo PR")
            assert await installs.liveness(port) == 200
            refused_then = [e for e in local.entries_of(installs.USER) if e.status == 403]
            await s.reconcile("again")  # a full cycle more, and many ticks: nothing new may be refused
            await asyncio.sleep(2)
            refused_later = [e for e in local.entries_of(installs.USER) if e.status == 403]
        ready = harness.condition(local.get("upgraderconfigs", prs.NAMESPACE, "fleet"))
    assert ready is not None and ready["status"] == "True", ready
    assert local.get("upgradeproposals", prs.NAMESPACE, "outside.podinfo") is None
    heads = [p.head for p in s.github.pull_requests()]
    assert heads.count(prs.PODINFO_BRANCH) == 1, heads
    assert not [h for h in heads if h.startswith("helm-upgrader/outside/")], heads
    namespaced_refusals = [e for e in refused_later if e.namespace is not None]
    assert namespaced_refusals == [], namespaced_refusals
    assert len(refused_later) == len(refused_then), f"403s keep coming: {refused_later[len(refused_then):]}"
