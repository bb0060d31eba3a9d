"""Project-wide test settings: fast operator ticks, private cache dirs, and a $KUBECONFIG that never points at a
real cluster. Set before any test module imports the handlers (the tick is read at import).

Also the test discipline every test gets:

- Timeouts (pytest-timeout): 60 s by default (pyproject), `E2E_TIMEOUT` for tests that run the whole flow (marked
  `e2e` or `backends`, or under tests/e2e/). A test's own `@pytest.mark.timeout` wins; so does `--timeout N` on the
  command line (`--timeout 0` to debug without any).
- Every `xfail` names the exception it expects (`raises=`); xfails are strict (pyproject). Collection stops
  with a usage error otherwise.
- Hypothesis budget: profile `ci` (the default: few examples, no deadline, the machine is shared and noisy);
  `HYPOTHESIS_PROFILE=thorough` runs many more examples (add `--timeout 0`: the default timeouts do not fit it).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import Phase, settings

os.environ.setdefault("UPGRADER_TICK_SECONDS", "0.2")
os.environ.setdefault("UPGRADER_METRICS_PORT", "0")  # tests that need the endpoint start it on an ephemeral port
os.environ.setdefault("UPGRADER_CACHE_DIR", tempfile.mkdtemp(prefix="upgrader-test-cache-"))
# kubernetes_asyncio reads $KUBECONFIG at import; make sure nothing here can reach a developer's cluster.
os.environ["KUBECONFIG"] = os.path.join(tempfile.gettempdir(), "upgrader-tests-no-such-kubeconfig")

try:
    from kubernetes_asyncio.config import kube_config
except ImportError:  # pragma: no cover
    pass
else:
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = os.environ["KUBECONFIG"]

# Whole-flow tests start the real operator, an emulator or a kube-apiserver, sshd, a registry: the slowest take ~12 s
# on a loaded 2-core machine, a session fixture may build a peer inside the first one.
E2E_TIMEOUT = 300
E2E_DIR = Path(__file__).parent / "e2e"

# No `explain` phase: it traces every line of a failing example (sys.settrace) and makes a failure take minutes.
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
settings.register_profile("ci", max_examples=50, deadline=None, print_blob=True, phases=_PHASES)
settings.register_profile("thorough", max_examples=2_000, deadline=None, print_blob=True, phases=_PHASES)
# Loaded here, before any test module builds a `settings(...)` object: those inherit the profile's budget.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    explicit_timeout = config.getoption("timeout", None) is not None
    for item in items:
        for mark in item.iter_markers("xfail"):
            if "raises" not in mark.kwargs:
                raise pytest.UsageError(f"{item.nodeid}: xfail must name the exception it expects (raises=...)")
        if explicit_timeout or item.get_closest_marker("timeout") is not None:
            continue
        whole_flow = item.get_closest_marker("e2e") or item.get_closest_marker("backends")
        if whole_flow or E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT))
