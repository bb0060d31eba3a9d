"""`fluxcd-helm-upgrader scan --path DIR`: the CI form of the operator, on a checkout, without a cluster.

For a repository that cannot hand a cluster credential to CI. Each `--path DIR` is built the way Flux's
kustomize-controller builds a Kustomization's `spec.path` (`gitops.rendering`: resources, components, patches, or
every YAML file of a plain directory); `--sources DIR` adds chart sources kept elsewhere. The HelmReleases found are
checked by the same core as the operator (`cycles.running`: one index or tag list per source, the pure decision,
the policy flags), and each row names the file and line that sets the version, found as the operator finds it
(`gitops.locating`, cluster-aware from DIR: an overlay's patch wins over the base). `--risk` adds the upgrade risk
(`proposals.risking`, both charts downloaded; the cluster's version only from `--kube-version`), `--write` applies
the one-line edits in place (`proposals.changes`: the operator's edit, verified by re-parsing), `--exit-code`
exits 1 when something is outdated.

Nothing reads a kubeconfig or a Secret: a source with `secretRef` is reported as not readable (`AuthFailed`), and
objects without a namespace land in `default`, as kubectl would apply them. The checkout root is the nearest
directory above the first DIR holding `.git`, else the current directory; every DIR must be inside it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from fluxcd_helm_upgrader import scanning
from fluxcd_helm_upgrader.checking import decisions
from fluxcd_helm_upgrader.cycles import jobs, running, subjects
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.gitops import index, locating, rendering
from fluxcd_helm_upgrader.proposals import changes, risking
from fluxcd_helm_upgrader.sources import charts, helm_http, oci, secrets
from fluxcd_helm_upgrader.structs import flux, kinds, proposals

DEFAULT_NAMESPACE = "default"
_SNAPSHOTS: dict[str, tuple[str, Callable[[Mapping[str, Any]], Any]]] = {
    kinds.HELM_RELEASE.kind: ("releases", flux.helm_release),
    kinds.HELM_REPOSITORY.kind: ("helm_repositories", flux.helm_repository),
    kinds.OCI_REPOSITORY.kind: ("oci_repositories", flux.oci_repository),
    kinds.HELM_CHART.kind: ("helm_charts", flux.helm_chart),
}
_GROUPS = {kinds.HELM_RELEASE.group, kinds.HELM_REPOSITORY.group}


class ScanError(Exception):
    """The command line names something unusable (a missing directory, one outside the checkout)."""


class NoSecrets:
    """The scan runs without a cluster: every Secret read fails with a message saying so."""

    async def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        raise secrets.SourceAuthError(
            f"secret {namespace}/{name}: scan --path reads no Secrets (there is no cluster); only sources without "
            "secretRef can be checked"
        )


@dataclass
class Built:
    """The Flux objects the directories produce, and which directory produced each (for the locator)."""

    view: FluxView
    directory_of: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (kind, namespace, name) -> dir
    notes: list[str] = field(default_factory=list)


def checkout_root(first: Path) -> Path:
    """The nearest directory holding `.git` at or above `first`, else the current directory."""
    start = first.resolve()
    return next((d for d in (start, *start.parents) if (d / ".git").exists()), Path.cwd().resolve())


def relative_dir(root: Path, directory: Path) -> str:
    resolved = directory.resolve()
    if not resolved.is_dir():
        raise ScanError(f"{directory}: not a directory")
    if resolved != root and root not in resolved.parents:
        raise ScanError(f"{directory}: outside the checkout root {root} (run the scan from the repository)")
    return resolved.relative_to(root).as_posix() or "."


def build(root: Path, paths: Sequence[str], sources: Sequence[str]) -> Built:
    """Render each directory and keep the Flux kinds; releases come from `paths` only."""
    fields: dict[str, dict[tuple[str, str], Any]] = {name: {} for name, _ in _SNAPSHOTS.values()}
    built = Built(FluxView())
    for directory, releases_too in [*((p, True) for p in paths), *((s, False) for s in sources)]:
        renderer = rendering.Renderer(root)
        for item in renderer.render(root / directory):
            doc = item.doc
            kind, group = str(doc.get("kind")), str(doc.get("apiVersion", "")).rpartition("/")[0]
            if kind not in _SNAPSHOTS or group not in _GROUPS or (kind == "HelmRelease" and not releases_too):
                continue
            doc["metadata"].setdefault("namespace", DEFAULT_NAMESPACE)
            field_name, snapshot = _SNAPSHOTS[kind]
            value = snapshot(doc)
            fields[field_name][(value.namespace, value.name)] = value
            built.directory_of[(kind, value.namespace, value.name)] = directory
        built.notes.extend(f"{directory}: {note}" for note in renderer.notes)
    built.view = FluxView(**fields)
    return built


@dataclass
class Row:
    """One release's line of the report, beyond what `scanning.rows` says."""

    file: str = ""
    line: int | None = None
    problem: str = ""
    risk: dict[str, Any] | None = None


