"""The fast path of index reading: find the wanted charts' blocks by byte search, parse only those.

Called by `checking.indexes.read_charts` only. Pure; no I/O.

Helm (Go yaml) writes index.yaml in block style::

    apiVersion: v1
    entries:
      podinfo:
      - apiVersion: v2
        version: 6.5.0
        ...
    generated: "2024-..."

The chart keys are the only lines of the ``entries`` section at the key indentation (k), except
list items (``- ``) written at that same indentation. So the section's *structure* can be checked
with one regular-expression pass that stops only at lines indented k or less which are not list
items — a few hundred lines in a 26 MB index — and each wanted chart's block (its key line up to
the next key line) is parsed alone with libyaml. Everything outside the section is parsed too (it
is tiny) to check that the document is a mapping with exactly one ``entries`` key.

`find_charts` returns ``None`` ("not sure") instead of guessing whenever the text is not shaped
like that: flow style or JSON, document markers or directives, a lone CR, an ``entries`` key that
is quoted, repeated or has something after the colon, a section line at an unexpected indentation
(tabs included), a chart key that is not a simple plain or quoted scalar, a wanted chart listed
twice, or any parse error in a block or in the rest (an alias to an anchor defined elsewhere is
such an error). The caller then parses the whole document.

What it does not check: blocks of charts that were not asked for are not parsed, so a syntax
error inside another chart's versions goes unnoticed (the full parse would reject the file).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import yaml

from fluxcd_helm_upgrader.checking import safe_yaml

_BOM = b"\xef\xbb\xbf"
_ENTRIES = b"entries:"
_TOP_LEVEL_LINE = re.compile(rb"\n[^ \n#]")
_FIRST_CONTENT = re.compile(rb"\n( *)([^ \n])")
_ENTRIES_REST = re.compile(rb"[ ]*(?:#[^\n]*)?(?=\n|\Z)")
_KEY_TEMPLATE = (
    rb"(?:(?P<plain>[A-Za-z0-9_][A-Za-z0-9_.\-/]*)|\"(?P<dq>[^\"\\\n]*)\"|'(?P<sq>[^'\n]*)')"
    rb"[ ]*:[ ]*(?:#[^\n]*)?(?=\n|\Z)"
)
_KEY = re.compile(_KEY_TEMPLATE)
_COMMENT = re.compile(rb"[ ]*#[^\n]*(?=\n|\Z)")


@dataclass(frozen=True)
class Found:
    """The wanted charts' raw YAML values (absent names are not keys)."""

    charts: dict[str, Any]


def _structure_pattern(indent: int) -> re.Pattern[bytes]:
    # Lines at exactly `indent` that are not list items, or any content line indented less.
    shallower = rb"| {0,%d}(?=[^ \n])" % (indent - 1) if indent > 1 else rb"|(?=[^ \n])"
    return re.compile(rb"\n(?: {%d}(?=[^ \n])(?!-[ \n]|-\Z)%s)" % (indent, shallower))


def _normalize(data: bytes) -> bytes | None:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if b"\r" in data:
        if data.count(b"\r") != data.count(b"\r\n"):
            return None  # a lone CR is a line break in YAML: too unusual to scan
        # YAML normalizes every line break in scalars to LF, so this changes no value.
        data = data.replace(b"\r\n", b"\n")
    if b"\t" in data[:1] or data.startswith((b"---", b"...", b"%")):
        return None
    if b"\n---" in data or b"\n..." in data or b"\n%" in data:
        return None
    return data


def find_charts(data: bytes, names: Collection[str]) -> Found | None:
    """The wanted charts' values, or ``None`` when the fast path cannot be sure (see module doc)."""
    text = _normalize(data)
    if text is None:
        return None
    entries_at = _entries_line(text)
    if entries_at is None:
        return None
    line_end = entries_at + 1 + len(_ENTRIES)
    rest_of_line = _ENTRIES_REST.match(text, line_end)
    if rest_of_line is None:
        return None  # `entries: {}`, `entries: &anchor`, `entries: !!map`...
    section_start = rest_of_line.end()
    top = _TOP_LEVEL_LINE.search(text, section_start)
    section_end = top.start() if top else len(text)

    first = _FIRST_CONTENT.search(text, section_start, section_end)
    while first is not None and _COMMENT.match(text, first.start() + 1):
        first = _FIRST_CONTENT.search(text, first.end(), section_end)
    if first is None:
        return None  # empty `entries:` (null): leave it to the full parse
    indent = len(first.group(1))
    if indent == 0:
        return None

    keys: list[tuple[str, int]] = []  # (chart key, offset of the "\n" before its line)
    for match in _structure_pattern(indent).finditer(text, first.start(), section_end):
        line_start = match.start() + 1
        if _COMMENT.match(text, line_start):
            continue
        key = _KEY.match(text, line_start + indent) if text.startswith(b" " * indent, line_start) else None
        if key is None or text[line_start + indent : line_start + indent + 1] == b" ":
            return None  # an unexpected line in the section
        raw = key.group("plain") or key.group("dq") or key.group("sq") or b""
        try:
            keys.append((raw.decode("utf-8"), match.start()))
        except UnicodeDecodeError:
            return None
    if not keys or keys[0][1] != first.start():
        return None  # the section must open with a chart key

    wanted = set(names)
    charts: dict[str, Any] = {}
    for index, (name, offset) in enumerate(keys):
        if name not in wanted:
            continue
        if name in charts:
            return None  # listed twice: YAML's "last one wins" is for the full parse to apply
        end = keys[index + 1][1] if index + 1 < len(keys) else section_end
        try:
            value = safe_yaml.load(text[offset + 1 : end])
        except yaml.YAMLError:
            return None
        if not isinstance(value, dict) or list(value) != [name]:
            return None
        charts[name] = value[name]
    if not _rest_is_index(text[: max(entries_at, 0)] + text[section_end:]):
        return None
    return Found(charts)


def _entries_line(text: bytes) -> int | None:
    """Offset of the "\\n" before the only column-0 ``entries:`` line (-1: first line), else ``None``."""
    needle = b"\n" + _ENTRIES
    at = -1 if text.startswith(_ENTRIES) else text.find(needle)
    if (at == -1 and not text.startswith(_ENTRIES)) or text.find(needle, at + 1) >= 0:
        return None
    return at


def _rest_is_index(rest: bytes) -> bool:
    """The document minus the entries section must be a mapping (apiVersion, generated, ...)."""
    try:
        value = safe_yaml.load(rest)
    except yaml.YAMLError:
        return False
    return value is None or (isinstance(value, dict) and "entries" not in value)
