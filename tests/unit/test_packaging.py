"""The package layout and the command line, as a user meets them."""

from __future__ import annotations

import operator
import subprocess
import sys
from pathlib import Path

import pytest

from fluxcd_helm_upgrader import cli

ROOT = Path(__file__).resolve().parents[2]


def test_operator_directory_does_not_shadow_the_standard_library() -> None:
    # operator/ holds the sources; if it were a package, `import operator` would load it instead.
    assert hasattr(operator, "itemgetter")
    assert Path(operator.__file__ or "").parent != ROOT / "operator"
    assert not (ROOT / "operator" / "__init__.py").exists()


@pytest.mark.parametrize(
    ("argv", "namespaces", "liveness"),
    [
        (["run"], [], "http://0.0.0.0:8080/healthz"),
        (["run", "-n", "flux-system", "--namespace", "apps"], ["flux-system", "apps"], "http://0.0.0.0:8080/healthz"),
        (["run", "--all-namespaces", "--liveness", ""], [], ""),
    ],
)
def test_run_arguments(argv: list[str], namespaces: list[str], liveness: str) -> None:
    args = cli.build_parser().parse_args(argv)
    assert args.namespace == namespaces
    assert args.liveness == liveness


def test_namespaces_and_all_namespaces_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "-A", "-n", "apps"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_console_script_help_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fluxcd_helm_upgrader", "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    for command in ("run", "demo"):
        assert command in result.stdout
