"""A small Flux fleet in a local bare Git repository, and the matching cluster objects.

Used by the offline demo and the e2e tests. The layout is the one Flux's examples use: a base HelmRelease per app
and an overlay (`apps/demo`) whose kustomization patches podinfo's chart version, so the line to change is in the
overlay patch, not in the base. The HelmReleases carry kustomize-controller's labels pointing at the Flux
Kustomization `flux-system/apps` (spec.path ./apps/demo), as they would in a real cluster.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FLUX_NAMESPACE = "flux-system"
KUSTOMIZATION = "apps"
OVERLAY = "apps/demo"

FILES: dict[str, str] = {
    "clusters/demo/apps.yaml": """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/demo
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
""",
    "apps/base/podinfo/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - release.yaml
""",
    "apps/base/podinfo/release.yaml": """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: apps
spec:
  interval: 10m
  chart:
    spec:
      chart: podinfo
      version: "6.4.1" # base pin; the overlay decides what runs
      sourceRef:
        kind: HelmRepository
        name: demo-charts
        namespace: flux-system
  values:
    replicaCount: 2
""",
    "apps/base/redis/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - release.yaml
""",
    "apps/base/redis/release.yaml": """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cache
  namespace: apps
spec:
  interval: 10m
  chart:
    spec:
      chart: redis
      version: 17.x
      sourceRef:
        kind: HelmRepository
        name: demo-charts
        namespace: flux-system
""",
    "apps/demo/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base/podinfo
  - ../base/redis
patches:
  - path: podinfo-version.yaml
""",
    "apps/demo/podinfo-version.yaml": """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: apps
spec:
  chart:
    spec:
      version: 6.5.0  # what runs in the demo cluster
""",
}

# (namespace, name, chart, version as the cluster sees it after kustomize)
RELEASES = (("apps", "podinfo", "podinfo", "6.5.0"), ("apps", "cache", "redis", "17.x"))


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        [
            "git",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "user.name=demo",
            "-c",
            "user.email=demo@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout


def seed(root: Path, files: Mapping[str, str] = FILES) -> str:
    """Create `root/fleet.git` (bare) with one commit of `files` on main; return its file:// URL."""
    work, bare = root / "fleet-work", root / "fleet.git"
    work.mkdir(parents=True)
    git("init", "-q", cwd=work)
    for path, text in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "Demo fleet", cwd=work)
    git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
    return bare.as_uri()


def cluster_objects(chart_url: str) -> list[dict[str, Any]]:
    """The Flux objects a cluster reconciled from this fleet would hold."""
    labels = {
        "kustomize.toolkit.fluxcd.io/name": KUSTOMIZATION,
        "kustomize.toolkit.fluxcd.io/namespace": FLUX_NAMESPACE,
    }
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": KUSTOMIZATION, "namespace": FLUX_NAMESPACE},
            "spec": {
                "interval": "10m",
                "path": f"./{OVERLAY}",
                "prune": True,
                "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            },
        },
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": {"name": "demo-charts", "namespace": FLUX_NAMESPACE},
            "spec": {"url": chart_url, "interval": "10m"},
        },
    ]
    for namespace, name, chart, version in RELEASES:
        objects.append(release(namespace, name, chart, version, labels=labels))
    return objects


def release(
    namespace: str,
    name: str,
    chart: str,
    version: str,
    *,
    labels: Mapping[str, str] | None = None,
    deployed: str | None = None,
    repository: str = "demo-charts",
    repository_namespace: str = FLUX_NAMESPACE,
) -> dict[str, Any]:
    """A HelmRelease from a HelmRepository; `deployed` fills status.history as helm-controller would."""
    body: dict[str, Any] = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
        "spec": {
            "interval": "10m",
            "chart": {
                "spec": {
                    "chart": chart,
                    "version": version,
                    "sourceRef": {"kind": "HelmRepository", "name": repository, "namespace": repository_namespace},
                }
            },
        },
    }
    if deployed:
        body["status"] = {"history": [deployed_snapshot(namespace, name, chart, deployed)]}
    return body


def deployed_snapshot(namespace: str, name: str, chart: str, version: str, revision: int = 1) -> dict[str, Any]:
    """One entry of a HelmRelease's status.history as helm-controller writes it (every field its CRD requires)."""
    at = "2026-01-01T00:00:00Z"
    return {
        "name": name,
        "namespace": namespace,
        "version": revision,
        "status": "deployed",
        "chartName": chart,
        "chartVersion": version,
        "appVersion": version,
        "configDigest": "sha256:" + "c" * 64,
        "digest": "sha256:" + "d" * 64,
        "firstDeployed": at,
        "lastDeployed": at,
    }


def branch_diff(bare_url: str, branch: str, base: str = "main") -> str:
    """`git diff base...branch` in the bare repository (what a reviewer sees in the PR)."""
    bare = Path(bare_url.removeprefix("file://"))
    return git("diff", f"{base}...{branch}", cwd=bare)


def branches(bare_url: str) -> list[str]:
    bare = Path(bare_url.removeprefix("file://"))
    out = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=bare)
    return [line for line in out.splitlines() if line]
