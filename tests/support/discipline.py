"""The test suite's discipline: timeouts on every test, xfails that name their exception, a bounded hypothesis budget.

tests/conftest.py imports the two pytest hooks from here; tests/unit/test_discipline.py runs them in a pytest session
of its own and asserts on what a developer sees.

- Timeouts (pytest-timeout): 60 s by default (pyproject), `E2E_TIMEOUT` for tests that run the whole flow (marked
  `e2e` or `backends`, under tests/e2e/, or taking the `backend` fixture), `PROPERTY_TIMEOUT` per 50 examples for
  property tests (hypothesis). A test's own `@pytest.mark.timeout` wins; so does `--timeout N` on the command line
  (`--timeout 0`: none). A property test that runs out of time fails with `PropertyTimeout` (see there), never hangs.
  A one-off build of a peer inside a session fixture runs under `paused_timeout()`, bounded by its own limit.
- Every `xfail` names the exception it expects (`raises=`); xfails are strict (pyproject). Collection stops with a
  usage error otherwise.
- Hypothesis budget: profile `ci` (the default: 50 examples, no deadline: the machine is shared and noisy);
  `HYPOTHESIS_PROFILE=thorough` runs 2,000 (their timeouts grow with them). Loaded at import, before any test module
  builds a `settings(...)` object: those inherit the profile's budget.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings

# Whole-flow tests start the real operator on the emulator or a kube-apiserver, sshd, a registry: the slowest take
# ~25 s on a loaded 2-core machine; the first one on the real API server also starts it (its session fixture).
E2E_TIMEOUT = 300
E2E_DIR = Path(__file__).resolve().parents[1] / "e2e"
# The slowest property test takes ~18 s for 50 examples under coverage on a loaded 2-core machine.
PROPERTY_TIMEOUT = 120

# No `explain` phase: it traces every line of a failing example (sys.settrace) and makes a failure take minutes.
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
settings.register_profile("ci", max_examples=50, deadline=None, print_blob=True, phases=_PHASES)
settings.register_profile("thorough", max_examples=2_000, deadline=None, print_blob=True, phases=_PHASES)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    explicit_timeout = config.getoption("timeout", None) is not None
    for item in items:
        for mark in item.iter_markers("xfail"):
            if "raises" not in mark.kwargs:
                raise pytest.UsageError(f"{item.nodeid}: xfail must name the exception it expects (raises=...)")
        if explicit_timeout or item.get_closest_marker("timeout") is not None:
            continue
        if _is_whole_flow(item):
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT))
        elif _is_property(item):
            budget = max(1.0, (settings.default.max_examples or 50) / 50)
            item.add_marker(pytest.mark.timeout(PROPERTY_TIMEOUT * budget))


def _is_whole_flow(item: pytest.Item) -> bool:
    marked = item.get_closest_marker("e2e") or item.get_closest_marker("backends")
    on_a_backend = "backend" in getattr(item, "fixturenames", ())
    return bool(marked or on_a_backend or E2E_DIR in item.path.parents)


def _is_property(item: pytest.Item) -> bool:
    return bool(getattr(getattr(item, "obj", None), "is_hypothesis_test", False))


class PropertyTimeout(BaseException):
    """A property test ran out of time.

    A BaseException on purpose: hypothesis catches Exception and pytest's Failed (what pytest-timeout raises) as one
    failing example and runs it again to shrink it; a hung example then hangs again with no alarm left, and so does
    the whole run. This one goes through hypothesis and fails the test.
    """


def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """pytest-timeout's signal method for property tests, raising `PropertyTimeout`; others keep the plugin's."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if not _is_property(item) or settings.method != "signal" or not in_main_thread:
        return None

    def alarm(signum: int, frame: object) -> None:
        raise PropertyTimeout(f"Timeout (>{settings.timeout}s): the property test hung or is too slow")

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel  # type: ignore[attr-defined]  # pytest-timeout's cancel hook calls it
    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True


@contextlib.contextmanager
def paused_timeout() -> Iterator[None]:
    """Stop the current test's clock for a step with its own bound (a cold build of a peer), then resume it."""
    remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    if remaining <= 0 or threading.current_thread() is not threading.main_thread():
        yield  # no alarm armed: no timeout, the thread method, a debugger
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, remaining)
