"""Project-wide test settings: fast operator ticks, private cache and key dirs, file:// Git remotes allowed, and a
$KUBECONFIG that never points at a real cluster. Set before any test module imports the handlers (the tick is read
at import)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

os.environ.setdefault("UPGRADER_TICK_SECONDS", "0.2")
os.environ.setdefault("UPGRADER_METRICS_PORT", "0")  # tests that need the endpoint start it on an ephemeral port
os.environ.setdefault("UPGRADER_CACHE_DIR", tempfile.mkdtemp(prefix="upgrader-test-cache-"))
# The e2e fleets live in local bare repositories (file://), which a real install refuses.
os.environ.setdefault("UPGRADER_ALLOW_FILE_GIT_URLS", "true")
# Key material of this test run in its own directory, never mixed with another run's on this machine.
if "UPGRADER_KEY_DIR" not in os.environ:
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    os.environ["UPGRADER_KEY_DIR"] = tempfile.mkdtemp(prefix="upgrader-test-keys-", dir=shm)
    atexit.register(shutil.rmtree, os.environ["UPGRADER_KEY_DIR"], True)
# kubernetes_asyncio reads $KUBECONFIG at import; make sure nothing here can reach a developer's cluster.
os.environ["KUBECONFIG"] = os.path.join(tempfile.gettempdir(), "upgrader-tests-no-such-kubeconfig")

try:
    from kubernetes_asyncio.config import kube_config
except ImportError:  # pragma: no cover
    pass
else:
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = os.environ["KUBECONFIG"]


# ---------------------------------------------------------------------------------------------------
# Backends for e2e tests: every test that takes the `backend` fixture runs on the API emulator AND on a real
# kube-apiserver (tests/e2e/backends.py). UPGRADER_E2E_BACKENDS=emulator limits a local run to one of them.
# ---------------------------------------------------------------------------------------------------


def _backends() -> tuple[str, ...]:
    from tests.e2e import backends

    wanted = os.environ.get("UPGRADER_E2E_BACKENDS", ",".join(backends.ALL))
    return tuple(name for name in backends.ALL if name in wanted.split(","))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that takes `backend` once per backend; `@pytest.mark.backends(name, ...)` narrows it."""
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        only = tuple(marker.args) if marker else _backends()
        metafunc.parametrize("backend", [b for b in _backends() if b in only] or list(only), indirect=True)


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real kube-apiserver + etcd for the whole run, with Flux's CRDs and ours applied (tests/support/apiserver)."""
    from tests.support import apiserver, peers

    if shutil.which("go") is None:
        peers.unavailable("go is not installed: the real API server is built from Go modules (hack/kube-apiserver)")
    kubectl = peers.require_binary("kubectl", package="kubectl")
    try:
        apiserver.build()
    except apiserver.ApiServerUnavailable as error:
        peers.unavailable(f"the real kube-apiserver cannot be built: {error}")
    server = apiserver.start(tmp_path_factory.mktemp("kube-apiserver"))
    try:
        apiserver.install_crds(server, kubectl)
        yield server
    finally:
        server.discard()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The Kubernetes this test runs on; `tests.e2e.backends.cluster()` gives it to the test."""
    from tests.e2e import backends

    name = str(request.param)
    backends.current.name = name
    backends.current.server = request.getfixturevalue("apiserver") if name == backends.APISERVER else None
    try:
        yield name
    finally:
        backends.current.name, backends.current.server = backends.EMULATOR, None
