"""The Prometheus series as a scraper sees them: names, labels, values, the /metrics endpoint, no secrets."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import prometheus_client.parser
import pytest

import fluxcd_helm_upgrader
from fluxcd_helm_upgrader import logs, metrics

P = "fluxcd_helm_upgrader"


@pytest.fixture
def m() -> metrics.Metrics:
    return metrics.Metrics(process_metrics=False)


def samples(m: metrics.Metrics) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of the scrape, parsed the way Prometheus would."""
    return [
        (s.name, dict(s.labels), s.value)
        for family in prometheus_client.parser.text_string_to_metric_families(m.exposition())
        for s in family.samples
    ]


def value(m: metrics.Metrics, name: str, **labels: str) -> float | None:
    """The value of the one sample with exactly these labels, or None when the series does not exist."""
    found = [v for n, ls, v in samples(m) if n == name and ls == labels]
    assert len(found) <= 1
    return found[0] if found else None


def label_values(m: metrics.Metrics, name: str, label: str) -> set[str]:
    return {ls[label] for n, ls, _ in samples(m) if n == name and label in ls}


# The contract with the alerting rules: name and type as written in the exposition's TYPE lines.
CONTRACT = [
    (f"{P}_build_info", "gauge"),
    (f"{P}_cycle_duration_seconds", "histogram"),
    (f"{P}_cycles_total", "counter"),
    (f"{P}_releases_checked", "gauge"),
    (f"{P}_releases_outdated", "gauge"),
    (f"{P}_releases_failed", "gauge"),
    (f"{P}_proposals", "gauge"),
    (f"{P}_index_fetches_total", "counter"),
    (f"{P}_index_fetch_bytes_total", "counter"),
    (f"{P}_pull_requests_total", "counter"),
    (f"{P}_git_operations_total", "counter"),
    (f"{P}_git_operation_duration_seconds", "histogram"),
    (f"{P}_github_api_calls_total", "counter"),
    (f"{P}_github_rate_limit_remaining", "gauge"),
]


@pytest.mark.parametrize(("name", "kind"), CONTRACT)
def test_contract_series_are_exposed_with_their_type(m: metrics.Metrics, name: str, kind: str) -> None:
    m.observe_cycle("flux-system/fleet", 1.0, "success", 1, 0, 0)
    m.set_proposals("flux-system/fleet", {})
    assert re.search(rf"^# TYPE {name} {kind}$", m.exposition(), re.M), f"{name} ({kind}) missing"


def test_only_low_cardinality_label_names_exist(m: metrics.Metrics) -> None:
    m.observe_cycle("flux-system/fleet", 1.0, "success", 3, 1, 0)
    m.set_proposals("flux-system/fleet", {"Open": 1})
    m.index_fetch("200", 10)
    m.pull_request("created", "success")
    m.git_operation("push", "success", 0.2)
    m.github_call("success", 4999)
    names = {label for _, ls, _ in samples(m) for label in ls}
    assert names <= {"config", "result", "phase", "action", "operation", "version", "le"}


def test_build_info_reports_the_package_version(m: metrics.Metrics) -> None:
    assert value(m, f"{P}_build_info", version=fluxcd_helm_upgrader.__version__) == 1.0
    other = metrics.Metrics(version="9.9.9-test", process_metrics=False)
    assert value(other, f"{P}_build_info", version="9.9.9-test") == 1.0


def test_observe_cycle_counts_results_and_sets_release_gauges(m: metrics.Metrics) -> None:
    m.observe_cycle("flux-system/fleet", 2.0, "success", checked=10, outdated=3, failed=1)
    m.observe_cycle("flux-system/fleet", 40.0, "partial", checked=11, outdated=2, failed=4)
    cfg = "flux-system/fleet"
    assert value(m, f"{P}_cycles_total", config=cfg, result="success") == 1.0
    assert value(m, f"{P}_cycles_total", config=cfg, result="partial") == 1.0
    assert value(m, f"{P}_cycles_total", config=cfg, result="error") == 0.0  # exists at 0 for rate()
    assert value(m, f"{P}_releases_checked", config=cfg) == 11.0  # the last cycle, not a sum
    assert value(m, f"{P}_releases_outdated", config=cfg) == 2.0
    assert value(m, f"{P}_releases_failed", config=cfg) == 4.0
    assert value(m, f"{P}_cycle_duration_seconds_count", config=cfg) == 2.0
    assert value(m, f"{P}_cycle_duration_seconds_sum", config=cfg) == 42.0
    assert value(m, f"{P}_cycle_duration_seconds_bucket", config=cfg, le="5.0") == 1.0
    assert value(m, f"{P}_cycle_duration_seconds_bucket", config=cfg, le="60.0") == 2.0
    assert value(m, f"{P}_cycle_duration_seconds_bucket", config=cfg, le="3600.0") == 2.0


