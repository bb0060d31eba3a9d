"""Every runtime dependency earns its place: pyproject's `dependencies` are each imported by the package (outside
testkit/, which never runs in the operator) or carry a "Not imported:" comment saying why they are there; and every
third-party module the package imports is a declared dependency or named in the comment above the list as part of
a declared library's API. A new import or a dependency nobody uses fails here, not in a reviewer's head."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "operator" / "fluxcd_helm_upgrader"


def _product_imports() -> set[str]:
    """Top-level names of the modules the operator's code imports (testkit/ excluded)."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if "testkit" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"fluxcd_helm_upgrader", "__future__"}


def _declared() -> tuple[dict[str, str], str]:
    """pyproject's runtime dependencies (normalized name -> the comments above and beside its line), and the
    comment block above the list."""
    text = (ROOT / "pyproject.toml").read_text()
    header = text[: text.index("dependencies = [")].rsplit("\n\n", 1)[-1]
    body = text[text.index("dependencies = [") :].split("\n]\n", 1)[0]
    result: dict[str, str] = {}
    pending: list[str] = []
    for line in body.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped)
            continue
        match = re.match(r'"([A-Za-z0-9_.\-]+)', stripped)
        if match:
            result[_normalize(match.group(1))] = " ".join([*pending, stripped.partition("#")[2]])
            pending = []
    return result, header


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distributions(module: str) -> set[str]:
    return {_normalize(d) for d in importlib.metadata.packages_distributions().get(module, [])}


def test_every_declared_dependency_is_imported_or_explained() -> None:
    declared, _ = _declared()
    imported = {dist for module in _product_imports() for dist in _distributions(module)}
    assert declared, "no dependencies found in pyproject.toml"
    unexplained = [n for n, comment in declared.items() if n not in imported and "Not imported:" not in comment]
    assert unexplained == [], f"declared but never imported, and no 'Not imported:' comment says why: {unexplained}"
    pretend = [name for name, comment in declared.items() if name in imported and "Not imported:" in comment]
    assert pretend == [], f"imported after all: drop the 'Not imported:' comment of {pretend}"


def test_every_third_party_import_is_declared_or_named_as_part_of_a_declared_api() -> None:
    declared, header = _declared()
    missing = []
    for module in sorted(_product_imports()):
        distributions = _distributions(module)
        if distributions & set(declared):
            continue
        if not re.search(rf"\b{re.escape(module)}\b", header):
            missing.append(f"{module} ({', '.join(sorted(distributions)) or 'not installed'})")
    assert missing == [], f"imported by the package but not declared in pyproject.toml: {missing}"

