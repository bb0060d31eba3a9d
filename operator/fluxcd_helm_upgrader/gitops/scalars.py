"""Find where one YAML scalar sits in a file's text, without ever re-serialising the file.

Used by `gitops.editing` (to replace exactly those characters) and by `gitops.locating` (to
report the 1-based line and the current value). ruamel.yaml's composer gives the start and end
of every node in characters, so we navigate the node graph along a key path and read the marks.

A scalar may also live inside a YAML document that is itself embedded in a literal block scalar
(an inline kustomize patch: `patches: [{patch: |\n  - op: replace ...}]`). The embedded document
is parsed from the block's value and its positions are mapped back onto the outer file's lines:
a literal block keeps every line verbatim after removing the block's indentation.

ruamel.yaml is pure Python: every text it parses here or in `gitops.editing` first passes `bounded`
(`checking.safe_yaml.check`: nesting depth, aliases, scalar size, file size), so a hostile file is an
`EditError`, never a RecursionError or an alias expansion.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import ruamel.yaml
import ruamel.yaml.error
import yaml
from ruamel.yaml import nodes

from fluxcd_helm_upgrader.checking import safe_yaml

Key = str | int
KeyPath = tuple[Key, ...]
MAX_FILE_CHARS = 16 << 20  # a manifest file edited in place; larger ones are refused, not parsed


class EditError(ValueError):
    """The requested scalar cannot be found or edited safely; the message says why."""


@dataclass(frozen=True)
class Embedded:
    """A path inside a YAML stream embedded in a literal block scalar (an inline patch)."""

    doc_index: int
    key_path: KeyPath


@dataclass(frozen=True)
class ScalarSpan:
    """Where a single-line scalar sits in the decoded text of a file.

    `start`/`end` are character offsets of the scalar's raw text, quotes included;
    `style` is "plain", "'" or '"'; `flow` is True inside `[...]`/`{...}`, where plain
    scalars may not contain `,[]{}`.
    """

    start: int
    end: int
    line: int
    style: str
    value: str
    flow: bool


def decode(data: bytes) -> str:
    """Decode a manifest as UTF-8; a BOM stays in the text (ruamel counts it as character 0)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EditError(f"file is not valid UTF-8: {exc}") from exc


