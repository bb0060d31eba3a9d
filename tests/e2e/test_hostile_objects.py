"""Hostile objects in the cluster fail only themselves (issue 10, item 1): the other releases of the fleet are
still checked and proposed, and the config's status.failedReleases names the bad one with a reason."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fluxcd_helm_upgrader.testkit.demo import charts
from tests import builders
from tests.e2e import harness

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]

HUGE_VERSION = "1" + "0" * 5000 + ".0.0"  # int() refuses more than 4300 digits


@pytest.fixture
async def chart_server() -> AsyncIterator[charts.ChartServer]:
    server = charts.ChartServer()
    await server.start()
    server.repo("main", {"podinfo": ["6.5.0", "6.7.1"], "redis": ["1.2.0", "1.3.0"]})
    # One chart whose index holds a version no parser should ever convert, beside a normal one.
    server.repo("main").add("nginx", HUGE_VERSION)
    server.repo("main").add("nginx", "2.0.0")
    server.repo("main").add("nginx", "2.1.0")
    yield server
    await server.stop()


async def test_a_release_with_a_5000_digit_version_fails_alone(local, chart_server) -> None:
    local.apply(builders.helm_repository("charts", chart_server.repo_url("main")))
    local.apply(builders.helm_release("podinfo", "podinfo", "6.5.0"))
    local.apply(builders.helm_release("huge", "podinfo", HUGE_VERSION))
    local.apply(builders.helm_release("cache", "redis", "1.2.0", namespace="data"))
    local.apply(builders.helm_release("web", "nginx", "2.0.0"))
    local.apply(builders.upgrader_config())
    async with local.run_operator():
        config = await harness.wait_for(
            lambda: (c := local.get("upgraderconfigs", "flux-system", "fleet")) and harness.condition(c) and c,
            what="a completed cycle",
        )
    status = config["status"]
    (failed,) = status["failedReleases"]
    assert (failed["release"], failed["reason"]) == ("apps/huge", "InvalidVersion")
    assert "5005 characters long" in failed["message"]
    ready = harness.condition(config)
    assert (ready["status"], ready["reason"]) == ("True", "PartiallyChecked")
    assert status["releasesChecked"] == 3
    targets = {
        name: (local.get("upgradeproposals", "flux-system", name) or {}).get("spec", {}).get("targetVersion")
        for name in ("apps.podinfo", "data.cache", "apps.web")
    }
    # The index entry with the 5000-digit version is left out; the chart's real versions still count.
    assert targets == {"apps.podinfo": "6.7.1", "data.cache": "1.3.0", "apps.web": "2.1.0"}
    assert local.get("upgradeproposals", "flux-system", "apps.huge") is None
