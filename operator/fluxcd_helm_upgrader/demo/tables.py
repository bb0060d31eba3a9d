"""Print objects the way `kubectl get` does, using the printer columns declared in our CRDs.

The demo prints its results with this, so what it shows is exactly what `kubectl get upgradeproposals` would show
for the same objects. Supports the JSONPath subset our CRDs use: `.a.b` and `.list[?(@.key=="value")].field`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

_FILTER = re.compile(r'^(?P<list>\w+)\[\?\(@\.(?P<key>\w+)=="(?P<value>[^"]*)"\)\]$')
_STEP = re.compile(r'\w+\[\?\(@\.\w+=="[^"]*"\)\]|[^.]+')


def printer_columns(crd_path: Path) -> list[dict[str, Any]]:
    """The additionalPrinterColumns of the storage version, plus NAME (and NAMESPACE) as kubectl adds."""
    crd = yaml.safe_load(crd_path.read_text())
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    return list(version.get("additionalPrinterColumns") or [])


def evaluate(body: Mapping[str, Any], path: str) -> Any:
    """Evaluate a printer-column JSONPath against a body; None when any step is missing."""
    current: Any = body
    for step in _STEP.findall(path):
        if current is None:
            return None
        match = _FILTER.match(step)
        if match:
            items = current.get(match["list"]) if isinstance(current, Mapping) else None
            current = next(
                (i for i in items or () if isinstance(i, Mapping) and str(i.get(match["key"])) == match["value"]),
                None,
            )
        elif isinstance(current, Mapping):
            current = current.get(step)
        else:
            return None
    return current


def _age(value: Any, now: datetime.datetime) -> str:
    try:
        then = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render(
    bodies: Sequence[Mapping[str, Any]],
    columns: Sequence[Mapping[str, Any]],
    *,
    namespaced: bool = True,
    now: datetime.datetime | None = None,
) -> str:
    """A kubectl-style table (NAMESPACE, NAME, then the CRD's columns)."""
    now = now or datetime.datetime.now(datetime.UTC)
    header = (["NAMESPACE"] if namespaced else []) + ["NAME"] + [str(c["name"]).upper() for c in columns]
    rows = [header]
    for body in bodies:
        meta = body.get("metadata") or {}
        row = ([str(meta.get("namespace", ""))] if namespaced else []) + [str(meta.get("name", ""))]
        for column in columns:
            value = evaluate(body, str(column["jsonPath"]))
            if column.get("type") == "date" and value:
                row.append(_age(value, now))
            else:
                row.append("<none>" if value in (None, "") else str(value))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows)
