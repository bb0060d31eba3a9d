"""What `kubectl get` shows in the demo: the real kubectl against the emulator, or the same table printed here.

`demo.running` calls `kubectl_get()`. Where kubectl is installed, it runs it (as a subprocess of this event loop,
which also serves the emulator) with the demo's kubeconfig and a private discovery cache, and returns its output
verbatim. Without kubectl, `render()` prints the emulator's own server-side Table (`emulator.tables`, the same
columns and cells kubectl would receive) with kubectl's printer rules: NAMESPACE first with `-A`, headers in upper
case, columns of priority 0 only, nothing for a null cell (kubectl's printTable skips nil cells: a proposal
without `status.risk` shows an empty RISK), and tabwriter spacing (three spaces of padding, a
minimum cell width of six, the last column unpadded). The caller says which one the user is looking at.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator, jsonpath, tables

PADDING, MIN_WIDTH = 3, 6  # kubectl's tabwriter settings
FALLBACK_NOTE = "(kubectl is not installed: the demo prints the server's table the way kubectl would)"


@dataclass(frozen=True)
class Shown:
    """One command's output, whether the real kubectl produced it, and its exit code."""

    text: str
    real: bool
    code: int = 0


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return jsonpath.text(value) if isinstance(value, bool | float) else str(value)


def render(table: Mapping[str, Any], *, all_namespaces: bool) -> str:
    """A meta.k8s.io Table as `kubectl get` prints it."""
    definitions = list(table.get("columnDefinitions") or [])
    shown = [i for i, column in enumerate(definitions) if int(column.get("priority") or 0) == 0]
    header = [str(definitions[i]["name"]).upper() for i in shown]
    rows = []
    for row in table.get("rows") or []:
        cells = [_cell(row["cells"][i]) for i in shown]
        if all_namespaces:
            metadata = (row.get("object") or {}).get("metadata") or {}
            cells.insert(0, str(metadata.get("namespace", "")))
        rows.append(cells)
    if not rows:
        return "No resources found"
    lines = [(["NAMESPACE"] if all_namespaces else []) + header, *rows]
    widths = [max(max(len(line[i]) for line in lines) + PADDING, MIN_WIDTH) for i in range(len(lines[0]) - 1)]
    return "\n".join(
        "".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + line[-1] for line in lines
    )


def table_of(api: ApiEmulator, plural: str, namespace: str | None = None) -> dict[str, Any]:
    """The Table the emulator would answer `kubectl get <plural>` with (in process, no HTTP)."""
    resource = api.resource(plural)
    items = api.list(plural, namespace)
    return tables.table(resource, items, resource_version=str(api.store.rv))


async def run_kubectl(binary: str, kubeconfig: Path, cache: Path, args: Sequence[str]) -> tuple[int, str]:
    """Run kubectl against the emulator without blocking the loop that serves it; (exit code, stdout+stderr)."""
    process = await asyncio.create_subprocess_exec(
        binary,
        f"--kubeconfig={kubeconfig}",
        f"--cache-dir={cache}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, output.decode(errors="replace").rstrip()


async def kubectl_get(api: ApiEmulator, kubeconfig: Path, plural: str, *, kubectl: str | None = None) -> Shown:
    """`kubectl get <plural> -A` by the real kubectl when found on PATH, else `render()`d here."""
    binary = kubectl or shutil.which("kubectl")
    if binary is not None:
        code, text = await run_kubectl(binary, kubeconfig, kubeconfig.parent / "kube-cache", ["get", plural, "-A"])
        return Shown(text, real=True, code=code)  # a failure is shown as kubectl printed it, never papered over
    return Shown(render(table_of(api, plural), all_namespaces=True), real=False)
