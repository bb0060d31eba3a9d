"""kstatus conditions as `kubectl describe` shows them: one entry per type in a stable order, lastTransitionTime
kept while the status does not change (Flux's rule), observedGeneration only when known."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fluxcd_helm_upgrader.status import conditions

T0, T1 = "2020-01-01T00:00:00Z", "2021-06-01T12:00:00Z"
READY_FALSE = {"type": "Ready", "status": "False", "reason": "GitFailed", "message": "old", "lastTransitionTime": T0}
STALLED = {"type": "Stalled", "status": "True", "reason": "InvalidConfig", "message": "bad", "lastTransitionTime": T0}


@pytest.mark.parametrize(
    ("existing", "status", "transition"),
    [
        ([], False, T1),  # new condition: now
        ([READY_FALSE], False, T0),  # same status, new reason and message: the transition time is kept
        ([READY_FALSE], True, T1),  # flipped: now
        ([{**READY_FALSE, "lastTransitionTime": None}], False, T1),  # a broken old entry gets a time
    ],
    ids=["new", "same-status", "flipped", "no-old-time"],
)
def test_set_condition_transition_time(existing: list[dict[str, Any]], status: bool, transition: str) -> None:
    (ready,) = conditions.set_condition(existing, type_="Ready", status=status, reason="PullRequestOpen",
                                        message="pull request #1 opened", generation=4, now=T1)  # fmt: skip
    assert ready == {"type": "Ready", "status": "True" if status else "False", "reason": "PullRequestOpen",
                     "message": "pull request #1 opened", "lastTransitionTime": transition,
                     "observedGeneration": 4}  # fmt: skip


def test_other_conditions_keep_their_order_and_values() -> None:
    result = conditions.set_condition([STALLED, READY_FALSE], type_="Ready", status=True, reason="Succeeded",
                                      message="checked 3 releases", generation=None, now=T1)  # fmt: skip
    assert [c["type"] for c in result] == ["Stalled", "Ready"]
    assert result[0] == STALLED and result[0] is not STALLED
    assert "observedGeneration" not in result[1]


def test_the_default_time_is_rfc3339_utc_seconds() -> None:
    (ready,) = conditions.set_condition(None, type_="Ready", status=True, reason="R", message="m", generation=None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ready["lastTransitionTime"])


def test_remove_find_and_message() -> None:
    both = [STALLED, READY_FALSE]
    assert conditions.remove_condition(both, "Stalled") == [READY_FALSE]
    assert conditions.remove_condition(None, "Stalled") == []
    assert conditions.find(both, "Ready") == READY_FALSE
    assert conditions.find(both, "Reconciling") is None
    assert conditions.message(both) == "old"
    assert conditions.message(both, "Stalled") == "bad"
    assert conditions.message(None) is None
