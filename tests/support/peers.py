"""System peers of the tests (kubectl, sshd, docker-registry, ...): one rule for when one is missing.

Imported by any test or fixture that needs a program the Python environment does not provide. A missing
peer skips the test with the reason and the package that provides it; under `CI=true` the same absence
FAILS the test, so a CI run can never report a skipped check as passing (the project's standard).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip with `reason`, or fail with it under CI=true."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing system peer fails the run)", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str, *, package: str, path: str | Path | None = None) -> str:
    """The absolute path of program `name` (found on PATH, or at `path`), else skip/fail naming `package`."""
    if path is not None:
        found = str(path) if Path(path).is_file() and os.access(path, os.X_OK) else None
    else:
        found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed: apt-get install {package}")
    return found
