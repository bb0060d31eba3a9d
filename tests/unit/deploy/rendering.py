"""Render the kustomizations in deploy/ with `kubectl kustomize` (offline) and pick objects out of the result.

Used by test_deploy.py and test_permissions.py. A machine without kubectl skips those tests with a message
saying what to install (fails them under CI=true, see tests/support/peers.py); each directory is rendered once
per test session.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tests.support import peers

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPO_ROOT / "deploy"
CLUSTER_WIDE = DEPLOY
NAMESPACED = DEPLOY / "namespaced"
LOCKDOWN = DEPLOY / "lockdown"
MONITORING = DEPLOY / "monitoring"
OPERATOR_NAMESPACE = "fluxcd-helm-upgrader"


def kubectl() -> str:
    """kubectl renders the deploy/ manifests (`kubectl kustomize`): skip without it, fail under CI=true."""
    return peers.require_binary("kubectl", package="kubectl")


@functools.cache
def _render(directory: Path) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{result.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(directory: Path) -> list[dict[str, Any]]:
    """Every object `kubectl kustomize directory` prints (a fresh list; the objects are shared, do not edit)."""
    return list(_render(directory))


def of_kind(objects: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj.get("kind") == kind]


def one(objects: Iterable[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_kind(objects, kind)
    assert len(found) == 1, f"expected exactly one {kind}, found {len(found)}"
    return found[0]
