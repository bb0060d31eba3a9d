"""Tenants for the multi-tenancy e2e tests (test_tenancy.py, test_lockdown.py): one namespace each, with its own
ServiceAccount and Role, HelmRepository (with a credentials Secret), HelmRelease, GitHub token Secret and
UpgraderConfig, all on one shared GitOps repository whose manifests live under `<namespace>/`.

A tenant's Role is what the README tells a tenant to create for lockdown: `get` on the Secrets of its namespace and
`list` on its HelmReleases; `secrets=False` leaves `get` out (the account may list releases but read no Secret), a
list of names limits it to those Secrets.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluxcd_helm_upgrader.testkit import github as standin
from fluxcd_helm_upgrader.testkit.demo import charts, fleet
from tests.e2e import backends, prs

TOKEN = "ghp_TENANT0123456789abcdefTENANT0123456789"
REPOSITORY = "acme/fleet"
CHARTS = {"podinfo": ["6.5.0", "6.7.1"]}


def release_manifest(namespace: str, name: str = "podinfo", version: str = "6.5.0") -> str:
    return f"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: {namespace}
spec:
  interval: 10m
  chart:
    spec:
      chart: podinfo
      version: "{version}"
      sourceRef:
        kind: HelmRepository
        name: charts
"""


def seed_fleet(root: Path, namespaces: Iterable[str]) -> str:
    """A bare repository with `<namespace>/podinfo.yaml` for each tenant; its file:// URL."""
    return fleet.seed(root, {f"{ns}/podinfo.yaml": release_manifest(ns) for ns in namespaces})


def secret(namespace: str, name: str, data: Mapping[str, str]) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque", "data": encoded}  # fmt: skip


def account_objects(
    namespace: str, account: str, *, secrets: bool | Iterable[str] = True
) -> list[dict[str, Any]]:
    """The tenant's ServiceAccount, its Role (get Secrets, list HelmReleases) and the RoleBinding; `secrets` may
    name the only Secrets the account may get."""
    rules: list[dict[str, Any]] = [
        {"apiGroups": ["helm.toolkit.fluxcd.io"], "resources": ["helmreleases"], "verbs": ["get", "list", "watch"]}
    ]
    if secrets:
        rules.append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})
        if not isinstance(secrets, bool):
            rules[-1]["resourceNames"] = list(secrets)
    meta = {"name": f"{account}-upgrader", "namespace": namespace}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account, "namespace": namespace}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": meta["name"]},
         "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]},
    ]  # fmt: skip


def flux_objects(namespace: str, chart_url: str) -> list[dict[str, Any]]:
    """The tenant's HelmRepository `charts` (credentials in Secret `repo-auth`) and HelmRelease `podinfo` 6.5.0."""
    return [
        secret(namespace, "repo-auth", {"username": f"{namespace}-reader", "password": f"{namespace}-password"}),
        {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
         "metadata": {"name": "charts", "namespace": namespace},
         "spec": {"url": chart_url, "interval": "10m", "secretRef": {"name": "repo-auth"}}},
        fleet.release(namespace, "podinfo", "podinfo", "6.5.0", repository="charts", repository_namespace=namespace),
    ]  # fmt: skip


@dataclass
class Tenants:
    local: backends.Cluster
    charts: charts.ChartServer
    github: standin.GitHubStandIn
    git_url: str

    def config(
        self, namespace: str, *, account: str | None = None, namespaces: Iterable[str] | None = None, **spec: Any
    ) -> dict[str, Any]:
        """The tenant's UpgraderConfig `fleet`: its releases (or `namespaces`), PRs with its own token Secret."""
        body: dict[str, Any] = {
            "apiVersion": "helmupgrader.io/v1alpha1",
            "kind": "UpgraderConfig",
            "metadata": {"name": "fleet", "namespace": namespace},
            "spec": {
                "interval": "30m",
                "scope": {"clusterWide": False, "namespaces": list(namespaces or [namespace])},
                "git": {"url": self.git_url, "branch": "main"},
                "pullRequests": {"provider": "github", "apiURL": self.github.api_url, "repository": REPOSITORY,
                                 "secretRef": {"name": "github"}},
                **spec,
            },
        }  # fmt: skip
        if account:
            body["spec"]["serviceAccountName"] = account
        return body

    def add(self, namespace: str, account: str | None = None, *, secrets: bool | Iterable[str] = True) -> None:
        """A tenant: its account (when given), Flux objects and GitHub token, but no UpgraderConfig yet."""
        for body in account_objects(namespace, account, secrets=secrets) if account else []:
            self.local.apply(body)
        for body in flux_objects(namespace, self.charts.repo_url("tenants")):
            self.local.apply(body)
        self.local.apply(secret(namespace, "github", {"token": TOKEN}))

    def ready(self, namespace: str) -> dict[str, Any] | None:
        body = self.local.get("upgraderconfigs", namespace, "fleet")
        for item in ((body or {}).get("status") or {}).get("conditions") or ():
            if item.get("type") == "Ready":
                return dict(item)
        return None

    def phase(self, namespace: str, name: str) -> str | None:
        return ((self.local.get("upgradeproposals", namespace, name) or {}).get("status") or {}).get("phase")

    def heads(self) -> list[str]:
        """The PRs' branches without the edit's hash (`prs.readable`): `<prefix><tenant directory>/podinfo`."""
        return [prs.readable(p.head) for p in self.github.pull_requests(REPOSITORY)]


@contextlib.asynccontextmanager
async def tenants(
    tmp_path: Path, namespaces: Iterable[str], rules: list[dict[str, Any]] | None = None
) -> AsyncIterator[Tenants]:
    """The shared chart server, GitHub stand-in and fleet repository, and the test's cluster (`rules`: the
    operator's permissions, e.g. the lockdown ClusterRole's)."""
    git_url = seed_fleet(tmp_path, namespaces)
    server = charts.ChartServer()
    server.repo("tenants", CHARTS)
    await server.start()
    try:
        async with (
            standin.GitHubStandIn(token=TOKEN, repositories=(REPOSITORY,)) as github,
            backends.cluster(tmp_path, rules=rules) as local,
        ):
            yield Tenants(local, server, github, git_url)
    finally:
        await server.stop()
