"""A Git worker's world for the action tests: a real bare remote reached over file:// holding one HelmRelease, a
workspace, a fake forge, the proposal store and the events, and `job()` for the check cycle's side of a job."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fluxcd_helm_upgrader import config, metrics
from fluxcd_helm_upgrader.gitops import repos
from fluxcd_helm_upgrader.proposals import access, publishing, targets
from fluxcd_helm_upgrader.proposals.worker import Job
from tests import builders
from tests.fakes import Events, FakeForge, FakeProposals, FakeSecrets
from tests.support import remotes

RELEASE = b"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: apps
spec:
  chart:
    spec:
      chart: podinfo
      version: 6.5.0 # pinned by the team
"""
BRANCH = "helm-upgrader/apps/podinfo"
TITLE = "Update podinfo to 6.7.1 in apps/podinfo"


@dataclass
class World:
    remote: remotes.Remote
    workspace: repos.Workspace
    store: FakeProposals
    events: Events
    forge: FakeForge = field(default_factory=FakeForge)

    @functools.cached_property
    def ctx(self) -> publishing.Context:
        return publishing.Context(api=None, readers=FakeSecrets({}), proposals=self.store, workspace=self.workspace,  # type: ignore[arg-type]
                                  metrics=metrics.Metrics())  # fmt: skip

    def job(self, *, provider: str = "github", target: str = "6.7.1", url: str | None = None, **fields: Any) -> Job:
        prs = {"provider": provider, "repository": "acme/fleet", "labels": ["dependencies"]}
        cfg = config.parse({"git": {"url": url or self.remote.url, "branch": "main"}, "pullRequests": prs})
        plan = targets.EditPlan("HelmRelease", "apps", "podinfo", targets.RELEASE_VERSION, "6.5.0", target)
        return Job(namespace="flux-system", name="apps.podinfo", config_name="fleet", config_uid="uid-1", config=cfg,
                   edit=plan, **fields)  # fmt: skip

    def proposal(self, phase: str = "Pending", target: str = "6.7.1", **status: Any) -> dict[str, Any]:
        """The proposal, stored, as the cycle (and earlier jobs) left it."""
        body = builders.upgrade_proposal(target=target, status={"phase": phase, "message": "earlier", **status})
        self.store.objects[("flux-system", "apps.podinfo")] = body
        return body

    def pushed(self, branch: str = BRANCH) -> str:
        """The diff of `branch` on the remote against main, as a reviewer reads it."""
        return remotes.git(self.remote.bare, "diff", "main", branch)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    remote = remotes.make_remote(tmp_path, {"apps/release.yaml": RELEASE})
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=30, local_timeout=30, allow_file_urls=True)
    state = World(remote, workspace, FakeProposals(), Events(monkeypatch))
    real_forge_for = access.forge_for

    async def forge_for(core: Any, namespace: str, cfg: config.UpgraderConfigSpec) -> Any:
        # provider github: the fake; provider none: the real NoneForge.
        return state.forge if cfg.pull_requests.provider == config.Provider.GITHUB else await real_forge_for(
            core, namespace, cfg)  # fmt: skip

    monkeypatch.setattr(access, "forge_for", forge_for)
    yield state
