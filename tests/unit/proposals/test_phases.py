"""Each phase's status body, as `kubectl get uprop -o yaml` shows it: phase, message, the Ready condition (status,
reason, observedGeneration), the fields the phase records, and lastTransitionTime kept while Ready does not flip."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pytest

from fluxcd_helm_upgrader.proposals import phases

OLD: dict[str, Any] = {
    "phase": "Pending",
    "message": "podinfo 6.5.0 -> 6.7.1: waiting for the Git worker",
    "skippedTargets": ["6.6.0"],
    "pullRequest": {"branch": "helm-upgrader/apps/podinfo"},
    "conditions": [
        {"type": "Ready", "status": "False", "reason": "AwaitingPush", "message": "waiting",
         "lastTransitionTime": "2020-01-01T00:00:00Z", "observedGeneration": 1},
    ],
}  # fmt: skip


def _opened(old: dict[str, Any] | None) -> dict[str, Any]:
    return phases.opened(old, number=12, url="https://github.test/acme/fleet/pull/12",
                         branch="helm-upgrader/apps/podinfo", path="apps/release.yaml", line=9,
                         message="pull request #12 opened", generation=2,
                         risk={"level": "Low", "findings": []})  # fmt: skip


@pytest.mark.parametrize(
    ("build", "phase", "ready", "reason", "fields"),
    [
        (lambda old: phases.pending(old, "waiting for the Git worker", 2), "Pending", "False", "AwaitingPush", {}),
        (_opened, "Open", "True", "PullRequestOpen",
         {"pullRequest": {"branch": "helm-upgrader/apps/podinfo", "number": 12,
                          "url": "https://github.test/acme/fleet/pull/12", "openedAt": mock.ANY},
          "manifest": {"path": "apps/release.yaml", "line": 9}, "risk": {"level": "Low", "findings": []}}),
        (lambda old: phases.merged(old, "pull request #12 merged", 2), "Merged", "True", "PullRequestMerged", {}),
        (lambda old: phases.closed(old, "6.7.1", "closed without merge", 2), "Closed", "True", "PullRequestClosed",
         {"skippedTargets": ["6.6.0", "6.7.1"]}),
        (lambda old: phases.failed(old, "GitFailed", "git (auth): denied", 2), "Failed", "False", "GitFailed", {}),
    ],
    ids=["pending", "open", "merged", "closed", "failed"],
)  # fmt: skip
def test_each_phase_sets_its_fields_and_the_ready_condition(
    build: Any, phase: str, ready: str, reason: str, fields: dict[str, Any]
) -> None:
    status = build(OLD)
    assert status["phase"] == phase
    assert status["observedGeneration"] == 2
    (condition,) = status["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == ("Ready", ready, reason)
    assert condition["message"] == status["message"]
    assert condition["observedGeneration"] == 2
    for key, value in fields.items():
        assert status[key] == value, key
    # What the phase does not set is kept from the old status (a retried Failed proposal keeps its PR).
    assert status["skippedTargets"][0] == "6.6.0"
    assert status["pullRequest"]["branch"] == "helm-upgrader/apps/podinfo"
    assert OLD["phase"] == "Pending", "the old status must not be changed in place"


def test_ready_keeps_its_transition_time_until_its_status_flips() -> None:
    failed = phases.failed(OLD, "GitFailed", "git (auth): denied", 2)  # False -> False: the time is kept
    assert failed["conditions"][0]["lastTransitionTime"] == "2020-01-01T00:00:00Z"
    opened = _opened(failed)  # False -> True: now
    assert opened["conditions"][0]["lastTransitionTime"] != "2020-01-01T00:00:00Z"
    merged = phases.merged(opened, "merged", 3)  # True -> True: kept from Open
    assert merged["conditions"][0]["lastTransitionTime"] == opened["conditions"][0]["lastTransitionTime"]


def test_closing_the_same_target_twice_lists_it_once() -> None:
    once = phases.closed(None, "6.7.1", "closed", None)
    twice = phases.closed(once, "6.7.1", "closed again", None)
    assert twice["skippedTargets"] == ["6.7.1"]
    assert "observedGeneration" not in twice and "observedGeneration" not in twice["conditions"][0]


def test_applied_records_when_and_provider_none_records_only_the_branch() -> None:
    applied = phases.applied(None, "apps/podinfo runs chart podinfo 6.7.1 (target 6.7.1)", 4)
    assert (applied["phase"], applied["conditions"][0]["reason"]) == ("Applied", "UpgradeApplied")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", applied["appliedAt"])
    pushed = phases.opened(None, number=None, url=None, branch="helm-upgrader/apps/podinfo", path="a.yaml", line=3,
                           message="branch pushed", generation=None)  # fmt: skip
    assert pushed["pullRequest"] == {"branch": "helm-upgrader/apps/podinfo", "openedAt": mock.ANY}
    assert "risk" not in pushed


@pytest.mark.parametrize(("metadata", "generation"), [({"generation": 3}, 3), ({}, None), (None, None)])
def test_generation(metadata: dict[str, Any] | None, generation: int | None) -> None:
    assert phases.generation({"metadata": metadata}) == generation


def test_opened_at_is_kept_while_the_same_pull_request_is_updated() -> None:
    first = _opened({"pullRequest": {"branch": "helm-upgrader/apps/podinfo", "number": 12,
                                     "openedAt": "2026-01-01T00:00:00Z"}})  # fmt: skip
    assert first["pullRequest"]["openedAt"] == "2026-01-01T00:00:00Z"
    other = _opened({"pullRequest": {"branch": "helm-upgrader/apps/podinfo", "number": 3,
                                     "openedAt": "2026-01-01T00:00:00Z"}})  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", other["pullRequest"]["openedAt"])
    assert other["pullRequest"]["openedAt"] != "2026-01-01T00:00:00Z"
