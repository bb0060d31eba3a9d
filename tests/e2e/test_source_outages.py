"""Chart source outages seen through the real operator (issue 11, item 6): a chart repository that answers 500,
never answers or trickles its index, and an OCI registry that answers 5xx. Each fails only the releases of that
source, once per cycle (FetchFailed in the config's status.failedReleases, a CheckFailed event), while every other
release is checked and proposed; when the source is back, the next cycle proposes the rest, each exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fluxcd_helm_upgrader.testkit.demo import charts
from tests import builders
from tests.e2e import backends, harness

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]

TIMEOUT = 2  # UPGRADER_FETCH_TIMEOUT_SECONDS: one whole index fetch, connect to last byte


@pytest.fixture
async def chart_server() -> AsyncIterator[charts.ChartServer]:
    server = charts.ChartServer()
    await server.start()
    server.repo("main", {"podinfo": ["6.5.0", "6.7.1"]})
    server.repo("flaky", {"redis": ["1.2.0", "1.3.0"]})
    yield server
    await server.stop()


def _proposal(local: backends.Cluster, name: str) -> dict | None:
    return local.get("upgradeproposals", "flux-system", name)


@pytest.mark.parametrize(
    ("outage", "said"),
    [("broken", "HTTP 500"), ("hang", f"timed out after {TIMEOUT}s"), ("trickle", f"timed out after {TIMEOUT}s")],
)
async def test_a_chart_repository_outage_fails_only_its_releases_then_recovers(
    local: backends.Cluster, chart_server: charts.ChartServer, monkeypatch: pytest.MonkeyPatch, outage: str, said: str
) -> None:
    monkeypatch.setenv("UPGRADER_FETCH_TIMEOUT_SECONDS", str(TIMEOUT))
    flaky = chart_server.repos["flaky"]
    if outage == "broken":
        flaky.broken = True
    else:
        flaky.outage = outage
    local.apply(builders.helm_repository("charts", chart_server.repo_url("main")))
    local.apply(builders.helm_repository("flaky", chart_server.repo_url("flaky")))
    local.apply(builders.helm_release("podinfo", "podinfo", "6.5.0"))
    local.apply(builders.helm_release("cache", "redis", "1.2.0", namespace="data", repo="flaky"))
    local.apply(builders.upgrader_config())
    async with local.run_operator():
        config = await harness.wait_for(
            lambda: (c := local.get("upgraderconfigs", "flux-system", "fleet")) and harness.condition(c) and c,
            timeout=30,
            what="first cycle",
        )
        ready = harness.condition(config)
        assert (ready["status"], ready["reason"]) == ("True", "PartiallyChecked"), ready
        [failed] = config["status"]["failedReleases"]
        assert (failed["release"], failed["reason"]) == ("data/cache", "FetchFailed")
        assert said in failed["message"], failed
        assert (_proposal(local, "apps.podinfo") or {})["spec"]["targetVersion"] == "6.7.1"
        assert _proposal(local, "data.cache") is None
        asked = [seen for seen in chart_server.seen if seen.path == "/flaky/index.yaml"]
        assert len(asked) == 1, "one attempt per cycle: the next cycle is the retry"

        flaky.broken, flaky.outage = False, None
        status = await harness.request_cycle(local, "source-back", timeout=30)
        assert status["failedReleases"] == []
        assert (harness.condition({"status": status}) or {})["reason"] == "Succeeded"
        assert (_proposal(local, "data.cache") or {})["spec"]["targetVersion"] == "1.3.0"
    events = local.list("events", "flux-system")
    created = sorted(e["involvedObject"]["name"] for e in events if e["reason"] == "ProposalCreated")
    assert created == ["apps.podinfo", "data.cache"]
    check_failed = [e for e in events if e["reason"] == "CheckFailed"]
    assert len(check_failed) == 1, check_failed  # one Warning naming the source, not one per release or cycle
    assert "HelmRepository flux-system/flaky" in check_failed[0]["message"] and said in check_failed[0]["message"]
