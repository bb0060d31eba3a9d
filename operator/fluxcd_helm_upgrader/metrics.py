"""Prometheus metrics of the operator and the aiohttp endpoint that serves them.

`services.Services.create` builds one `Metrics` per operator. Two callers report through the intention-revealing
methods below: the UpgraderConfig handler, after each cycle, through `cycles.measuring` (`observe_cycle`,
`index_fetch` from the cycle's fetches, `set_proposals`, `set_risk_levels`; `forget_config` when a config is
deleted), and the Git worker's `proposals.publishing` (`git_timer`, `pull_request`, `github_call`). The index
fetcher and the forge do not know about metrics. Each `Metrics` owns a private `CollectorRegistry`, so tests (and
two operators in one process) never collide on the global registry.

The series names are a contract with the alerting rules in deploy/: rename nothing without them.
Labels are deliberately low-cardinality: `config` is the "namespace/name" of an UpgraderConfig (few per
cluster) and every other label is a small closed set (`CYCLE_RESULTS`, `PHASES`, ...); a value outside
its set is reported as "other" rather than minting a new series. There is no release, chart, URL or
version label: those belong in logs and UpgradeProposals, not in a time-series database.

No label value can leak a secret: every value goes through `logs.redact()` (URL userinfo, tokens and
Secret values read at run time are masked) before it reaches a series.

`start_server()` serves `/metrics` with aiohttp on the operator's event loop rather than with
prometheus-client's thread server: one fewer thread, and `stop()` shuts it down cleanly with the
operator. Port 0 means "any free port" here (tests use it); `services.Services.start_servers` skips
`start_server()` when `Settings.metrics_port` is 0, which is how the setting turns the endpoint off.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping

import prometheus_client
import prometheus_client.exposition
from aiohttp import web

import fluxcd_helm_upgrader
from fluxcd_helm_upgrader import logs

PREFIX = "fluxcd_helm_upgrader"

CYCLE_RESULTS = ("success", "partial", "error")
# Every UpgradeProposal phase of the CRD; `set_proposals` writes all of them so a phase drops to 0.
PHASES = ("Pending", "Open", "Merged", "Closed", "Applied", "Failed")
# Every status.risk.level of the CRD; `set_risk_levels` writes all of them so a level drops to 0.
RISK_LEVELS = ("Low", "Medium", "High", "Unknown")
INDEX_RESULTS = ("200", "304", "cached", "error")
PR_ACTIONS = ("created", "updated")
PR_RESULTS = ("success", "failed")
GIT_OPERATIONS = ("clone", "fetch", "push", "commit")
GIT_RESULTS = ("success", "error")
GITHUB_RESULTS = ("success", "not_found", "rate_limited", "error")
OTHER = "other"

CYCLE_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
GIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# Kubernetes allows 253 characters for a namespace-scoped name plus 63 for the namespace; anything
# longer is not a config reference and is cut rather than stored whole.
MAX_LABEL_LENGTH = 320


def _label(value: object) -> str:
    """A free-form label value, safe to export: secrets masked, length bounded."""
    return logs.redact(str(value))[:MAX_LABEL_LENGTH]


def _choice(value: object, allowed: tuple[str, ...]) -> str:
    """A closed-set label value; anything else (a typo, a URL, a status code) becomes "other"."""
    text = str(value)
    return text if text in allowed else OTHER


class Metrics:
    """The operator's metric series in a private registry, with one method per thing that happened."""

    def __init__(self, *, version: str = fluxcd_helm_upgrader.__version__, process_metrics: bool = True) -> None:
        self.registry = prometheus_client.CollectorRegistry(auto_describe=True)
        registry = self.registry
        if process_metrics:
            # Memory, CPU and open files of the operator itself: cheap, and what a leak alert needs.
            prometheus_client.ProcessCollector(registry=registry)
            prometheus_client.PlatformCollector(registry=registry)
            prometheus_client.GCCollector(registry=registry)

        self.build_info = prometheus_client.Gauge(
            f"{PREFIX}_build_info",
            "Always 1; the version label says which build runs.",
            ["version"],
            registry=registry,
        )
        self.build_info.labels(version=_label(version)).set(1)

        self.cycle_duration = prometheus_client.Histogram(
            f"{PREFIX}_cycle_duration_seconds",
            "Duration of one check cycle of an UpgraderConfig.",
            ["config"],
            buckets=CYCLE_BUCKETS,
            registry=registry,
        )
        self.cycles = prometheus_client.Counter(
            f"{PREFIX}_cycles_total",
            "Check cycles run, by outcome.",
            ["config", "result"],
            registry=registry,
        )
        self.releases_checked = prometheus_client.Gauge(
            f"{PREFIX}_releases_checked",
            "HelmReleases in scope checked by the last cycle.",
            ["config"],
            registry=registry,
        )
        self.releases_outdated = prometheus_client.Gauge(
            f"{PREFIX}_releases_outdated",
            "HelmReleases with a newer allowed chart version at the last cycle.",
            ["config"],
            registry=registry,
        )
        self.releases_failed = prometheus_client.Gauge(
            f"{PREFIX}_releases_failed",
            "HelmReleases whose check failed in the last cycle.",
            ["config"],
            registry=registry,
        )
        self.proposals = prometheus_client.Gauge(
            f"{PREFIX}_proposals",
            "UpgradeProposals of a config, by phase.",
            ["config", "phase"],
            registry=registry,
        )
        self.proposals_by_risk = prometheus_client.Gauge(
            f"{PREFIX}_proposals_by_risk",
            "UpgradeProposals of a config whose pull request carries an upgrade risk, by level.",
            ["config", "level"],
            registry=registry,
        )
        self.index_fetches = prometheus_client.Counter(
            f"{PREFIX}_index_fetches_total",
            "Helm repository index requests: 200 downloaded, 304 not modified, cached (no request), error.",
            ["result"],
            registry=registry,
        )
        self.index_fetch_bytes = prometheus_client.Counter(
            f"{PREFIX}_index_fetch_bytes_total",
            "Bytes of Helm repository indexes downloaded.",
            registry=registry,
        )
        self.pull_requests = prometheus_client.Counter(
            f"{PREFIX}_pull_requests_total",
            "Pull requests opened or updated.",
            ["action", "result"],
            registry=registry,
        )
        self.git_operations = prometheus_client.Counter(
            f"{PREFIX}_git_operations_total",
            "Git operations on GitOps repositories.",
            ["operation", "result"],
            registry=registry,
        )
        self.git_operation_duration = prometheus_client.Histogram(
            f"{PREFIX}_git_operation_duration_seconds",
            "Duration of Git operations.",
            ["operation"],
            buckets=GIT_BUCKETS,
            registry=registry,
        )
        self.github_api_calls = prometheus_client.Counter(
            f"{PREFIX}_github_api_calls_total",
            "GitHub API calls, by outcome.",
            ["result"],
            registry=registry,
        )
        self.github_rate_limit_remaining = prometheus_client.Gauge(
            f"{PREFIX}_github_rate_limit_remaining",
            "Last x-ratelimit-remaining header seen from GitHub.",
            registry=registry,
        )
        self._initialise_closed_sets()
        self._runner: web.AppRunner | None = None

    def _initialise_closed_sets(self) -> None:
        # Series that exist from the start read 0 instead of "no data", so rate() and absent-based
        # alerts work before the first event of each kind.
        for result in INDEX_RESULTS:
            self.index_fetches.labels(result=result)
        for action in PR_ACTIONS:
            for result in PR_RESULTS:
                self.pull_requests.labels(action=action, result=result)
        for operation in GIT_OPERATIONS:
            self.git_operation_duration.labels(operation=operation)
            for result in GIT_RESULTS:
                self.git_operations.labels(operation=operation, result=result)
        for result in GITHUB_RESULTS:
            self.github_api_calls.labels(result=result)

    # --- what the cycle runner reports -------------------------------------------------------------

    def observe_cycle(self, config: str, seconds: float, result: str, checked: int, outdated: int, failed: int) -> None:
        """One check cycle of `config` ("namespace/name") finished after `seconds` with `result`."""
        name = _label(config)
        for known in CYCLE_RESULTS:
            self.cycles.labels(config=name, result=known)  # all results exist, at 0 until they happen
        self.cycles.labels(config=name, result=_choice(result, CYCLE_RESULTS)).inc()
        self.cycle_duration.labels(config=name).observe(max(seconds, 0.0))
        self.releases_checked.labels(config=name).set(checked)
        self.releases_outdated.labels(config=name).set(outdated)
        self.releases_failed.labels(config=name).set(failed)

    def set_proposals(self, config: str, counts_by_phase: Mapping[str, int]) -> None:
        """The current number of UpgradeProposals of `config` per phase; phases not given are set to 0."""
        name = _label(config)
        for phase in PHASES:
            self.proposals.labels(config=name, phase=phase).set(counts_by_phase.get(phase, 0))

    def set_risk_levels(self, config: str, counts_by_level: Mapping[str, int]) -> None:
        """The current number of UpgradeProposals of `config` per status.risk.level; levels not given are 0."""
        name = _label(config)
        for level in RISK_LEVELS:
            self.proposals_by_risk.labels(config=name, level=level).set(counts_by_level.get(level, 0))

    def forget_config(self, config: str) -> None:
        """Remove every series of a deleted UpgraderConfig, so dashboards and alerts stop showing it."""
        name = _label(config)
        for metric in (
            self.cycle_duration,
            self.cycles,
            self.releases_checked,
            self.releases_outdated,
            self.releases_failed,
            self.proposals,
            self.proposals_by_risk,
        ):
            metric.remove_by_labels({"config": name})

    # --- what the fetcher, the Git worker and the forge report -------------------------------------

    def index_fetch(self, result: str, nbytes: int = 0) -> None:
        """One index request (or a cache hit) with `result` in INDEX_RESULTS, `nbytes` downloaded."""
        self.index_fetches.labels(result=_choice(result, INDEX_RESULTS)).inc()
        if nbytes > 0:
            self.index_fetch_bytes.inc(nbytes)

    def pull_request(self, action: str, result: str) -> None:
        """A pull request was "created" or "updated", with result "success" or "failed"."""
        self.pull_requests.labels(action=_choice(action, PR_ACTIONS), result=_choice(result, PR_RESULTS)).inc()

    def git_operation(self, operation: str, result: str, seconds: float) -> None:
        """A Git `operation` (clone, fetch, push, commit) ended with `result` after `seconds`."""
        operation = _choice(operation, GIT_OPERATIONS)
        self.git_operations.labels(operation=operation, result=_choice(result, GIT_RESULTS)).inc()
        self.git_operation_duration.labels(operation=operation).observe(max(seconds, 0.0))

    @contextlib.contextmanager
    def git_timer(self, operation: str) -> Iterator[None]:
        """Time the block as one Git `operation`: "success" when it returns, "error" when it raises."""
        started = time.monotonic()
        try:
            yield
        except Exception:
            self.git_operation(operation, "error", time.monotonic() - started)
            raise
        # A cancellation (operator shutdown) is not a Git failure: it is deliberately not counted.
        self.git_operation(operation, "success", time.monotonic() - started)

    def github_call(self, result: str, remaining: int | None = None) -> None:
        """A GitHub API call ended with `result` (GITHUB_RESULTS); `remaining` is x-ratelimit-remaining."""
        self.github_api_calls.labels(result=_choice(result, GITHUB_RESULTS)).inc()
        if remaining is not None:
            self.github_rate_limit_remaining.set(remaining)

    # --- exposition ---------------------------------------------------------------------------------

    def exposition(self) -> str:
        """The Prometheus text exposition of every series, as /metrics serves it by default."""
        return prometheus_client.generate_latest(self.registry).decode("utf-8")

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        # Same negotiation as prometheus-client's own server: OpenMetrics when the scraper asks for it.
        encode, content_type = prometheus_client.exposition.choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encode(self.registry), headers={"Content-Type": content_type})

    async def start_server(self, port: int, host: str = "0.0.0.0") -> int:
        """Serve GET /metrics on host:port; return the bound port (useful with port 0)."""
        if self._runner is not None:
            raise RuntimeError("the metrics server is already running")
        app = web.Application()
        app.router.add_get("/metrics", self._serve_metrics)
        runner = web.AppRunner(app, access_log=None)  # scrapes every 15 s would drown the logs
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        return _bound_port(runner, default=port)

    async def stop(self) -> None:
        """Stop the /metrics server if it runs; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _bound_port(runner: web.AppRunner, *, default: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return default
