"""`fluxcd-helm-upgrader scan`: a one-shot, read-only report of outdated HelmReleases, like Nova.

Uses the same pieces as the operator's cycle (snapshots of the Flux objects, one fetch per repository, the pure
decision) but needs no UpgraderConfig and writes nothing: it lists the Flux kinds with the caller's kubeconfig and
prints a table (or JSON). `--exit-code` makes it exit 1 when something is outdated, for CI jobs. The same command
with `--path DIR` scans a checkout instead of a cluster (`repository_scanning`), reusing `policy_spec`, `rows` and
`render` from here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import aiohttp
from kubernetes_asyncio import client

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader import kube
from fluxcd_helm_upgrader.checking import decisions
from fluxcd_helm_upgrader.cycles import running
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.sources import helm_http, oci
from fluxcd_helm_upgrader.structs import flux, kinds

SNAPSHOTS: tuple[tuple[kinds.Kind, str, Callable[[Mapping[str, Any]], Any]], ...] = (
    (kinds.HELM_RELEASE, "releases", flux.helm_release),
    (kinds.HELM_REPOSITORY, "helm_repositories", flux.helm_repository),
    (kinds.OCI_REPOSITORY, "oci_repositories", flux.oci_repository),
    (kinds.HELM_CHART, "helm_charts", flux.helm_chart),
    (kinds.KUSTOMIZATION, "kustomizations", flux.kustomization),
)


async def _list(api: client.CustomObjectsApi, kind: kinds.Kind, namespaces: Sequence[str]) -> list[dict[str, Any]]:
    if not namespaces:
        result = await api.list_cluster_custom_object(kind.group, kind.version, kind.plural)
        return list(result.get("items") or [])
    items: list[dict[str, Any]] = []
    for namespace in namespaces:
        result = await api.list_namespaced_custom_object(kind.group, kind.version, namespace, kind.plural)
        items.extend(result.get("items") or [])
    return items


async def view_of(api: client.ApiClient, namespaces: Sequence[str]) -> FluxView:
    """Snapshots of every Flux object the scan needs, from the API (a kind whose CRD is absent is empty).

    With namespaces given, releases come from those namespaces and sources from those plus every namespace a
    release refers to (HelmRepositories usually live in flux-system)."""
    objects = client.CustomObjectsApi(api)
    fields: dict[str, dict[tuple[str, str], Any]] = {}
    wanted = list(namespaces)
    for kind, field, snapshot in SNAPSHOTS:
        try:
            bodies = await _list(objects, kind, wanted)
        except client.exceptions.ApiException as error:
            if error.status != 404:  # 404: that Flux controller (and its CRD) is not installed
                raise
            bodies = []
        fields[field] = {(b["metadata"].get("namespace", ""), b["metadata"]["name"]): snapshot(b) for b in bodies}
        if kind is kinds.HELM_RELEASE and namespaces:
            referenced = {r.source.namespace for r in fields[field].values() if r.source is not None}
            wanted = sorted(set(namespaces) | referenced)
    return FluxView(**fields)


def policy_spec(
    *, include_prerelease: bool, allowed_updates: str, namespaces: Sequence[str], minimum_release_age: str = ""
) -> config_.UpgraderConfigSpec:
    """An UpgraderConfig spec carrying only scope and policy (the scan touches no Git repository)."""
    return config_.parse(
        {
            "git": {"url": "file:///dev/null"},  # required by the schema; never used by a scan
            "pullRequests": {"provider": "none"},
            "scope": {"clusterWide": True}
            if not namespaces
            else {"clusterWide": False, "namespaces": list(namespaces)},
            "policy": {"includePrerelease": include_prerelease, "allowedUpdates": allowed_updates,
                       "minimumReleaseAge": minimum_release_age},
        }
    )


def rows(outcome: running.Outcome) -> list[dict[str, str]]:
    result = []
    for checked in outcome.checked:
        decision = checked.decision
        result.append(
            {
                "namespace": checked.release.namespace,
                "name": checked.release.name,
                "chart": checked.release.chart or "",
                "current": checked.release.version or "*",
                "target": decision.target or "",
                "newest": decision.newest or decision.current_resolved or "",
                "status": "outdated" if decision.verdict is decisions.Verdict.PROPOSE else str(decision.verdict.value),
                "message": decision.message,
            }
        )
    for failed in outcome.failed:
        result.append(
            {
                "namespace": failed.release.namespace,
                "name": failed.release.name,
                "chart": failed.release.chart or "",
                "current": failed.release.version or "*",
                "target": "",
                "newest": "",
                "status": failed.failure.reason,
                "message": failed.failure.message,
            }
        )
    return sorted(result, key=lambda r: (r["namespace"], r["name"]))


COLUMNS = ("namespace", "name", "chart", "current", "target", "status")


def render(table: Sequence[Mapping[str, Any]], columns: Sequence[str] = COLUMNS) -> str:
    cells = [[c.upper() for c in columns]] + [[str(row[c] or "-") for c in columns] for row in table]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join("   ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells)


async def main(
    *,
    namespaces: Sequence[str],
    include_prerelease: bool,
    allowed_updates: str,
    output: str,
    exit_code: bool,
    out: TextIO,
    minimum_release_age: str = "",
) -> int:
    configuration = await kube.load_configuration()
    async with client.ApiClient(configuration=configuration) as api:
        view = await view_of(api, namespaces)
        spec = policy_spec(
            include_prerelease=include_prerelease, allowed_updates=allowed_updates, namespaces=namespaces,
            minimum_release_age=minimum_release_age,
        )
        async with helm_http.IndexFetcher() as fetcher, aiohttp.ClientSession() as session:
            outcome = await running.run(
                spec, view, fetcher=fetcher, secrets_api=client.CoreV1Api(api), oci_client=oci.OciClient(session)
            )
    table = rows(outcome)
    print(json.dumps(table, indent=2) if output == "json" else render(table), file=out)
    return 1 if exit_code and outcome.outdated else 0