def bounded(text: str, what: str = "file") -> str:
    """`text`, once it is known to stay within the bounds ruamel can parse safely; else EditError."""
    if len(text) > MAX_FILE_CHARS:
        raise EditError(f"{what} is larger than {MAX_FILE_CHARS} characters; refusing to parse it")
    try:
        safe_yaml.check(text)
    except safe_yaml.UnsafeYAML as exc:
        raise EditError(f"{what} is refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise EditError(f"{what} is not valid YAML: {exc}") from None
    return text


def compose_documents(text: str) -> list[nodes.Node | None]:
    """Compose every document of a YAML stream into nodes (None for an empty document)."""
    try:
        return list(ruamel.yaml.YAML().compose_all(bounded(text)))
    except ruamel.yaml.error.YAMLError as exc:
        raise EditError(f"file is not valid YAML: {exc}") from exc


def describe(key_path: Sequence[Key]) -> str:
    """Render a key path the way a user reads it: spec.chart.spec.version, patches[0].patch."""
    out = ""
    for key in key_path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out or "<document>"


def _child(node: nodes.Node, key: Key, where: Sequence[Key]) -> tuple[nodes.Node, bool]:
    """Step one key down; returns the child and whether the parent is a flow collection."""
    flow = bool(getattr(node, "flow_style", False))
    if isinstance(node, nodes.MappingNode) and isinstance(key, str):
        found = [v for k, v in node.value if isinstance(k, nodes.ScalarNode) and k.value == key]
        if len(found) > 1:
            raise EditError(f"key {describe([*where, key])} appears more than once")
        if found:
            return found[0], flow
    elif isinstance(node, nodes.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key], flow
    raise EditError(f"no {describe([*where, key])} in the document")


def _node_at(docs: list[nodes.Node | None], doc_index: int, key_path: Sequence[Key]) -> tuple[nodes.Node, bool]:
    if not 0 <= doc_index < len(docs):
        raise EditError(f"document {doc_index} does not exist (the file has {len(docs)})")
    node = docs[doc_index]
    if node is None:
        raise EditError(f"document {doc_index} is empty")
    flow = False
    for depth, key in enumerate(key_path):
        node, flow = _child(node, key, key_path[:depth])
    return node, flow


def _span(text: str, node: nodes.Node, flow: bool, key_path: Sequence[Key]) -> ScalarSpan:
    where = describe(key_path)
    if not isinstance(node, nodes.ScalarNode):
        raise EditError(f"{where} is a {type(node).__name__}, not a scalar")
    if node.style in ("|", ">"):
        raise EditError(f"{where} is a multi-line block scalar ({node.style}); refusing to edit it")
    if node.anchor is not None:
        # Editing an anchored scalar would silently change every alias of it too.
        raise EditError(f"{where} carries an anchor (&{node.anchor}); refusing to edit it")
    start, end = node.start_mark.index, node.end_mark.index
    if node.start_mark.line != node.end_mark.line:
        raise EditError(f"{where} spans several lines; refusing to edit it")
    raw = text[start:end]
    style = "plain" if node.style is None else node.style
    if (
        raw.startswith("!")
        or (style == "plain" and raw != node.value)
        or (style != "plain" and not (raw[:1] == style and raw[-1:] == style))
    ):
        raise EditError(f"{where} has a tag or unexpected layout ({raw!r}); refusing to edit it")
    return ScalarSpan(start, end, node.start_mark.line + 1, style, str(node.value), flow)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(i + 1 for i, ch in enumerate(text) if ch == "\n")
    return starts


def _literal_block_indent(text: str, node: nodes.ScalarNode, where: str) -> tuple[int, int]:
    """Return (first content line, 0-based; indentation) of a literal block scalar."""
    if node.style != "|":
        raise EditError(f"{where} must be a literal block scalar (|) to edit the patch inside it")
    header_end = text.find("\n", node.start_mark.index)
    header = text[node.start_mark.index : header_end if header_end >= 0 else len(text)]
    indicators = header.split("#", 1)[0].strip()
    if any(ch.isdigit() for ch in indicators):
        raise EditError(f"{where} uses an explicit indentation indicator ({indicators}); not supported")
    first = node.start_mark.line + 1
    lines = text.split("\n")
    for line in lines[first : node.end_mark.line + 1]:
        if line.strip(" \r"):
            return first, len(line) - len(line.lstrip(" "))
    raise EditError(f"{where} is an empty block scalar")


def find_scalar(text: str, doc_index: int, key_path: Sequence[Key], embedded: Embedded | None = None) -> ScalarSpan:
    """Locate a single-line scalar (optionally inside an embedded patch) in decoded text.

    Remembered for the last few texts: the Git worker locates a value (`gitops.locating`) and then edits it
    (`gitops.editing`) in the same text, and composing is most of the cost of both (ruamel is pure Python)."""
    return _find_scalar(text, doc_index, tuple(key_path), embedded)


@functools.lru_cache(maxsize=8)
def _find_scalar(text: str, doc_index: int, key_path: KeyPath, embedded: Embedded | None) -> ScalarSpan:
    node, flow = _node_at(compose_documents(text), doc_index, key_path)
    if embedded is None:
        return _span(text, node, flow, key_path)
    where = describe(key_path)
    if not isinstance(node, nodes.ScalarNode):
        raise EditError(f"{where} is not a string holding a patch")
    first_line, indent = _literal_block_indent(text, node, where)
    inner_text = str(node.value)
    try:
        inner_docs = list(ruamel.yaml.YAML().compose_all(bounded(inner_text, f"the patch in {where}")))
    except ruamel.yaml.error.YAMLError as exc:
        raise EditError(f"the patch in {where} is not valid YAML: {exc}") from exc
    inner_node, inner_flow = _node_at(inner_docs, embedded.doc_index, embedded.key_path)
    inner = _span(inner_text, inner_node, inner_flow, embedded.key_path)
    # Map the inner position back: literal blocks keep each line, minus `indent` spaces.
    inner_line = inner_node.start_mark.line
    starts = _line_starts(text)
    outer_line = first_line + inner_line
    if outer_line >= len(starts):
        raise EditError(f"cannot map the patch in {where} back onto the file")
    start = starts[outer_line] + indent + inner_node.start_mark.column
    end = start + (inner.end - inner.start)
    if text[start:end] != inner_text[inner.start : inner.end]:
        raise EditError(f"cannot map the patch in {where} back onto the file")
    return ScalarSpan(start, end, outer_line + 1, inner.style, inner.value, inner.flow)