async def main(
    *,
    paths: Sequence[str],
    sources: Sequence[str],
    namespaces: Sequence[str],
    include_prerelease: bool,
    allowed_updates: str,
    minimum_release_age: str,
    output: str,
    exit_code: bool,
    risk: bool,
    write: bool,
    kube_version: str | None,
    out: TextIO,
    err: TextIO = sys.stderr,
) -> int:
    try:
        root = checkout_root(Path(paths[0]))
        dirs = [relative_dir(root, Path(p)) for p in paths]
        source_dirs = [relative_dir(root, Path(s)) for s in sources]
    except ScanError as error:
        print(f"error: {error}", file=err)
        return 2
    built = build(root, dirs, source_dirs)
    for note in built.notes:
        print(f"note: {note}", file=err)
    spec = scanning.policy_spec(include_prerelease=include_prerelease, allowed_updates=allowed_updates,
                                namespaces=namespaces, minimum_release_age=minimum_release_age)  # fmt: skip
    async with helm_http.IndexFetcher() as fetcher, aiohttp.ClientSession() as session:
        registry = oci.OciClient(session)
        outcome = await running.run(spec, built.view, fetcher=fetcher, secrets_api=NoSecrets(), oci_client=registry)
        files = index.ManifestIndex(root)  # the checkout read once for every release (issue 17)
        extra = {c.release.key: await _locate(root, built, c, write, files) for c in outcome.checked}
        if risk:
            chart_fetcher = charts.ChartFetcher(registry)
            assessor = risking.Assessor(chart_fetcher, NoSecrets(), cluster=lambda: _fixed(kube_version))
            try:
                for checked in outcome.outdated:
                    assessed = await assessor.assess(subjects.subject_for(checked), _spec(checked))
                    extra[checked.release.key].risk = assessed.to_status()
            finally:
                await chart_fetcher.close()
    table: list[dict[str, Any]] = list(scanning.rows(outcome))
    for row in table:
        found = extra.get(f"{row['namespace']}/{row['name']}", Row())
        where = f"{found.file}:{found.line}" if found.file else ""
        row.update({"file": found.file, "line": found.line, "where": where or found.problem})
        if risk:
            row.update({"risk": (found.risk or {}).get("level", ""), "riskDetails": found.risk})
    columns = (*scanning.COLUMNS, "where", *(("risk",) if risk else ()))
    print(json.dumps(table, indent=2) if output == "json" else _render(table, columns, risk), file=out)
    return 1 if exit_code and outcome.outdated else 0


async def _fixed(version: str | None) -> str | None:
    return version


def _spec(checked: running.Checked) -> proposals.ProposalSpec:
    """What the operator's proposal for `checked` would ask for (the risk names it when it cannot compare charts)."""
    release, source = checked.release, checked.source
    return proposals.ProposalSpec(
        "", release.namespace, release.name, source.chart, source.current or "*", checked.target or ""
    )


async def _locate(root: Path, built: Built, checked: running.Checked, write: bool, files: index.ManifestIndex) -> Row:
    """Where the version is set; with `write`, the one-line edit applied in place."""
    edited = checked.source.edited
    directory = built.directory_of.get((edited.kind, edited.namespace, edited.name), ".")
    outdated = checked.decision.verdict is decisions.Verdict.PROPOSE
    try:
        if outdated:
            plan = jobs.plan_for(checked)
            assert plan is not None
            where = changes.Where(root, directory, directory, None, files)
            change = await changes.prepare(plan, where, _reader(root, files))
            if write:
                for path, data in change.files.items():
                    (root / path).write_bytes(data)
                files.forget(change.files)
            return Row(change.location.path, change.location.line)
        target = locating.Target(edited.kind, edited.name, edited.namespace, edited.field, checked.source.current)
        location = locating.locate(root, target, kustomization_path=directory, search_path=directory, files=files)
        return Row(location.path, location.line)
    except (changes.ChangeError, locating.LocateError, ValueError) as error:
        return Row(problem=f"not located: {error}")


def _reader(root: Path, files: index.ManifestIndex) -> changes.Read:
    async def read(path: str) -> bytes:
        return files.data(root / path)

    return read


def _render(table: list[dict[str, Any]], columns: Sequence[str], risk: bool) -> str:
    text = scanning.render(table, columns)
    if not risk:
        return text
    lines = [text]
    for row in table:
        details = row.get("riskDetails") or {}
        for finding in details.get("findings") or ():
            path = f" {finding['path']}" if finding.get("path") else ""
            lines.append(f"  {row['namespace']}/{row['name']}: {finding['type']}{path}: {finding['message']}")
        if details.get("reason"):
            lines.append(f"  {row['namespace']}/{row['name']}: risk unknown: {details['reason']}")
    return "\n".join(lines)
