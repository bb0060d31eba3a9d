"""Shared fixtures for the e2e tests. One section per external service; add new sections below."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e import backends
from tests.support import peers, registry, sshd

# ---------------------------------------------------------------------------------------------------
# the cluster of one test: the API emulator or the real kube-apiserver, as the `backend` fixture says
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[backends.Cluster]:
    """The running test's cluster (tests/e2e/backends.py); `local.run_operator()` runs the real operator on it."""
    async with backends.cluster(tmp_path) as local:
        yield local


# ---------------------------------------------------------------------------------------------------
# sshd: a real OpenSSH server on 127.0.0.1 for Git over SSH (tests/support/sshd.py)
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def ssh_server(tmp_path: Path) -> Iterator[sshd.SshServer]:
    """A running sshd for the current user with a generated host key and deploy key; skips without sshd."""
    try:
        with sshd.running_sshd(tmp_path / "sshd") as server:
            yield server
    except sshd.SshdUnavailable as exc:
        peers.unavailable(f"no usable sshd: {exc}")


# ---------------------------------------------------------------------------------------------------
# docker-registry: Debian's CNCF distribution for the OCI tests (tests/support/registry.py)
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def registry_installed() -> str:
    """The docker-registry binary; skips (fails under CI=true) when it is not installed."""
    return peers.require_binary("docker-registry", package="docker-registry", path=registry.REGISTRY_BINARY)


@pytest.fixture
def anonymous_registry(tmp_path: Path, registry_installed: str) -> Iterator[registry.RegistryProcess]:
    """A registry of this test's own on 127.0.0.1, anonymous (tests/support/registry.py)."""
    reg = registry.start_registry(tmp_path / "registry")
    yield reg
    reg.stop()
