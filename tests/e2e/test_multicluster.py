"""Two clusters, one repository: one operator per cluster, each with its own `UPGRADER_CLUSTER_NAME`.

The layout is flux2-kustomize-helm-example's (`clusters/staging`, `clusters/production`, `apps/base/podinfo`
and the `apps/staging`, `apps/production` overlays), with podinfo pinned to 6.5.0. Two clusters of the running
backend (two emulators, or two real API servers), one bare repository, one GitHub stand-in, and each operator as
its own process, as in production. What a reviewer sees:

* the version pinned in each overlay: one PR per overlay, each a one-line diff in its overlay's file, and the same
  two PRs (same branch tips, no new PR, no push) after several more cycles of both operators;
* the version pinned in the shared base: exactly one PR, a one-line diff in the base, whose body says
  "requested by:" both clusters, followed by the proposals of both clusters; a newer chart version moves that
  same PR and branch to the newer target (the older edit is updated, never a second PR).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from fluxcd_helm_upgrader.testkit import github as standin
from fluxcd_helm_upgrader.testkit.demo import fleet
from fluxcd_helm_upgrader.testkit.demo import running as demo
from tests import builders
from tests.e2e import backends, harness, installs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]

TOKEN = "ghp_multicluster0123456789abcdefMULTI0123"
FLUX = fleet.FLUX_NAMESPACE
CLUSTERS = ("staging", "production")
PROPOSAL = "podinfo.podinfo"  # <release namespace>.<release name>
CYCLES = 3  # more cycles of both operators after the PRs are open: nothing may move

KUSTOMIZATION = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./apps/{cluster}
  prune: true
"""
BASE_RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: podinfo
spec:
  interval: 50m
  releaseName: podinfo
  chart:
    spec:
      chart: podinfo{version}
      sourceRef:
        kind: HelmRepository
        name: podinfo
  values:
    redis:
      enabled: true
"""
OVERLAY_KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base/podinfo
patches:
  - path: podinfo-values.yaml
    target:
      kind: HelmRelease
"""
OVERLAY_VALUES = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: podinfo
spec:{chart}
  values:
    httpRoute:
      hostnames:
        - podinfo.{cluster}
"""
PIN = '\n      version: "6.5.0"'
OVERLAY_PIN = "\n  chart:\n    spec:\n      version: \"6.5.0\""


def _files(*, pinned_in_base: bool) -> dict[str, str]:
    files = {
        "apps/base/podinfo/kustomization.yaml": (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: podinfo\n"
            "resources:\n  - namespace.yaml\n  - repository.yaml\n  - release.yaml\n"
        ),
        "apps/base/podinfo/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n",
        "apps/base/podinfo/repository.yaml": (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n"
            "  namespace: podinfo\nspec:\n  interval: 5m\n  url: https://stefanprodan.github.io/podinfo\n"
        ),
        "apps/base/podinfo/release.yaml": BASE_RELEASE.format(version=PIN if pinned_in_base else ""),
    }
    for cluster in CLUSTERS:
        files[f"clusters/{cluster}/apps.yaml"] = KUSTOMIZATION.format(cluster=cluster)
        files[f"apps/{cluster}/kustomization.yaml"] = OVERLAY_KUSTOMIZATION
        chart = "" if pinned_in_base else OVERLAY_PIN
        files[f"apps/{cluster}/podinfo-values.yaml"] = OVERLAY_VALUES.format(chart=chart, cluster=cluster)
    return files


def _cluster_objects(cluster: str, chart_url: str, git_url: str, api_url: str) -> list[dict[str, Any]]:
    """What Flux reconciled from `clusters/<cluster>` holds, plus the operator's config and its token."""
    labels = {"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": FLUX}
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": FLUX},
        "spec": {"interval": "1h", "path": f"./apps/{cluster}", "prune": True,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
    }  # fmt: skip
    repository = {
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": "podinfo", "namespace": "podinfo", "labels": labels},
        "spec": {"url": chart_url, "interval": "5m"},
    }  # fmt: skip
    release = fleet.release(
        "podinfo", "podinfo", "podinfo", "6.5.0", labels=labels, repository="podinfo", repository_namespace="podinfo"
    )
    config = demo.upgrader_config(git_url)
    config["metadata"]["name"] = "fleet"
    config["spec"]["pullRequests"] = {
        "provider": "github", "apiURL": api_url, "repository": "acme/fleet", "secretRef": {"name": "github"},
    }  # fmt: skip
    return [kustomization, repository, release, config, builders.secret("github", {"token": TOKEN})]


