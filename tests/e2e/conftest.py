"""Shared fixtures for the e2e tests. One section per external service; add new sections below."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from fluxcd_helm_upgrader.demo import cluster
from tests.support import sshd

# ---------------------------------------------------------------------------------------------------
# the API emulator with every CRD registered, $KUBECONFIG pointing at it (fluxcd_helm_upgrader.demo.cluster)
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[cluster.LocalCluster]:
    """A local cluster for one test; `local.run_operator()` runs the real operator against it."""
    async with cluster.local_cluster(tmp_path) as local:
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
        pytest.skip(f"no usable sshd: {exc}")
