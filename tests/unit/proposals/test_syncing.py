"""Syncing one cycle's decisions into proposals: a write the API refuses for one release fails that release only
(status.failedReleases), and a name held by someone else's proposal is reported, never overwritten."""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader.checking import decisions
from fluxcd_helm_upgrader.cycles import running
from fluxcd_helm_upgrader.cycles.resolving import Edited, HttpChart, Origin
from fluxcd_helm_upgrader.proposals import syncing
from fluxcd_helm_upgrader.structs import flux

CONFIG = {"metadata": {"namespace": "flux-system", "name": "fleet", "uid": "uid-1"}}


def checked(name: str) -> running.Checked:
    release = flux.HelmRelease("apps", name)
    repository = flux.HelmRepository("flux-system", "charts", "https://charts.example.test")
    source = HttpChart(repository, name, "1.0.0", Origin("HelmRepository", "flux-system", "charts", repository.url),
                       Edited("HelmRelease", "apps", name, "spec.chart.spec.version", None))  # fmt: skip
    decision = decisions.Decision(decisions.Outcome.PROPOSE, "1.0.0 -> 2.0.0", target="2.0.0", newest="2.0.0")
    return running.Checked(release, source, decision, ())


class Store:
    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse
        self.created: list[str] = []

    async def create(self, namespace: str, name: str, spec: Any, owner: Any) -> dict[str, Any]:
        if name in self.refuse:
            raise ApiException(status=422, reason="Unprocessable Entity")
        self.created.append(name)
        return {"metadata": {"name": name, "namespace": namespace, "generation": 1}, "spec": dict(spec)}

    async def patch_status(self, namespace: str, name: str, status: Any) -> dict[str, Any]:
        return {"metadata": {"name": name, "namespace": namespace}, "status": dict(status)}


async def test_a_refused_write_fails_only_its_release() -> None:
    outcome = running.Outcome((checked("bad"), checked("good")), (), {})
    store = Store(refuse={"apps.bad"})
    result = await syncing.sync(store, CONFIG, outcome, [])  # type: ignore[arg-type]
    assert store.created == ["apps.good"]
    failure = result.conflicts["apps/bad"]
    assert failure.reason == "CheckFailed" and "HTTP 422" in failure.message
    reported = running.with_failures(outcome, result.conflicts)
    assert [c.release.name for c in reported.checked] == ["good"]
    assert [f.release.name for f in reported.failed] == ["bad"]


async def test_a_hand_made_proposal_with_the_same_name_is_reported_not_overwritten() -> None:
    outcome = running.Outcome((checked("podinfo"),), (), {})
    store = Store(refuse=set())
    hand_made = {"metadata": {"name": "apps.podinfo", "namespace": "flux-system"}, "spec": {"targetVersion": "0.0.1"}}
    result = await syncing.sync(store, CONFIG, outcome, [hand_made])  # type: ignore[arg-type]
    assert store.created == []
    assert result.conflicts["apps/podinfo"].reason == "NotOwned"
    assert "delete it so the operator can create its own" in result.conflicts["apps/podinfo"].message
