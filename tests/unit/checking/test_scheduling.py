"""When a config's cycle is due: interval, spec change, reconcile request, suspend."""

import dataclasses
import datetime

import pytest

from fluxcd_helm_upgrader.checking import scheduling
from fluxcd_helm_upgrader.checking.scheduling import Why

NOW = datetime.datetime(2026, 11, 26, 12, 0, 0, tzinfo=datetime.UTC)
BASE = scheduling.Clock(
    suspend=False,
    interval_seconds=1800,
    generation=2,
    observed_generation=2,
    last_check_time="2026-11-26T11:50:00Z",
    requested_at=None,
    last_handled_reconcile_at=None,
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, Why.NOT_DUE),
        ({"last_check_time": "2026-11-26T11:30:00Z"}, Why.INTERVAL),
        ({"last_check_time": None}, Why.FIRST),
        ({"last_check_time": "garbage"}, Why.FIRST),
        ({"generation": 3}, Why.SPEC_CHANGED),
        ({"requested_at": "2026-11-26T11:59:00Z"}, Why.REQUESTED),
        ({"requested_at": "x", "last_handled_reconcile_at": "x"}, Why.NOT_DUE),
        ({"suspend": True, "last_check_time": None}, Why.SUSPENDED),
        ({"interval_seconds": 300}, Why.INTERVAL),
        ({"ran_in_this_process": False}, Why.STARTUP),
        ({"triggered": True}, Why.WEBHOOK),
        ({"ran_in_this_process": False, "suspend": True}, Why.SUSPENDED),
    ],
)
def test_due(changes: dict, expected: Why) -> None:
    assert scheduling.due(dataclasses.replace(BASE, **changes), NOW) is expected