def test_an_unknown_result_does_not_create_a_new_series(m: metrics.Metrics) -> None:
    m.observe_cycle("ns/a", 1.0, "exploded: connection reset", 0, 0, 0)
    m.index_fetch("503")
    m.pull_request("merged", "maybe")
    assert label_values(m, f"{P}_cycles_total", "result") == {"success", "partial", "error", "other"}
    assert value(m, f"{P}_index_fetches_total", result="other") == 1.0
    assert value(m, f"{P}_pull_requests_total", action="other", result="other") == 1.0


def test_set_proposals_writes_every_phase_so_a_phase_drops_to_zero(m: metrics.Metrics) -> None:
    m.set_proposals("apps/fleet", {"Open": 3, "Failed": 1})
    assert label_values(m, f"{P}_proposals", "phase") == set(metrics.PHASES)
    assert value(m, f"{P}_proposals", config="apps/fleet", phase="Open") == 3.0
    assert value(m, f"{P}_proposals", config="apps/fleet", phase="Merged") == 0.0
    m.set_proposals("apps/fleet", {"Merged": 3})
    assert value(m, f"{P}_proposals", config="apps/fleet", phase="Open") == 0.0
    assert value(m, f"{P}_proposals", config="apps/fleet", phase="Failed") == 0.0
    assert value(m, f"{P}_proposals", config="apps/fleet", phase="Merged") == 3.0


def test_set_risk_levels_writes_every_level(m: metrics.Metrics) -> None:
    m.set_risk_levels("apps/fleet", {"High": 2, "Low": 1})
    assert label_values(m, f"{P}_proposals_by_risk", "level") == set(metrics.RISK_LEVELS)
    assert value(m, f"{P}_proposals_by_risk", config="apps/fleet", level="High") == 2.0
    m.set_risk_levels("apps/fleet", {"Unknown": 1})
    assert value(m, f"{P}_proposals_by_risk", config="apps/fleet", level="High") == 0.0
    assert value(m, f"{P}_proposals_by_risk", config="apps/fleet", level="Unknown") == 1.0


def test_forget_config_removes_only_that_configs_series(m: metrics.Metrics) -> None:
    for cfg in ("ns/gone", "ns/kept"):
        m.observe_cycle(cfg, 1.0, "error", 1, 1, 1)
        m.set_proposals(cfg, {"Open": 1})
        m.set_risk_levels(cfg, {"Low": 1})
    m.forget_config("ns/gone")
    configs = {ls["config"] for _, ls, _ in samples(m) if "config" in ls}
    assert configs == {"ns/kept"}
    assert value(m, f"{P}_proposals", config="ns/kept", phase="Open") == 1.0
    m.forget_config("ns/never-seen")  # a config deleted before its first cycle: no error


def test_index_fetches_and_downloaded_bytes(m: metrics.Metrics) -> None:
    assert value(m, f"{P}_index_fetches_total", result="304") == 0.0  # present before any fetch
    m.index_fetch("200", 4_000_000)
    m.index_fetch("200", 1_000)
    m.index_fetch("304", 0)
    m.index_fetch("cached")
    m.index_fetch("error")
    assert value(m, f"{P}_index_fetches_total", result="200") == 2.0
    assert value(m, f"{P}_index_fetches_total", result="304") == 1.0
    assert value(m, f"{P}_index_fetches_total", result="cached") == 1.0
    assert value(m, f"{P}_index_fetches_total", result="error") == 1.0
    assert value(m, f"{P}_index_fetch_bytes_total") == 4_001_000.0


def test_pull_requests_by_action_and_result(m: metrics.Metrics) -> None:
    m.pull_request("created", "success")
    m.pull_request("updated", "success")
    m.pull_request("updated", "success")
    m.pull_request("created", "failed")
    assert value(m, f"{P}_pull_requests_total", action="created", result="success") == 1.0
    assert value(m, f"{P}_pull_requests_total", action="updated", result="success") == 2.0
    assert value(m, f"{P}_pull_requests_total", action="created", result="failed") == 1.0
    assert value(m, f"{P}_pull_requests_total", action="updated", result="failed") == 0.0


