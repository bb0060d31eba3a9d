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
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests import builders
from tests.e2e import harness, prs
from tests.support import apiserver, peers

pytestmark = [pytest.mark.e2e, pytest.mark.backends("apiserver"), pytest.mark.usefixtures("backend")]

DEPLOY = apiserver.REPO_ROOT / "deploy"
INSTALL_NAMESPACE = "fluxcd-helm-upgrader"
ACCOUNT = "fluxcd-helm-upgrader"
USER = f"system:serviceaccount:{INSTALL_NAMESPACE}:{ACCOUNT}"


def kubectl(*args: str, kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    binary = peers.require_binary("kubectl", package="kubectl")
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
    )  # fmt: skip


def install(kustomization: Path, admin: Path) -> list[dict[str, object]]:
    """`kubectl apply -k` as the cluster admin; the rendered objects (to read the Deployment's args)."""
    applied = kubectl("apply", "-k", str(kustomization), kubeconfig=admin)
    assert applied.returncode == 0, applied.stderr
    rendered = kubectl("kustomize", str(kustomization), kubeconfig=admin)
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def service_account_kubeconfig(local: apiserver.RealCluster, admin: Path, path: Path) -> Path:
    """A kubeconfig with the token `kubectl create token` gives for the deploy's ServiceAccount."""
    token = kubectl("create", "token", ACCOUNT, "-n", INSTALL_NAMESPACE, "--duration=2h", kubeconfig=admin)
    assert token.returncode == 0, token.stderr
    local.write_token_kubeconfig(path, INSTALL_NAMESPACE, ACCOUNT)  # the cluster part; then the CLI's token
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["users"][0]["user"]["token"] = token.stdout.strip()
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def operator_process(kubeconfig: Path, workdir: Path, args: Sequence[str] = ()) -> AsyncIterator[int]:
    """`fluxcd-helm-upgrader run` as its own process with the liveness endpoint on; yields the liveness port."""
    port = free_port()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "UPGRADER_CACHE_DIR": str(workdir / "cache"),
           "UPGRADER_METRICS_PORT": "0", "UPGRADER_NAMESPACE": INSTALL_NAMESPACE}  # fmt: skip
    log = (workdir / "operator.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fluxcd_helm_upgrader", "run", "--liveness", f"http://127.0.0.1:{port}/healthz", *args,
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield port
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def liveness(port: int) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status


def columns(output: str) -> list[str]:
    return output.splitlines()[0].split()


async def test_cluster_wide_install_runs_under_its_own_service_account(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        local = s.local
        assert isinstance(local, apiserver.RealCluster)
        admin = local.server.kubeconfig
        objects = install(DEPLOY, admin)
        assert {"ClusterRole", "ClusterRoleBinding", "Deployment", "ServiceAccount"} <= {o["kind"] for o in objects}
        kubeconfig = service_account_kubeconfig(local, admin, tmp_path / "sa-kubeconfig")
        local.apply(s.config())
        async with operator_process(kubeconfig, tmp_path) as port:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", timeout=90, what="podinfo PR")
            assert await liveness(port) == 200
            proposals = kubectl("get", "upgradeproposals", "-A", kubeconfig=admin)
            configs = kubectl("get", "upgraderconfigs", "-A", kubeconfig=admin)
        refused = [e for e in local.entries_of(USER) if e.status == 403]
    assert [p.head for p in s.github.pull_requests()].count("helm-upgrader/apps/podinfo") == 1
    assert refused == [], refused
    assert local.entries_of(USER), "the operator's calls are in the audit log under the deploy's ServiceAccount"
    assert columns(proposals.stdout)[:9] == [
        "NAMESPACE", "NAME", "RELEASE", "NAMESPACE", "RELEASE", "CHART", "CURRENT", "TARGET", "PHASE",
    ], proposals.stdout  # fmt: skip
    row = next(line.split() for line in proposals.stdout.splitlines() if "apps.podinfo" in line)
    assert row[2:8] == ["apps", "podinfo", "podinfo", "6.5.0", "6.7.1", "Open"], proposals.stdout
    assert row[8].startswith(s.github.urls.html) and "/pull/" in row[8], proposals.stdout
    assert columns(configs.stdout)[:4] == ["NAMESPACE", "NAME", "READY", "STATUS"], configs.stdout
    assert "True" in next(line for line in configs.stdout.splitlines() if " fleet " in f" {line} ")


async def test_namespaced_install_sees_only_its_namespaces_and_never_loops_on_403(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        local = s.local
        assert isinstance(local, apiserver.RealCluster)
        admin = local.server.kubeconfig
        local.apply(builders.helm_release("podinfo", "podinfo", "6.5.0", namespace="outside", repo="demo-charts"))
        objects = install(DEPLOY / "namespaced", admin)
        assert "ClusterRole" not in {o["kind"] for o in objects}
        deployment = next(o for o in objects if o["kind"] == "Deployment")
        args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]  # type: ignore[index]
        watched = [args[i + 1] for i, arg in enumerate(args) if arg == "--namespace"]
        assert sorted(watched) == ["apps", "flux-system"]
        kubeconfig = service_account_kubeconfig(local, admin, tmp_path / "sa-kubeconfig")
        config = s.config()
        config["spec"]["scope"] = {"clusterWide": False, "namespaces": ["apps"]}
        local.apply(config)
        async with operator_process(kubeconfig, tmp_path, args) as port:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", timeout=90, what="podinfo PR")
            assert await liveness(port) == 200
            refused_then = [e for e in local.entries_of(USER) if e.status == 403]
            await s.reconcile("again")  # a full cycle more, and many ticks: nothing new may be refused
            await asyncio.sleep(2)
            refused_later = [e for e in local.entries_of(USER) if e.status == 403]
        ready = harness.condition(local.get("upgraderconfigs", prs.NAMESPACE, "fleet"))
    assert ready is not None and ready["status"] == "True", ready
    assert local.get("upgradeproposals", prs.NAMESPACE, "outside.podinfo") is None
    heads = [p.head for p in s.github.pull_requests()]
    assert heads.count("helm-upgrader/apps/podinfo") == 1, heads
    assert not [h for h in heads if h.startswith("helm-upgrader/outside/")], heads
    namespaced_refusals = [e for e in refused_later if e.namespace is not None]
    assert namespaced_refusals == [], namespaced_refusals
    assert len(refused_later) == len(refused_then), f"403s keep coming: {refused_later[len(refused_then):]}"
