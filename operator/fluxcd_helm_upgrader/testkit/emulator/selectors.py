"""Label and field selectors of list/watch requests, parsed as kube-apiserver parses them.

Used by `emulator.store` (list) and `emulator.watching` (watch). Label selectors support `=`, `==`,
`!=`, `in (...)`, `notin (...)`, `key` (exists) and `!key`; field selectors support
`metadata.name` and `metadata.namespace` with `=`, `==` and `!=`, and on core Events also
`involvedObject.*`, `reason`, `source`, `type` (other fields answer 400, like a real server does for
fields a resource does not index).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from fluxcd_helm_upgrader.testkit.emulator import errors

Predicate = Callable[[Mapping[str, Any]], bool]

_SET_RE = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside `in (a,b)` parentheses."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term for term in terms if term.strip()]


def _label_term(term: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET_RE.match(term):
        key, op, raw_values = match.groups()
        values = {value.strip() for value in raw_values.split(",") if value.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQ_RE.match(term):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS_RE.match(term):
        negate, key = match.groups()
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise errors.bad_request(f"unable to parse requirement: {term!r}")


def label_selector(text: str | None) -> Predicate:
    """A predicate over whole objects for `?labelSelector=`; an empty selector matches everything."""
    terms = [_label_term(term) for term in _split_terms(text or "")]

    def matches(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(term(labels) for term in terms)

    return matches


METADATA_FIELDS: dict[str, tuple[str, ...]] = {
    "metadata.name": ("metadata", "name"),
    "metadata.namespace": ("metadata", "namespace"),
}
# core/v1 Events also index these (what `kubectl describe` asks for to list an object's events).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    **METADATA_FIELDS,
    **{f"involvedObject.{key}": ("involvedObject", key)
       for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": ("reason",),
    "reportingComponent": ("reportingComponent",),
    "source": ("source", "component"),
    "type": ("type",),
}  # fmt: skip


def _field_value(obj: Mapping[str, Any], path: tuple[str, ...]) -> str:
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


def field_selector(text: str | None, fields: Mapping[str, tuple[str, ...]] = METADATA_FIELDS) -> Predicate:
    """A predicate for `?fieldSelector=` over the fields this resource indexes (metadata.name/namespace by default)."""
    checks: list[tuple[tuple[str, ...], bool, str]] = []
    for term in _split_terms(text or ""):
        match = _EQ_RE.match(term)
        if not match or match.group(1) not in fields:
            known = ", ".join(f'"{name}"' for name in fields)
            raise errors.bad_request(f'"{term.strip()}" is not a known field selector: only {known}')
        field, op, value = match.groups()
        checks.append((fields[field], op != "!=", value))

    def matches(obj: Mapping[str, Any]) -> bool:
        return all((_field_value(obj, path) == value) == equal for path, equal, value in checks)

    return matches


def both(*predicates: Predicate) -> Predicate:
    return lambda obj: all(predicate(obj) for predicate in predicates)
