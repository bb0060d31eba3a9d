"""Replace the bytes of one YAML scalar (a chart version, an OCI tag or digest) and nothing else.

Called by the PR worker after `gitops.locating` has said which file, document and key path hold
the version. The file is never re-serialised: ruamel.yaml only tells us where the scalar is
(`gitops.scalars`), and we splice the new text in, so quotes, comments, CRLF line endings,
indentation, `---` separators and a BOM all stay byte-for-byte.

Quoting: a quoted scalar keeps its quote style. A plain scalar stays plain only when the new
value would read back as the same string under both YAML 1.2 (ruamel) and YAML 1.1 (PyYAML,
close to what Kubernetes tooling does), and has no indicator characters; otherwise it becomes
double-quoted (what Flux's docs use), e.g. `6.x` -> `7.x` but `>=7.0.0 <8.0.0` -> `">=7.0.0 <8.0.0"`.

Every edit is verified: the result is re-parsed, each document must equal the original with only
the edited values replaced (inline patches are parsed and compared too), and only the edited
lines may differ. Any failure raises `EditError`; the caller gets either a correct file or nothing.
Every text ruamel parses here passes `gitops.scalars.bounded` first; the two `plain_is_safe` probes parse only
the new value (at most `MAX_VALUE_CHARS`), which is ours, not the file's.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ruamel.yaml
import ruamel.yaml.error
import yaml

from fluxcd_helm_upgrader.gitops import scalars

EditError = scalars.EditError
Embedded = scalars.Embedded
Key = scalars.Key
KeyPath = scalars.KeyPath

# A plain scalar must not start with one of these (YAML indicators), or it means something else.
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_FLOW_FORBIDDEN = set(",[]{}")
MAX_VALUE_CHARS = 1024  # a version, tag, range or digest; the probes below parse only values this short


@dataclass(frozen=True)
class ScalarEdit:
    """One scalar to change: where it is, what it must currently be, and the new value."""

    doc_index: int
    key_path: KeyPath
    old: str
    new: str
    embedded: Embedded | None = None


def edit_scalar(
    data: bytes,
    doc_index: int,
    key_path: Sequence[Key],
    old: str,
    new: str,
    *,
    embedded: Embedded | None = None,
) -> bytes:
    """Return `data` with the scalar at `key_path` of document `doc_index` changed from old to new."""
    return edit_scalars(data, [ScalarEdit(doc_index, tuple(key_path), old, new, embedded)])


def edit_scalars(data: bytes, edits: Sequence[ScalarEdit]) -> bytes:
    """Apply several scalar edits to one file atomically (e.g. an OCIRepository's tag and digest).

    Edits whose old value equals the new one are no-ops; if all are, `data` comes back unchanged.
    """
    text = scalars.decode(data)
    pending = [e for e in edits if e.old != e.new]
    if not pending:
        return data
    spans = []
    for edit in pending:
        _check_new_value(edit)
        span = scalars.find_scalar(text, edit.doc_index, edit.key_path, edit.embedded)
        if span.value != edit.old:
            raise EditError(f"{_where(edit)} is {span.value!r} in the file, expected {edit.old!r}; refusing to edit")
        spans.append((span, edit))
    spans.sort(key=lambda pair: pair[0].start)
    for (a, ea), (b, eb) in itertools.pairwise(spans):
        if b.start < a.end:
            raise EditError(f"edits of {_where(ea)} and {_where(eb)} touch the same scalar")
    result = text
    for span, edit in reversed(spans):
        result = result[: span.start] + render(edit.new, span.style, span.flow) + result[span.end :]
    _verify(text, result, [edit for _, edit in spans], {span.line for span, _ in spans})
    return result.encode("utf-8")


def render(value: str, style: str, flow: bool = False) -> str:
    """Render `value` in `style` ("plain", "'" or '"'), falling back to double quotes when needed."""
    if style == "plain" and plain_is_safe(value, flow):
        return value
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    # JSON string escapes are a subset of YAML double-quoted escapes.
    return json.dumps(value, ensure_ascii=False)


@functools.lru_cache(maxsize=1024)  # a fleet's upgrades write the same few versions many times
def plain_is_safe(value: str, flow: bool = False) -> bool:
    """True when `value` written as a plain scalar reads back as the very same string."""
    if not value or value != value.strip() or value[0] in _INDICATORS:
        return False
    if ": " in value or " #" in value or value.endswith(":") or "\t" in value:
        return False
    if flow and any(ch in _FLOW_FORBIDDEN for ch in value):
        return False
    probe = f"k: {value}\n"
    try:
        as_12 = ruamel.yaml.YAML(typ="safe", pure=True).load(probe)
        as_11 = yaml.safe_load(probe)
    except (ruamel.yaml.error.YAMLError, yaml.YAMLError):
        return False
    return bool(as_12 == {"k": value} and as_11 == {"k": value})


def _where(edit: ScalarEdit) -> str:
    where = f"document {edit.doc_index} {scalars.describe(edit.key_path)}"
    if edit.embedded is not None:
        where += f" (patch document {edit.embedded.doc_index} {scalars.describe(edit.embedded.key_path)})"
    return where


def _check_new_value(edit: ScalarEdit) -> None:
    if not edit.new or any(not ch.isprintable() for ch in edit.new):
        raise EditError(f"new value {edit.new!r} for {_where(edit)} is empty or has control characters")
    if len(edit.new) > MAX_VALUE_CHARS:  # also bounds the probes of `plain_is_safe`
        raise EditError(f"new value for {_where(edit)} is longer than {MAX_VALUE_CHARS} characters")


def _load(text: str, what: str) -> list[Any]:
    try:
        return list(ruamel.yaml.YAML(typ="safe", pure=True).load_all(scalars.bounded(text, what)))
    except ruamel.yaml.error.YAMLError as exc:
        raise EditError(f"{what} does not parse as YAML: {exc}") from exc


def _get(tree: Any, path: Sequence[Key]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _set(tree: Any, path: Sequence[Key], value: Any) -> None:
    _get(tree, path[:-1])[path[-1]] = value


def _verify(before: str, after: str, edits: Sequence[ScalarEdit], lines: set[int]) -> None:
    """Re-parse and prove that exactly the requested values (and lines) changed."""
    old_docs, new_docs = _load(before, "the original file"), _load(after, "the edited file")
    if len(old_docs) != len(new_docs):
        raise EditError("the edit changed the number of YAML documents")
    expected = copy.deepcopy(old_docs)
    embedded: dict[tuple[int, KeyPath], list[tuple[Embedded, str]]] = {}
    for edit in edits:
        if edit.embedded is None:
            _set(expected[edit.doc_index], edit.key_path, edit.new)
        else:
            embedded.setdefault((edit.doc_index, edit.key_path), []).append((edit.embedded, edit.new))
    for (doc_index, key_path), group in embedded.items():
        patch_before = _load(_get(old_docs[doc_index], key_path), "the original inline patch")
        patch_after = _load(_get(new_docs[doc_index], key_path), "the edited inline patch")
        for inner, new in group:
            _set(patch_before[inner.doc_index], inner.key_path, new)
        if patch_before != patch_after:
            where = f"document {doc_index} {scalars.describe(key_path)}"
            raise EditError(f"the edit changed more than the requested value in the inline patch at {where}")
        # The patch text itself was checked above; compare the rest of the document as data.
        _set(expected[doc_index], key_path, _get(new_docs[doc_index], key_path))
    if expected != new_docs:
        raise EditError("the edit changed more than the requested value(s); refusing it")
    old_lines, new_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    if len(old_lines) != len(new_lines):
        raise EditError("the edit changed the number of lines")
    changed = {i + 1 for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b}
    if changed != lines:
        raise EditError(f"the edit changed lines {sorted(changed)}, expected only {sorted(lines)}")
