"""policy.minimumReleaseAge through the real operator: a fresh version is held back (the config's status says until
when), an older one that is old enough is still proposed, and the fresh one is proposed once it is old enough."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

import pytest

from fluxcd_helm_upgrader.testkit.demo import charts, cluster
from tests import builders
from tests.e2e import harness

pytestmark = pytest.mark.e2e


def _stamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f000Z")  # nanoseconds, as `helm repo index` writes them


@pytest.fixture
async def chart_server() -> AsyncIterator[charts.ChartServer]:
    server = charts.ChartServer()
    await server.start()
    yield server
    await server.stop()


async def _cycle(local: cluster.LocalCluster, stamp: str) -> dict:
    body = local.get("upgraderconfigs", "flux-system", "fleet")
    assert body is not None
    body["metadata"].setdefault("annotations", {})["reconcile.fluxcd.io/requestedAt"] = stamp
    local.apply(body)
    return await harness.wait_for(
        lambda: (s := (local.get("upgraderconfigs", "flux-system", "fleet") or {}).get("status") or {})
        .get("lastHandledReconcileAt") == stamp and s,
        what=f"cycle {stamp}",
    )


async def test_a_fresh_version_is_held_back_until_it_is_old_enough(tmp_path, chart_server) -> None:
    now = datetime.datetime.now(datetime.UTC)
    fresh = now - datetime.timedelta(minutes=10)
    repo = chart_server.repo("main")
    repo.add("podinfo", "6.5.0", created=_stamp(now - datetime.timedelta(days=60)))
    repo.add("podinfo", "6.6.0", created=_stamp(now - datetime.timedelta(days=30)))
    repo.add("podinfo", "6.7.1", created=_stamp(fresh))
    repo.add("redis", "1.2.0", created=_stamp(now - datetime.timedelta(days=60)))
    repo.add("redis", "1.3.0", created=_stamp(fresh))
    async with cluster.local_cluster(tmp_path) as local:
        local.apply(builders.helm_repository("charts", chart_server.repo_url("main")))
        local.apply(builders.helm_release("podinfo", "podinfo", "6.5.0"))
        local.apply(builders.helm_release("cache", "redis", "1.2.0", namespace="data"))
        local.apply(builders.upgrader_config(policy={"minimumReleaseAge": "3d"}))
        async with local.run_operator():
            status = await _cycle(local, "first")
            podinfo = local.get("upgradeproposals", "flux-system", "apps.podinfo")
            cache = local.get("upgradeproposals", "flux-system", "data.cache")

            # Time passes: redis 1.3.0's index entry now says it is four days old.
            repo.add("redis", "1.3.0", created=_stamp(now - datetime.timedelta(days=4)))
            later = await _cycle(local, "later")
            cache_later = local.get("upgradeproposals", "flux-system", "data.cache")

    eligible = (fresh + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert status["heldVersions"] == [
        {"release": "apps/podinfo", "version": "6.7.1", "eligibleAt": eligible},
        {"release": "data/cache", "version": "1.3.0", "eligibleAt": eligible},
    ]
    assert "2 newer version(s) held by minimumReleaseAge" in harness.condition({"status": status})["message"]
    assert podinfo is not None and podinfo["spec"]["targetVersion"] == "6.6.0"  # old enough: still proposed
    assert cache is None  # nothing old enough to propose
    assert later["heldVersions"] == [{"release": "apps/podinfo", "version": "6.7.1", "eligibleAt": eligible}]
    assert cache_later is not None and cache_later["spec"]["targetVersion"] == "1.3.0"
