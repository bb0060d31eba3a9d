"""tests/support/peers.py: a missing system peer skips with the package to install, and fails under CI=true."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import peers


def test_a_missing_binary_skips_and_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-tool is not installed: apt-get install no-such-pkg"):
        peers.require_binary("no-such-tool", package="no-such-pkg")


def test_a_missing_binary_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: a missing system peer fails the run"):
        peers.require_binary("docker-registry", package="docker-registry", path=tmp_path / "docker-registry")


def test_a_present_binary_is_returned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert peers.require_binary("tool", package="tool", path=tool) == str(tool)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert peers.require_binary("tool", package="tool") == str(tool)
