"""Write golden.jsonl: generated semver questions answered by Masterminds/semver v3.5.0 itself.

Run by hand (needs Go and the Go module proxy) from this directory: ``python generate.py``.
The inputs are random but seeded, shaped like what HelmReleases and chart indexes hold plus
malformed and boundary cases; `main.go` answers them with the library; the test
``tests/unit/checking/test_masterminds_golden.py`` replays every answer against our code.
"""

from __future__ import annotations

import json
import pathlib
import random
import subprocess

HERE = pathlib.Path(__file__).parent
rng = random.Random(16)

IDENTIFIERS = ["rc", "alpha", "beta", "0", "1", "2", "10", "a1", "x-y", "01", "", "18446744073709551616"]
OPERATORS = ["", "", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^", "=="]
WILDCARDS = ["*", "x", "X", "1.x", "1.*", "x.x", "0.x", "1.2.x", "1.x.x", "x.|", "1.x.|", "*-0", "1.x-rc", "0.0"]
NOISE = list("0123456789") * 3 + [*"v.-+xX*|aZ ", "rc", "beta", "00", "01", "18446744073709551616", "\n", "\t"]
BOUNDARY_VERSIONS = [
    "1.0.0-" + "a" * 250,
    "1.0.0-" + "a" * 251,
    "1." + "0" * 250,
    "18446744073709551615.0.0",
    "18446744073709551616.0.0",
    "1.0.0-99999999999999999999",
    "01.02.03",
    "1.0.0\n",
    "é",
]
BOUNDARY_CONSTRAINTS = [
    ">=1" + " " * 509,
    ">=1" + " " * 510,
    "||".join(["1"] * 32),
    "||".join(["1"] * 33),
    "x-" + "a" * 250,
    "x-" + "a" * 251,
    "1 - 2 - 3",
    "=1.2.3 - 2",
    "",
    " ",
]


def version() -> str:
    if rng.random() < 0.15:
        return "".join(rng.choice(NOISE) for _ in range(rng.randrange(0, 10)))
    parts = [str(rng.choice([0, 0, 1, 2, 3, 10, rng.randrange(100)])) for _ in range(rng.choice([1, 2, 3, 3, 3]))]
    text = ("v" if rng.random() < 0.1 else "") + ".".join(parts)
    if rng.random() < 0.4:
        text += "-" + ".".join(rng.choice(IDENTIFIERS) for _ in range(rng.choice([1, 1, 2])))
    if rng.random() < 0.15:
        text += "+" + rng.choice(["b", "001", "x.y", ""])
    if rng.random() < 0.03:
        text += rng.choice([" ", "\n", ".4", "x"])
    return text


def term() -> str:
    written = version() if rng.random() < 0.8 else rng.choice(WILDCARDS)
    return rng.choice(OPERATORS) + rng.choice(["", "", " "]) + written


def constraint() -> str:
    if rng.random() < 0.05:
        return "".join(rng.choice(" ,|-<>=~^!*x1.0v") for _ in range(rng.randrange(0, 14)))
    groups = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if rng.random() < 0.15:
            groups.append(version() + rng.choice([" - ", "-", " -", "\t-\t"]) + version())
        else:
            separator = rng.choice([" ", ", ", ",", "  ", " , "])
            groups.append(separator.join(term() for _ in range(rng.choice([1, 1, 2, 2, 3]))))
    return rng.choice(["||", " || ", "|| "]).join(groups)


def ask(requests: list[list[object]]) -> list[list[object]]:
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    out = subprocess.run(["go", "run", "."], cwd=HERE, input=lines, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def main() -> None:
    parsed = ask([["version", t] for t in [*BOUNDARY_VERSIONS, *(version() for _ in range(600))]])
    valid = [str(r[1]) for r in parsed if r[-1] is not None]
    compared = ask([["compare", rng.choice(valid), rng.choice(valid)] for _ in range(600)])
    accepted = ask([["constraint", c] for c in [*BOUNDARY_CONSTRAINTS, *(constraint() for _ in range(900))]])
    usable = [str(r[1]) for r in accepted if r[-1] is True]
    checked = ask([["check", rng.choice(usable), rng.choice(valid), rng.random() < 0.3] for _ in range(1800)])
    rows = [*parsed, *compared, *accepted, *checked]
    (HERE / "golden.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