class Fleet:
    """The two clusters, the repository and the stand-in of one test."""

    def __init__(
        self, clusters: dict[str, backends.Cluster], github: standin.GitHubStandIn, git_url: str, charts: Any
    ) -> None:
        self.clusters, self.github, self.git_url, self.charts = clusters, github, git_url, charts

    def proposal(self, cluster: str) -> dict[str, Any]:
        return self.clusters[cluster].get("upgradeproposals", FLUX, PROPOSAL) or {}

    def status(self, cluster: str) -> dict[str, Any]:
        return dict(self.proposal(cluster).get("status") or {})

    def all_open(self) -> bool:
        return all(self.status(c).get("phase") == "Open" for c in CLUSTERS)

    async def wait_open(self) -> None:
        """Both proposals Open; on a timeout the message carries both statuses and the operators' logs' tails."""
        try:
            await harness.wait_for(self.all_open, timeout=90, what="both proposals Open")
        except AssertionError as error:
            states = {c: (self.status(c).get("phase"), self.status(c).get("message")) for c in CLUSTERS}
            raise AssertionError(f"{error}: {states}") from None

    def tips(self) -> dict[str, str]:
        bare = Path(self.git_url.removeprefix("file://"))
        out = fleet.git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads", cwd=bare)
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def creates(self) -> int:
        """PRs created. Two operators racing for one branch may both POST; GitHub answers the later one 422 ("A pull
        request already exists") and that operator adopts the PR: not a second PR, so not counted."""
        posts = [c for c in self.github.calls if c.method == "POST" and c.path.endswith("/pulls")]
        return len([c for c in posts if c.status == 201])

    def events(self, cluster: str, type_: str = "Normal") -> list[str]:
        return [e["reason"] for e in self.clusters[cluster].list("events", FLUX)
                if e["involvedObject"]["name"] == PROPOSAL and e.get("type") == type_]  # fmt: skip

    async def until(self, done: Callable[[], bool], what: str, attempts: int = 3) -> None:
        """`done()` holds now, or after a cycle of both operators (two operators that wrote the PR body at the same
        moment: the one whose name was lost joins again on its next follow); fail after `attempts` cycles."""
        for attempt in range(attempts + 1):
            with contextlib.suppress(AssertionError):
                await harness.wait_for(done, timeout=10, what=what)
                return
            if attempt < attempts:
                await self.cycle(f"{what}-{attempt}")
        raise AssertionError(f"{what}: not reached after {attempts} requested cycles of both operators")

    async def cycle(self, stamp: str) -> None:
        """Ask both operators for a cycle now (as `flux reconcile` would), wait until both ran, and give their Git
        workers time to act on it."""
        for cluster in self.clusters.values():
            body = cluster.get("upgraderconfigs", FLUX, "fleet")
            assert body is not None
            body["metadata"].setdefault("annotations", {})["reconcile.fluxcd.io/requestedAt"] = stamp
            cluster.apply(body)
        for name, cluster in self.clusters.items():
            await harness.wait_for(
                lambda c=cluster: ((c.get("upgraderconfigs", FLUX, "fleet") or {}).get("status") or {}).get(
                    "lastHandledReconcileAt") == stamp,
                timeout=30, what=f"{name} cycle {stamp}",
            )  # fmt: skip
        await asyncio.sleep(2.0)  # the worker runs after the cycle: a push or PR call would land by now


@contextlib.asynccontextmanager
async def _fleet(tmp_path: Path, *, pinned_in_base: bool) -> AsyncIterator[Fleet]:
    git_url = fleet.seed(tmp_path, _files(pinned_in_base=pinned_in_base))
    (tmp_path / "staging").mkdir()
    charts = demo.chart_server()
    await charts.start()
    try:
        async with (
            standin.GitHubStandIn(token=TOKEN, repositories=("acme/fleet",)) as github,
            backends.cluster(tmp_path / "staging") as staging,
            backends.another_cluster(tmp_path / "production") as production,
        ):
            clusters: dict[str, backends.Cluster] = {"staging": staging, "production": production}
            for name, cluster in clusters.items():
                for body in _cluster_objects(name, charts.repo_url("demo"), git_url, github.api_url):
                    cluster.apply(body)
            async with contextlib.AsyncExitStack() as operators:
                for name, cluster in clusters.items():
                    workdir = tmp_path / f"operator-{name}"
                    workdir.mkdir()
                    settings = {"UPGRADER_CLUSTER_NAME": name, "UPGRADER_NAMESPACE": FLUX}
                    await operators.enter_async_context(installs.operator_process(cluster.kubeconfig, workdir,
                                                                                  settings=settings))
                yield Fleet(clusters, github, git_url, charts)
    finally:
        await charts.stop()


