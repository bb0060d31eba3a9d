"""The operator runs without its test machinery: loading every product module (the `run` command's whole import
graph and the rest) never loads `fluxcd_helm_upgrader.testkit` (the `demo` command imports it inside the function
that runs it). The import-linter contract in pyproject.toml checks the same statically; this checks what Python
really loads."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import fluxcd_helm_upgrader

PRODUCT = sorted(
    m.name
    for m in pkgutil.walk_packages(fluxcd_helm_upgrader.__path__, "fluxcd_helm_upgrader.")
    if not m.name.startswith("fluxcd_helm_upgrader.testkit") and m.name != "fluxcd_helm_upgrader.__main__"
)
SCRIPT = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(sorted(m for m in sys.modules if m.startswith("fluxcd_helm_upgrader.testkit")))
"""


def test_no_product_module_loads_the_testkit() -> None:
    assert "fluxcd_helm_upgrader.cli" in PRODUCT and "fluxcd_helm_upgrader.handlers.configs" in PRODUCT
    done = subprocess.run([sys.executable, "-c", SCRIPT, *PRODUCT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