def test_git_operation_and_its_timer(m: metrics.Metrics) -> None:
    m.git_operation("clone", "success", 12.0)
    with m.git_timer("push"):
        pass
    with pytest.raises(RuntimeError), m.git_timer("push"):
        raise RuntimeError("rejected: stale info")
    assert value(m, f"{P}_git_operations_total", operation="clone", result="success") == 1.0
    assert value(m, f"{P}_git_operations_total", operation="push", result="success") == 1.0
    assert value(m, f"{P}_git_operations_total", operation="push", result="error") == 1.0
    assert value(m, f"{P}_git_operation_duration_seconds_count", operation="push") == 2.0
    assert value(m, f"{P}_git_operation_duration_seconds_bucket", operation="clone", le="10.0") == 0.0
    assert value(m, f"{P}_git_operation_duration_seconds_bucket", operation="clone", le="30.0") == 1.0


async def test_a_cancelled_git_operation_is_not_counted_as_a_failure(m: metrics.Metrics) -> None:
    async def push() -> None:
        with m.git_timer("push"):
            await asyncio.sleep(10)

    task = asyncio.create_task(push())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert value(m, f"{P}_git_operations_total", operation="push", result="error") == 0.0
    assert value(m, f"{P}_git_operations_total", operation="push", result="success") == 0.0


def test_github_calls_and_rate_limit(m: metrics.Metrics) -> None:
    m.github_call("success", 4999)
    m.github_call("rate_limited", 0)
    m.github_call("error")  # no header seen: the last known remaining stays
    assert value(m, f"{P}_github_api_calls_total", result="success") == 1.0
    assert value(m, f"{P}_github_api_calls_total", result="rate_limited") == 1.0
    assert value(m, f"{P}_github_api_calls_total", result="error") == 1.0
    assert value(m, f"{P}_github_rate_limit_remaining") == 0.0


def test_each_instance_has_its_own_registry() -> None:
    first, second = metrics.Metrics(), metrics.Metrics()  # would raise "Duplicated timeseries" if shared
    first.pull_request("created", "success")
    assert value(first, f"{P}_pull_requests_total", action="created", result="success") == 1.0
    assert value(second, f"{P}_pull_requests_total", action="created", result="success") == 0.0
    assert f"{P}_" not in prometheus_client.generate_latest().decode()  # the global registry stays clean


def test_process_metrics_are_optional() -> None:
    assert "python_info" in metrics.Metrics().exposition()
    assert "python_info" not in metrics.Metrics(process_metrics=False).exposition()


CANARY = "hunter2-canary-7731"


def test_no_label_value_can_carry_a_secret(m: metrics.Metrics) -> None:
    logs.remember_secret(f"{CANARY}-remembered")
    m.observe_cycle(f"https://bot:{CANARY}@github.com/acme/fleet", 1.0, "success", 0, 0, 0)
    m.set_proposals(f"ns/{CANARY}-remembered", {"Open": 1})
    m.index_fetch(f"https://u:{CANARY}@charts.example.com", 1)
    m.git_operation(f"push https://x:{CANARY}@h/r.git", f"token={CANARY}", 1.0)
    m.github_call(f"Bearer {CANARY}")
    text = m.exposition()
    assert CANARY not in text
    # The series still exist, with the secret masked rather than the call dropped.
    assert value(m, f"{P}_cycles_total", config="https://github.com/acme/fleet", result="success") == 1.0
    assert value(m, f"{P}_proposals", config="ns/***", phase="Open") == 1.0


async def test_metrics_endpoint_serves_the_exposition() -> None:
    m = metrics.Metrics(process_metrics=False)
    m.observe_cycle("flux-system/fleet", 3.0, "success", 5, 2, 0)
    port = await m.start_server(0, host="127.0.0.1")
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                body = await response.text()
            accept = {"Accept": "application/openmetrics-text; version=1.0.0"}
            async with session.get(f"http://127.0.0.1:{port}/metrics", headers=accept) as response:
                assert response.headers["Content-Type"].startswith("application/openmetrics-text")
                assert (await response.text()).rstrip().endswith("# EOF")
            async with session.get(f"http://127.0.0.1:{port}/") as response:
                assert response.status == 404
        assert 'fluxcd_helm_upgrader_releases_outdated{config="flux-system/fleet"} 2.0' in body
        with pytest.raises(RuntimeError):
            await m.start_server(0, host="127.0.0.1")
    finally:
        await m.stop()
    await m.stop()  # idempotent
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{port}/metrics")
