"""Build kstatus condition lists for status patches.

Kopf patches are JSON merge patches, so a handler always writes the whole `conditions` list; `set` keeps
`lastTransitionTime` when a condition's status did not change, as Flux and kstatus expect.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Condition = dict[str, Any]


def now_rfc3339() -> str:
    """The current UTC time in the RFC 3339 form Kubernetes uses (second precision, `Z`)."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    existing: Iterable[Mapping[str, Any]] | None,
    *,
    type_: str,
    status: bool,
    reason: str,
    message: str,
    generation: int | None,
    now: str | None = None,
) -> list[Condition]:
    """Return a new condition list with `type_` set, the others kept in their order."""
    now = now or now_rfc3339()
    value = "True" if status else "False"
    result: list[Condition] = []
    replaced = False
    for old in existing or ():
        if old.get("type") != type_:
            result.append(dict(old))
            continue
        replaced = True
        transition = old.get("lastTransitionTime") if old.get("status") == value else now
        result.append(_condition(type_, value, reason, message, generation, transition or now))
    if not replaced:
        result.append(_condition(type_, value, reason, message, generation, now))
    return result


def remove_condition(existing: Iterable[Mapping[str, Any]] | None, type_: str) -> list[Condition]:
    """Return the condition list without `type_`."""
    return [dict(c) for c in existing or () if c.get("type") != type_]


def find(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    """The condition of that type, if present."""
    for condition in conditions or ():
        if condition.get("type") == type_:
            return condition
    return None


def message(conditions: Sequence[Mapping[str, Any]] | None, type_: str = "Ready") -> str | None:
    """The message of the condition of that type, if present."""
    found = find(conditions, type_)
    return str(found.get("message")) if found else None


def _condition(
    type_: str, status: str, reason: str, message: str, generation: int | None, transition: str
) -> Condition:
    condition: Condition = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition
