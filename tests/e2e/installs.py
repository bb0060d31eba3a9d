"""Installing deploy/ on the real API server and running the operator process under the install's own
ServiceAccount (a TokenRequest token, not the admin): shared by test_install.py and test_lockdown.py."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import aiohttp
import yaml

from tests.support import apiserver, peers

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
async def operator_process(
    kubeconfig: Path, workdir: Path, args: Sequence[str] = (), settings: Mapping[str, str] | None = None
) -> AsyncIterator[int]:
    """`fluxcd-helm-upgrader run` as its own process with the liveness endpoint on; yields the liveness port.
    `settings` are more UPGRADER_* variables (e.g. those the install's Deployment sets)."""
    port = free_port()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "UPGRADER_CACHE_DIR": str(workdir / "cache"),
           "UPGRADER_METRICS_PORT": "0", "UPGRADER_NAMESPACE": INSTALL_NAMESPACE, **(settings or {})}  # fmt: skip
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
