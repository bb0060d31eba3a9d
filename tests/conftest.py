"""Project-wide test settings: fast operator ticks, private cache and key dirs, file:// Git remotes allowed, and a
$KUBECONFIG that never points at a real cluster. Set before any test module imports the handlers (the tick is read
at import)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

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
