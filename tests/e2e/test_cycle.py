"""The real operator against the API emulator and a local chart server: what a user sees after a check cycle.

Covers the foundation (a Ready config with counts, no writes to Flux objects, a bad config reported on its own
object) and version checking (proposals for outdated releases, policy, ranges, conditional GET, broken sources).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fluxcd_helm_upgrader.testkit.demo import charts
from tests import builders
from tests.e2e import backends, harness

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]

FLUX_GROUPS = ("helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io")


@pytest.fixture
async def chart_server() -> AsyncIterator[charts.ChartServer]:
    server = charts.ChartServer()
    await server.start()
    server.repo("main", {"podinfo": ["6.5.0", "6.6.0", "6.7.1", "7.0.0-rc.1"], "redis": ["1.2.0", "1.3.0", "2.0.0"]})
    server.repo("broken", {"nginx": ["1.0.0", "2.0.0"]}).broken = True
    yield server
    await server.stop()


def _proposal(local: backends.Cluster, name: str) -> dict | None:
    return local.get("upgradeproposals", "flux-system", name)


async def test_ready_config_counts_releases_and_never_writes_flux_objects(local, chart_server) -> None:
    local.apply(builders.helm_repository("charts", chart_server.repo_url("main")))
    local.apply(builders.helm_release("podinfo", "podinfo", "6.7.1"))
    local.apply(builders.helm_release("cache", "redis", "2.0.0", namespace="data"))
    local.apply(builders.upgrader_config())
    async with local.run_operator():
        ready = await harness.wait_for(
            lambda: harness.condition(local.get("upgraderconfigs", "flux-system", "fleet")),
            what="Ready condition",
        )
        status = local.get("upgraderconfigs", "flux-system", "fleet")["status"]
    assert ready["status"] == "True", ready
    assert ready["reason"] == "Succeeded"
    assert status["releasesChecked"] == 2
    assert status["releasesOutdated"] == 0
    assert status["lastCheckTime"]
    assert status["observedGeneration"] == 1
    flux_writes = [e for e in local.audit if e.group in FLUX_GROUPS]
    assert flux_writes == []
    for plural in ("helmreleases", "helmrepositories"):
        for body in local.list(plural):
            meta = body["metadata"]
            assert not meta.get("finalizers"), meta
            assert not any(k.startswith("helmupgrader.io") for k in meta.get("annotations") or {}), meta


async def test_invalid_config_is_reported_on_itself_and_others_keep_working(local, chart_server) -> None:
    local.apply(builders.helm_repository("charts", chart_server.repo_url("main")))
    local.apply(builders.helm_release("podinfo", "podinfo", "6.7.1"))
    # The broken configs cover another namespace: a parsable config keeps the releases it covers even when it
    # cannot run (cycles.overlap), so with one shared scope `good` would yield whenever it is the younger by a second.
    elsewhere = {"clusterWide": False, "namespaces": ["elsewhere"]}
    # A value the CRD's rules let through (they check the URL on a real API server) but Git would refuse.
    local.apply(
        builders.upgrader_config("bad-url", git={"url": "file:///x.git", "branch": "release..next"}, scope=elsewhere)
    )
    local.apply(
        builders.upgrader_config(
            "missing-secret", git={"url": "file:///x.git", "secretRef": {"name": "nope"}}, scope=elsewhere
        )
    )
    local.apply(builders.upgrader_config("good"))
    async with local.run_operator():
        for name in ("bad-url", "missing-secret", "good"):
            await harness.wait_for(
                lambda n=name: harness.condition(local.get("upgraderconfigs", "flux-system", n)), what=name
            )
    bad = harness.condition(local.get("upgraderconfigs", "flux-system", "bad-url"))
    assert (bad["status"], bad["reason"]) == ("False", "InvalidConfig")
    assert "spec.git.branch" in bad["message"] and "release..next" in bad["message"]
    missing = harness.condition(local.get("upgraderconfigs", "flux-system", "missing-secret"))
    assert (missing["status"], missing["reason"]) == ("False", "SecretNotFound")
    assert "flux-system/nope" in missing["message"]
    good = harness.condition(local.get("upgraderconfigs", "flux-system", "good"))
    assert good["status"] == "True", good
    reasons = {e["reason"] for e in local.list("events", "flux-system")}
    assert {"InvalidConfig", "SecretNotFound"} <= reasons


async def test_outdated_releases_get_proposals_by_policy(local, chart_server) -> None:
    local.apply(builders.helm_repository("charts", chart_server.repo_url("main")))
    local.apply(builders.helm_repository("down", chart_server.repo_url("broken")))
    local.apply(builders.helm_release("podinfo", "podinfo", "6.5.0"))
    local.apply(builders.helm_release("ranged", "podinfo", "6.x"))
    local.apply(builders.helm_release("cache", "redis", "1.2.0", namespace="data"))
    local.apply(builders.helm_release("web", "nginx", "1.0.0", repo="down"))
    local.apply(builders.upgrader_config(policy={"allowedUpdates": "minor"}))
    async with local.run_operator():
        config = await harness.wait_for(
            lambda: (c := local.get("upgraderconfigs", "flux-system", "fleet")) and harness.condition(c) and c,
            what="first cycle",
        )
        podinfo = _proposal(local, "apps.podinfo")
        cache = _proposal(local, "data.cache")
        assert podinfo is not None and cache is not None
        # A second cycle on request: the unchanged index costs one 304.
        before = len(chart_server.seen)
        body = local.get("upgraderconfigs", "flux-system", "fleet")
        body["metadata"].setdefault("annotations", {})["reconcile.fluxcd.io/requestedAt"] = "now-1"
        local.apply(body)
        await harness.wait_for(
            lambda: (
                local.get("upgraderconfigs", "flux-system", "fleet")["status"].get("lastHandledReconcileAt") == "now-1"
            ),
            what="requested cycle",
        )
        # The Git worker runs beside the cycles: wait for its verdict on the unreachable Git URL before stopping.
        await harness.wait_for(
            lambda: ((_proposal(local, "apps.podinfo") or {}).get("status") or {}).get("phase") == "Failed",
            what="the Git worker's verdict",
        )
    status = config["status"]
    ready = harness.condition(config)
    assert (ready["status"], ready["reason"]) == ("True", "PartiallyChecked")
    assert "apps/web" in ready["message"]
    assert [f["release"] for f in status["failedReleases"]] == ["apps/web"]
    assert status["releasesChecked"] == 3
    assert status["releasesOutdated"] == 2
    assert status["proposalsOpen"] == 2
    # 6.5.0 -> 6.7.1: the 7.0.0-rc.1 prerelease is skipped (and would be a major step).
    assert podinfo["spec"]["currentVersion"] == "6.5.0"
    assert podinfo["spec"]["targetVersion"] == "6.7.1"
    # The config's Git URL points nowhere: the Git worker reports that on the proposal, not on the config.
    first_status = podinfo["status"]
    assert first_status["phase"] in ("Pending", "Failed"), first_status
    assert podinfo["metadata"]["ownerReferences"][0]["name"] == "fleet"
    # allowedUpdates: minor stops at the major boundary: 1.3.0, not 2.0.0.
    assert cache["spec"]["targetVersion"] == "1.3.0"
    # A range that admits the newest allowed version gets nothing: Flux upgrades it by itself.
    assert _proposal(local, "apps.ranged") is None
    failed = local.get("upgradeproposals", "flux-system", "apps.podinfo")["status"]
    assert failed["phase"] == "Failed"
    assert "git (not-found)" in failed["message"] and "file:///tmp/fleet.git" in failed["message"]
    second = [s for s in chart_server.seen[before:] if s.path == "/main/index.yaml"]
    assert second and all(s.if_none_match and s.status == 304 for s in second), second
    events = local.list("events", "flux-system")
    created = [e for e in events if e["reason"] == "ProposalCreated"]
    assert len(created) == 2, [e["message"] for e in created]
    assert any("6.5.0 -> 6.7.1" in e["message"] for e in created)
    assert len([e for e in events if e["reason"] == "CheckFailed"]) == 1


async def test_a_release_bumped_by_hand_has_its_proposal_withdrawn(local, chart_server) -> None:
    local.apply(builders.helm_repository("charts", chart_server.repo_url("main")))
    local.apply(builders.helm_release("podinfo", "podinfo", "6.5.0"))
    local.apply(builders.upgrader_config())
    async with local.run_operator():
        await harness.wait_for(lambda: _proposal(local, "apps.podinfo"), what="proposal")
        local.apply(builders.helm_release("podinfo", "podinfo", "6.7.1"))  # someone bumped it in Git, Flux applied
        body = local.get("upgraderconfigs", "flux-system", "fleet")
        body["metadata"].setdefault("annotations", {})["reconcile.fluxcd.io/requestedAt"] = "bumped"
        local.apply(body)
        await harness.wait_for(lambda: _proposal(local, "apps.podinfo") is None, what="proposal withdrawn")
    config = local.get("upgraderconfigs", "flux-system", "fleet")
    assert config["status"]["proposalsOpen"] == 0
    assert config["status"]["releasesOutdated"] == 0
    withdrawn = [e for e in local.list("events", "flux-system") if e["reason"] == "ProposalWithdrawn"]
    assert len(withdrawn) == 1 and "apps/podinfo is current" in withdrawn[0]["message"]
