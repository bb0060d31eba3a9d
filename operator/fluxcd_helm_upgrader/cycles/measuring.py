"""Record one cycle in the Prometheus metrics: duration and result, release counts, proposals by phase and by
upgrade risk level (as the Git worker last wrote it), fetches.

Called by the UpgraderConfig handler after each cycle. Labels stay low-cardinality: the config's namespace/name
and small closed sets; never a release, chart, URL or version.
"""

from __future__ import annotations

from collections import Counter

from fluxcd_helm_upgrader import metrics as metrics_
from fluxcd_helm_upgrader.cycles.handling import Handled
from fluxcd_helm_upgrader.structs import proposals as proposals_

FETCH_RESULTS = {"fetched": "200", "not_modified": "304", "cached": "cached", "error": "error"}


def record(metrics: metrics_.Metrics, config: str, handled: Handled, seconds: float) -> None:
    outcome = handled.outcome
    if outcome is None:
        metrics.observe_cycle(config, seconds, "error", 0, 0, 0)
        return
    result = "success" if not outcome.failed else ("partial" if outcome.checked else "error")
    metrics.observe_cycle(config, seconds, result, len(outcome.checked), len(outcome.outdated), len(outcome.failed))
    for status, nbytes in outcome.fetches.values():
        metrics.index_fetch(FETCH_RESULTS.get(status, "error"), nbytes)
    if handled.sync is not None:
        statuses = [proposals_.upgrade_proposal(body).status for body in handled.sync.proposals.values()]
        phases = Counter(status.phase or "Pending" for status in statuses)
        metrics.set_proposals(config, phases)
        levels = Counter(status.risk_level for status in statuses if status.risk_level)
        metrics.set_risk_levels(config, levels)
