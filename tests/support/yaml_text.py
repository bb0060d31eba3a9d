"""Writing YAML text by hand for the property tests (tests/unit/checking/test_index_properties.py and
tests/unit/gitops/test_editing_properties.py): scalars in a chosen style and hypothesis strategies for odd text.

The generators write YAML line by line (not through a dumper) so that they control quoting, indentation, comments and
line endings, and know where each scalar sits; `text()` and `SEMVER` are the strings they write. A scalar is written
plain only when PyYAML's emitter says a plain scalar can hold it (its own syntactic analysis, independent of the code
under test); otherwise it falls back to quotes, so the text always means the intended string.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import yaml
import yaml.emitter
from hypothesis import strategies as st

STYLES = ("plain", "'", '"')

# Plain scalars that YAML 1.1 (PyYAML, and the bounded loader of checking.safe_yaml) reads as booleans or null.
BOOL_OR_NULL = re.compile(
    r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL)$"
)

# Printable text only: no control characters, no line or paragraph separators, no BOM.
_PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Zl", "Zp", "Co", "Cn"))

ODD_TEXTS = [
    "1.10", "1.0", "01", "1e3", "0x1F", "0o17", "1_000", ".5", "-1", "+1", "0", ".inf", "NaN", "2024-01-01",
    "2024-01-01T10:00:00Z", "1.2.3 # not a comment", "- 1", "1:2", "a: b", "v1", "1.0.0+build.5", "1,2", "[1]",
    "{a}", "&a", "*a", "!x", "@1", "`1", "%1", "|1", ">1", "'1'", '"1"', "yes", "No", "on", "null", "~", "true",
    " 1.0", "1.0 ", "∞", "日本", "é1.0", "a\\b", "1#2", "#1", "?", "1 - 2",
]  # fmt: skip


def text(max_size: int = 20) -> st.SearchStrategy[str]:
    """Printable strings, biased towards YAML's surprises."""
    return st.one_of(st.sampled_from(ODD_TEXTS), st.text(_PRINTABLE, min_size=1, max_size=max_size))


# Chart versions as charts write them: X.Y.Z with a prerelease or build part now and then.
SEMVER = st.builds(
    lambda major, minor, patch, suffix: f"{major}.{minor}.{patch}{suffix}",
    st.integers(0, 40),
    st.integers(0, 40),
    st.integers(0, 40),
    st.sampled_from(["", "", "-rc.1", "-alpha", "-beta.2", "+build.7", "-0.3.7+exp.sha.5114f85"]),
)


def plain_allowed(value: str, flow: bool = False) -> bool:
    """True when PyYAML's emitter would write `value` as a one-line plain scalar (block or flow context)."""
    if not value:
        return False
    emitter = yaml.emitter.Emitter(io.StringIO(), allow_unicode=True)
    analysis = emitter.analyze_scalar(value)
    allowed = analysis.allow_flow_plain if flow else analysis.allow_block_plain
    return bool(allowed and not analysis.multiline)


def scalar(value: str, style: str, flow: bool = False) -> str:
    """`value` written in `style` ("plain", "'" or '"'), in double quotes when the style cannot hold it."""
    if style == "plain" and plain_allowed(value, flow):
        return value
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=False)  # JSON string escapes are a subset of YAML's double-quoted ones


def is_plain(rendered: str) -> bool:
    return not rendered.startswith(("'", '"'))


def dump(data: Any, flow: bool) -> str:
    """A YAML text for `data` (inner documents such as a changelog annotation), block or flow style."""
    return str(yaml.safe_dump(data, allow_unicode=True, default_flow_style=flow, sort_keys=False))
