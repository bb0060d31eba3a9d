"""docs/configuration.md is generated from the CRDs (scripts/gen_config_reference.py) and is current."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "gen_config_reference.py"
DOC = REPO_ROOT / "docs" / "configuration.md"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_reference_is_current(generator: ModuleType) -> None:
    assert DOC.read_text(encoding="utf-8") == generator.render(), (
        "docs/configuration.md is stale: run python scripts/gen_config_reference.py"
    )


def test_check_passes_on_the_committed_file() -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


def test_check_fails_on_a_stale_file_and_writing_fixes_it(generator: ModuleType, tmp_path: Path) -> None:
    target = tmp_path / "configuration.md"
    target.write_text(DOC.read_text(encoding="utf-8").replace("30m", "1h"), encoding="utf-8")
    assert generator.main(["--check", "--output", str(target)]) == 1
    assert generator.main(["--output", str(target)]) == 0
    assert generator.main(["--check", "--output", str(target)]) == 0
    assert generator.main(["--check", "--output", str(tmp_path / "missing.md")]) == 1


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([^`]+)` \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = re.split(r"(?<!\\) \| ", match.group(2))
    return rows


@pytest.mark.parametrize("crd", ["upgraderconfigs.yaml", "upgradeproposals.yaml"])
def test_every_spec_field_has_a_row(crd: str) -> None:
    schema = yaml.safe_load((REPO_ROOT / "crds" / crd).read_text())["spec"]["versions"][0]["schema"]
    rows = _rows()

    def visit(node: dict[str, object], path: str) -> None:
        assert path in rows, path
        properties = node.get("properties", {})
        assert isinstance(properties, dict)
        for name, child in properties.items():
            visit(child, f"{path}.{name}")
        items = node.get("items")
        if isinstance(items, dict):
            for name, child in items.get("properties", {}).items():
                visit(child, f"{path}[].{name}")

    for part in ("spec", "status"):
        visit(schema["openAPIV3Schema"]["properties"][part], part)


@pytest.mark.parametrize(
    ("field", "column", "text"),
    [
        ("spec.interval", 2, "`30m`"),
        ("spec.pullRequests.provider", 3, "`github`, `none`"),
        ("spec.policy.allowedUpdates", 2, "`major`"),
        ("spec.git.url", 1, "yes"),
        ("spec.pullRequests.labels", 2, '`["dependencies"]`'),
        ("status.phase", 3, "`Pending`, `Open`, `Merged`, `Closed`, `Applied`, `Failed`"),
    ],
)
def test_rows_show_defaults_enums_and_required(field: str, column: int, text: str) -> None:
    assert _rows()[field][column] == text


def test_settings_are_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for variable in ("UPGRADER_CACHE_DIR", "UPGRADER_METRICS_PORT", "UPGRADER_WEBHOOK_PORT"):
        assert f"| `{variable}` |" in doc
