"""Two UpgraderConfigs in one namespace whose scopes overlap (issue 10, item 4): no cycle crashes on the shared
proposal name. The older config (creationTimestamp, then name) keeps the shared releases; the newer one says so
with Ready=False, reason ScopeOverlap, naming the other config and the releases, and still handles the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from fluxcd_helm_upgrader.testkit.demo import charts
from tests import builders
from tests.e2e import harness

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]


@pytest.fixture
async def chart_server() -> AsyncIterator[charts.ChartServer]:
    server = charts.ChartServer()
    await server.start()
    server.repo("main", {"podinfo": ["6.5.0", "6.7.1"], "redis": ["1.2.0", "1.3.0"]})
    yield server
    await server.stop()


def _owner(body: dict[str, Any] | None) -> str | None:
    refs = ((body or {}).get("metadata") or {}).get("ownerReferences") or []
    return refs[0]["name"] if refs else None


async def test_the_newer_config_reports_the_overlap_and_keeps_its_other_releases(local, chart_server) -> None:
    local.apply(builders.helm_repository("charts", chart_server.repo_url("main")))
    local.apply(builders.helm_release("podinfo", "podinfo", "6.5.0"))
    local.apply(builders.helm_release("cache", "redis", "1.2.0", namespace="data"))
    # Same creationTimestamp second is likely here: the name breaks the tie ("a-older" < "b-newer").
    local.apply(builders.upgrader_config("a-older", scope={"clusterWide": False, "namespaces": ["apps"]}))
    local.apply(builders.upgrader_config("b-newer", scope={"clusterWide": False, "namespaces": ["apps", "data"]}))
    async with local.run_operator():
        newer = await harness.wait_for(
            lambda: (c := local.get("upgraderconfigs", "flux-system", "b-newer")) and harness.condition(c) and c,
            what="the newer config's first cycle",
        )
        await harness.wait_for(
            lambda: harness.condition(local.get("upgraderconfigs", "flux-system", "a-older")),
            what="the older config's first cycle",
        )
        # A second cycle of each: still no crash, still one proposal per release.
        for name in ("a-older", "b-newer"):
            body = local.get("upgraderconfigs", "flux-system", name)
            body["metadata"].setdefault("annotations", {})["reconcile.fluxcd.io/requestedAt"] = "again"
            local.apply(body)
        await harness.wait_for(
            lambda: all(
                (local.get("upgraderconfigs", "flux-system", n) or {}).get("status", {}).get("lastHandledReconcileAt")
                == "again"
                for n in ("a-older", "b-newer")
            ),
            what="a second cycle of both",
        )
        newer = local.get("upgraderconfigs", "flux-system", "b-newer")
        older = local.get("upgraderconfigs", "flux-system", "a-older")
    ready = harness.condition(newer)
    assert (ready["status"], ready["reason"]) == ("False", "ScopeOverlap")
    assert "flux-system/a-older" in ready["message"] and "apps/podinfo" in ready["message"]
    failed = [(f["release"], f["reason"]) for f in newer["status"]["failedReleases"]]
    assert failed == [("apps/podinfo", "ScopeOverlap")]
    assert (harness.condition(older)["status"], harness.condition(older)["reason"]) == ("True", "Succeeded")
    assert _owner(local.get("upgradeproposals", "flux-system", "apps.podinfo")) == "a-older"
    assert _owner(local.get("upgradeproposals", "flux-system", "data.cache")) == "b-newer"
    assert len(local.list("upgradeproposals", "flux-system")) == 2
    warnings = [e for e in local.list("events", "flux-system") if e["reason"] == "ScopeOverlap"]
    assert len(warnings) == 1 and warnings[0]["involvedObject"]["name"] == "b-newer"
