"""The test suite's own discipline (tests/support/discipline.py, pyproject): what a developer sees when a test hangs
or an xfail is vague.

Each case runs a small pytest session in a subprocess (pytest-timeout's alarm must not fight this session's own)
with the project's hooks and short timeouts, and asserts on the session's report. Starting a pytest session takes
seconds on a loaded machine, hence this module's own longer timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support import discipline as project

pytestmark = pytest.mark.timeout(300)

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTEST = [sys.executable, "-m", "pytest", "-p", "timeout", "-p", "asyncio", "-p", "no:cacheprovider", "-q", "-rA"]

CONFTEST = """
import tests.support.discipline as project

project.E2E_TIMEOUT = 3
project.PROPERTY_TIMEOUT = 4
pytest_collection_modifyitems = project.pytest_collection_modifyitems
pytest_timeout_set_timer = project.pytest_timeout_set_timer
"""
INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
timeout = 1
xfail_strict = true
markers =
    e2e: whole flow
"""
HUNG = """
import asyncio
import threading
import time

import pytest
from hypothesis import given, strategies as st


@pytest.mark.e2e
async def test_hung_operator():
    await asyncio.Event().wait()  # a worker that never answers


def test_hung_thread():
    threading.Event().wait()


@pytest.mark.timeout(2)
def test_own_timeout():
    time.sleep(30)


@given(st.integers())
def test_hung_property(number):
    if number > 5:
        time.sleep(600)  # hypothesis would run a failing example again to shrink it


def test_the_next_one_still_runs():
    assert True


@pytest.mark.timeout(1)
def test_a_paused_step_is_not_counted():
    from tests.support import discipline

    with discipline.paused_timeout():  # e.g. building a peer, bounded by its own limit
        time.sleep(2)
"""


def _run(tmp_path: Path, tests: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_sample.py").write_text(tests)
    # Only the plugins the project's settings rely on: autoloading every installed one costs seconds.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [*PYTEST, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,  # a session that hangs in spite of the timeouts fails here
    )


def test_a_hung_test_fails_with_a_timeout_and_the_run_goes_on(tmp_path: Path) -> None:
    result = _run(tmp_path, HUNG)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "4 failed, 2 passed" in out, out
    assert "Timeout (>3.0s)" in out  # e2e: E2E_TIMEOUT
    assert "Timeout (>1.0s)" in out  # the ini default
    assert "Timeout (>2.0s)" in out  # the test's own marker wins
    assert "PropertyTimeout: Timeout (>4.0s)" in out  # hypothesis does not retry it: the run goes on
    assert "PASSED test_sample.py::test_the_next_one_still_runs" in out
    assert "PASSED test_sample.py::test_a_paused_step_is_not_counted" in out


def test_timeout_on_the_command_line_wins(tmp_path: Path) -> None:
    result = _run(tmp_path, HUNG, "--timeout", "1", "-k", "hung_operator")
    assert "Timeout (>1.0s)" in result.stdout and "1 failed" in result.stdout, result.stdout


def test_an_xfail_without_raises_stops_collection(tmp_path: Path) -> None:
    vague = "import pytest\n\n@pytest.mark.xfail(reason='gap')\ndef test_gap():\n    assert False\n"
    result = _run(tmp_path, vague)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "test_gap: xfail must name the exception it expects (raises=...)" in result.stderr


def test_the_project_settings_are_the_documented_ones() -> None:
    options = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]
    assert options["pytest"]["ini_options"]["timeout"] == 60
    assert project.E2E_TIMEOUT == 300
    assert options["coverage"]["report"]["fail_under"] >= 90
    omitted = options["coverage"]["run"]["omit"]
    # Only the test kit (emulator, GitHub stand-in, demo) and `python -m` are left out: every product module counts.
    assert set(omitted) == {"*/fluxcd_helm_upgrader/__main__.py", "*/fluxcd_helm_upgrader/testkit/*"}
