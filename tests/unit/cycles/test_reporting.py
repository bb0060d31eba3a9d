"""An UpgraderConfig's status after a cycle, as `kubectl describe upgraderconfig` shows it: the Ready (and Stalled)
condition's status, reason and message, the counters, failedReleases, heldVersions, and the Warning event a new set
of failing releases posts (none on a quiet tick)."""

from __future__ import annotations

from typing import Any

import pytest

from fluxcd_helm_upgrader.cycles import reporting
from fluxcd_helm_upgrader.cycles.running import Outcome
from tests import builders

NOW = "2026-01-02T03:04:05Z"
OVERLAP = "apps/cache is kept by UpgraderConfig flux-system/a-older"


def _status(outcome: Outcome, old: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    options = {"proposals_open": 1, "generation": 3, "now": NOW, "requested_at": None, **kwargs}
    return reporting.cycle_status(old or {}, outcome, **options)


def _ready(status: dict[str, Any]) -> tuple[str, str, str]:
    (ready,) = [c for c in status["conditions"] if c["type"] == "Ready"]
    return ready["status"], ready["reason"], ready["message"]


@pytest.mark.parametrize(
    ("outcome", "ready"),
    [
        (builders.outcome(builders.checked("podinfo"), builders.checked("redis", "7.0.0", None)),
         ("True", "Succeeded", "checked 2 releases, 1 outdated")),
        (builders.outcome(builders.checked("podinfo"), builders.failed("nginx", "SourceNotFound", "no source")),
         ("True", "PartiallyChecked", "checked 1 releases, 1 outdated; 1 could not be checked: apps/nginx")),
        (builders.outcome(builders.failed("nginx", "FetchFailed", "HTTP 500"),
                          builders.failed("web", "AuthFailed", "HTTP 401")),
         ("False", "PartiallyChecked", "checked 0 releases, 0 outdated; 2 could not be checked: apps/nginx, apps/web")),
        (builders.outcome(builders.checked("podinfo"), builders.failed("cache", "ScopeOverlap", OVERLAP),
                          builders.failed("web", "AuthFailed", "HTTP 401")),
         ("False", "ScopeOverlap", f"1 release(s) kept by an older UpgraderConfig: {OVERLAP}; checked 1 other "
                                   "releases, 1 outdated, 1 failed")),
        (builders.outcome(), ("True", "Succeeded", "checked 0 releases, 0 outdated")),
    ],
    ids=["all-checked", "some-failed", "all-failed", "scope-overlap", "nothing-in-scope"],
)  # fmt: skip
def test_ready_condition_after_a_cycle(outcome: Outcome, ready: tuple[str, str, str]) -> None:
    status = _status(outcome)
    assert _ready(status) == ready
    assert [c["type"] for c in status["conditions"]] == ["Ready"]
    assert status["releasesChecked"] == len(outcome.checked)
    assert status["releasesOutdated"] == len(outcome.outdated)
    assert status["failedReleases"] == [
        {"release": f.release.key, "reason": f.failure.reason, "message": f.failure.message} for f in outcome.failed
    ]
    assert (status["observedGeneration"], status["lastCheckTime"], status["proposalsOpen"]) == (3, NOW, 1)
    assert "lastHandledReconcileAt" not in status


def test_many_failing_releases_are_counted_in_full_and_listed_up_to_the_limit() -> None:
    failing = [builders.failed(f"r{i:03}", "FetchFailed", "HTTP 500") for i in range(60)]
    status = _status(builders.outcome(*failing))
    assert len(status["failedReleases"]) == reporting.MAX_LISTED == 50
    assert _ready(status)[2] == (
        "checked 0 releases, 0 outdated; 60 could not be checked: apps/r000, apps/r001, apps/r002, apps/r003, "
        "apps/r004, ..."
    )


def test_held_versions_are_listed_with_when_they_become_eligible() -> None:
    status = _status(builders.outcome(builders.checked("podinfo", "6.5.0", "6.6.0", held=("6.7.0", "6.7.1"))))
    assert status["heldVersions"] == [
        {"release": "apps/podinfo", "version": "6.7.0", "eligibleAt": "2030-01-01T00:00:00Z"},
        {"release": "apps/podinfo", "version": "6.7.1", "eligibleAt": "2030-01-01T00:00:00Z"},
    ]
    assert _ready(status)[2] == "checked 1 releases, 1 outdated; 2 newer version(s) held by minimumReleaseAge"


def test_a_handled_reconcile_request_is_recorded() -> None:
    status = _status(builders.outcome(), requested_at="1700000000")
    assert status["lastHandledReconcileAt"] == "1700000000"


@pytest.mark.parametrize(
    ("reason", "stalled"),
    [("InvalidConfig", True), ("SecretNotFound", True), ("Forbidden", True), ("Suspended", False)],
)
def test_a_cycle_that_could_not_run_is_not_ready_and_stalls_on_what_a_user_must_fix(reason: str, stalled: bool) -> None:
    status = reporting.blocked_status({}, reason=reason, message="spec.git.url: required", generation=2, now=NOW,
                                      requested_at="r1")  # fmt: skip
    assert _ready(status) == ("False", reason, "spec.git.url: required")
    assert [c["type"] for c in status["conditions"]] == (["Ready", "Stalled"] if stalled else ["Ready"])
    assert (status["observedGeneration"], status["lastCheckTime"], status["lastHandledReconcileAt"]) == (2, NOW, "r1")
    assert "failedReleases" not in status  # the last cycle's list stays as it was


def test_a_cycle_that_runs_again_clears_stalled() -> None:
    blocked = reporting.blocked_status({}, reason="SecretNotFound", message="secret x not found", generation=2,
                                       now="2026-01-01T00:00:00Z", requested_at=None)  # fmt: skip
    status = _status(builders.outcome(builders.checked("podinfo")), old=blocked)
    assert [c["type"] for c in status["conditions"]] == ["Ready"]
    ready = status["conditions"][0]
    assert (ready["status"], ready["lastTransitionTime"]) == ("True", NOW)


FAILING = [{"release": "apps/web", "reason": "AuthFailed", "message": "apps/web: HTTP 401"}]


@pytest.mark.parametrize(
    ("before", "after", "event"),
    [
        ([], FAILING, "apps/web: HTTP 401"),  # a release starts failing
        (FAILING, FAILING, None),  # the same again: a quiet tick posts nothing
        (FAILING, [{**FAILING[0], "message": "apps/web: HTTP 403"}], None),  # same release and reason
        (FAILING, [{**FAILING[0], "reason": "FetchFailed", "message": "apps/web: HTTP 500"}], "apps/web: HTTP 500"),
        (FAILING, [], None),  # recovered: no warning
    ],
    ids=["new", "same", "same-reason", "other-reason", "recovered"],
)
def test_a_warning_event_only_when_the_set_of_failing_releases_changes(
    before: list[dict[str, str]], after: list[dict[str, str]], event: str | None
) -> None:
    assert reporting.failure_transition({"failedReleases": before}, {"failedReleases": after}) == event


def test_the_warning_reason_follows_ready() -> None:
    overlap = _status(builders.outcome(builders.failed("cache", "ScopeOverlap", OVERLAP)))
    partial = _status(builders.outcome(builders.failed("web", "AuthFailed", "HTTP 401")))
    assert (reporting.event_reason(overlap), reporting.event_reason(partial)) == ("ScopeOverlap", "CheckFailed")