def _changed(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _files_of(diff: str) -> list[str]:
    return re.findall(r"^diff --git a/(\S+) ", diff, flags=re.MULTILINE)


async def test_one_pr_per_overlay_stable_over_cycles_of_both_operators(tmp_path: Path) -> None:
    async with _fleet(tmp_path, pinned_in_base=False) as f:
        await f.wait_open()
        branches = {c: f.status(c)["pullRequest"]["branch"] for c in CLUSTERS}
        assert branches["staging"] != branches["production"]
        pulls = {p.head: p for p in f.github.pull_requests()}
        assert sorted(pulls) == sorted(branches.values())
        for cluster in CLUSTERS:
            branch = branches[cluster]
            assert branch.startswith(f"helm-upgrader/apps/{cluster}/podinfo"), branch
            diff = fleet.branch_diff(f.git_url, branch)
            assert _files_of(diff) == [f"apps/{cluster}/podinfo-values.yaml"]
            assert _changed(diff) == ['-      version: "6.5.0"', '+      version: "6.7.1"']
            pull = pulls[branch]
            assert f.status(cluster)["pullRequest"]["number"] == pull.number
            assert f.status(cluster)["manifest"] == {"path": f"apps/{cluster}/podinfo-values.yaml", "line": 9}
            assert _requested_by(pull.body) == {cluster}
        tips = f.tips()

        for round_ in range(CYCLES):
            await f.cycle(f"again-{round_}")
            assert f.all_open()
            assert f.tips() == tips, "no push after the PRs are open"
            assert len(f.github.pull_requests()) == 2
        assert f.creates() == 2
        for cluster in CLUSTERS:
            assert f.status(cluster)["pullRequest"]["branch"] == branches[cluster]
            assert f.events(cluster).count("PullRequestOpened") == 1
            assert f.events(cluster, "Warning") == []


async def test_a_shared_base_line_yields_one_pr_naming_both_clusters(tmp_path: Path) -> None:
    async with _fleet(tmp_path, pinned_in_base=True) as f:
        await f.wait_open()
        pulls = f.github.pull_requests()
        assert len(pulls) == 1
        pull = pulls[0]
        assert pull.head.startswith("helm-upgrader/apps/base/podinfo/podinfo"), pull.head
        for cluster in CLUSTERS:
            assert f.status(cluster)["pullRequest"]["number"] == pull.number
            assert f.status(cluster)["pullRequest"]["branch"] == pull.head
            assert f.status(cluster)["manifest"]["path"] == "apps/base/podinfo/release.yaml"
        diff = fleet.branch_diff(f.git_url, pull.head)
        assert _files_of(diff) == ["apps/base/podinfo/release.yaml"]
        assert _changed(diff) == ['-      version: "6.5.0"', '+      version: "6.7.1"']
        await f.until(lambda: _requested_by(f.github.pull_requests()[0].body) == {"staging", "production"},
                      what="the PR names both clusters")  # fmt: skip
        tips = f.tips()

        for round_ in range(CYCLES):
            await f.cycle(f"again-{round_}")
            assert f.all_open()
            assert f.tips() == tips, "no push after the PR is open"
            assert len(f.github.pull_requests()) == 1
            assert _requested_by(f.github.pull_requests()[0].body) == {"staging", "production"}
        assert f.creates() == 1
        opened = [f.events(c).count("PullRequestOpened") for c in CLUSTERS]
        assert sum(opened) == 1, opened
        assert [f.events(c, "Warning") for c in CLUSTERS] == [[], []]

        # A newer version: the older target on the shared branch is updated by the newer, still one PR for both.
        f.charts.repos["demo"].add("podinfo", "6.8.0")
        await f.until(
            lambda: f.all_open() and all(f.proposal(c)["spec"]["targetVersion"] == "6.8.0" for c in CLUSTERS)
            and f.github.pull_requests()[0].title == "Update podinfo to 6.8.0 in podinfo/podinfo",
            what="both clusters on 6.8.0",
        )  # fmt: skip
        await f.until(lambda: _requested_by(f.github.pull_requests()[0].body) == {"staging", "production"},
                      what="the updated PR names both clusters")  # fmt: skip
        assert len(f.github.pull_requests()) == 1 and f.creates() == 1
        diff = fleet.branch_diff(f.git_url, pull.head)
        assert _files_of(diff) == ["apps/base/podinfo/release.yaml"]
        assert _changed(diff) == ['-      version: "6.5.0"', '+      version: "6.8.0"']
        assert {f.status(c)["pullRequest"]["number"] for c in CLUSTERS} == {pull.number}
        assert [f.events(c, "Warning") for c in CLUSTERS] == [[], []]


def _requested_by(body: str | None) -> set[str]:
    """The clusters named on the PR body's visible "requested by:" line."""
    match = re.search(r"^\**requested by:?\**:?\s*(.+)$", body or "", flags=re.IGNORECASE | re.MULTILINE)
    if match is None:
        return set()
    return {name.strip(" `*") for name in match.group(1).split(",") if name.strip(" `*")}
