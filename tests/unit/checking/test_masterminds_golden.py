"""Our semver gives the answers Masterminds/semver v3.5.0 itself gave (checking.versions, checking.ranges).

``testdata/masterminds/golden.jsonl`` holds ~3,900 generated questions (parse, compare, constraint
validity, ``Check`` with and without ``IncludePrerelease``) answered by the real library through
``testdata/masterminds/main.go`` (go.sum pins v3.5.0); ``generate.py`` there rewrites it.
"""

from __future__ import annotations

import json
import pathlib
from collections import Counter
from typing import Any

import pytest

from fluxcd_helm_upgrader.checking import ranges, versions

GOLDEN = pathlib.Path(__file__).parent / "testdata" / "masterminds" / "golden.jsonl"
ROWS: list[list[Any]] = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]


def _ours(row: list[Any]) -> object:
    kind, *args = row[:-1]
    if kind == "version":
        parsed = versions.parse(args[0])
        return None if parsed is None else str(parsed)
    if kind == "compare":
        a, b = versions.parse(args[0]), versions.parse(args[1])
        assert a is not None and b is not None
        return -1 if a < b else 1 if a > b else 0
    if kind == "constraint":
        return ranges.parse_constraint(args[0]) is not None
    constraint, version = ranges.parse_constraint(args[0]), versions.parse(args[1])
    assert constraint is not None and version is not None
    return constraint.allows(version, include_prerelease=args[2])


def test_golden_file_covers_every_question_and_answer() -> None:
    kinds = Counter(row[0] for row in ROWS)
    assert kinds["version"] >= 500 and kinds["compare"] >= 500 and kinds["constraint"] >= 800
    assert kinds["check"] >= 1500
    answers = Counter((row[0], row[-1]) for row in ROWS if row[0] in ("constraint", "check"))
    assert min(answers.values()) >= 300  # both yes and no, for validity and for Check
    assert sum(1 for row in ROWS if row[0] == "check" and "-" in row[2] and row[-1] is True) >= 50


@pytest.mark.parametrize("kind", ["version", "compare", "constraint", "check"])
def test_same_answers_as_masterminds(kind: str) -> None:
    disagreements = [(row[:-1], row[-1], _ours(row)) for row in ROWS if row[0] == kind and _ours(row) != row[-1]]
    assert disagreements == []
