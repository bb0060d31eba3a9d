"""policy.minimumReleaseAge: the age syntax, release times, and how the decision changes (table-driven)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import pytest

from fluxcd_helm_upgrader.checking import decisions, policy, release_age

NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.UTC)
OLD = "2026-11-01T00:00:00Z"
FRESH = "2026-12-02T11:00:00.123456789Z"  # an hour ago, with Helm's nanoseconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("", 0), ("0", 0), ("3d", 3 * 86400), ("1d12h", 36 * 3600), ("72h", 72 * 3600), ("30m", 1800),
     ("1.5d", 1.5 * 86400), ("90s", 90)],
)  # fmt: skip
def test_parse_age(text: str, seconds: float) -> None:
    assert release_age.parse_age(text) == seconds


@pytest.mark.parametrize("text", ["3 days", "3", "d", "3dd", "-1h", "1w"])
def test_parse_age_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid age"):
        release_age.parse_age(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-02T11:00:00.123456789Z", datetime.datetime(2026, 12, 2, 11, 0, 0, 123456, tzinfo=datetime.UTC)),
        ("2026-12-02T13:00:00+02:00", datetime.datetime(2026, 12, 2, 11, 0, tzinfo=datetime.UTC)),
        ("2026-12-02T11:00:00", datetime.datetime(2026, 12, 2, 11, 0, tzinfo=datetime.UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_time(text: str | None, expected: datetime.datetime | None) -> None:
    assert release_age.parse_time(text) == expected


def _decide(current: str) -> release_age.Decide:
    def decide(available: Sequence[str]) -> decisions.Decision:
        return decisions.decide(
            release="apps/podinfo", chart="podinfo", current=current, available=available, policy=policy.Policy()
        )

    return decide


CASES = [
    # (id, current, {version: created}, minimum, outcome, target, held versions)
    ("off", "6.5.0", {"6.5.0": OLD, "6.7.1": FRESH}, 0, "Propose", "6.7.1", []),
    ("old-enough", "6.5.0", {"6.5.0": OLD, "6.7.1": OLD}, 86400, "Propose", "6.7.1", []),
    ("fresh-held", "6.5.0", {"6.5.0": OLD, "6.7.1": FRESH}, 86400, "Held", None, ["6.7.1"]),
    ("older-proposed", "6.5.0", {"6.5.0": OLD, "6.6.0": OLD, "6.7.1": FRESH}, 86400, "Propose", "6.6.0", ["6.7.1"]),
    ("unknown-time-held", "6.5.0", {"6.5.0": OLD, "6.7.1": None}, 86400, "Held", None, ["6.7.1"]),
    ("young-but-short-age", "6.5.0", {"6.5.0": OLD, "6.7.1": FRESH}, 1800, "Propose", "6.7.1", []),
    ("range-would-admit-held", "6.x", {"6.5.0": OLD, "7.0.0": OLD, "7.1.0": FRESH}, 86400, "Held", None, ["7.1.0"]),
    ("range-all-old", "6.x", {"6.5.0": OLD, "7.0.0": OLD, "7.1.0": OLD}, 86400, "Propose", "7.x", []),
    ("up-to-date", "6.7.1", {"6.5.0": OLD, "6.7.1": FRESH}, 86400, "UpToDate", None, []),
]


@pytest.mark.parametrize(
    ("current", "created", "minimum", "outcome", "target", "held"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_apply(
    current: str, created: dict[str, str | None], minimum: float, outcome: str, target: str | None, held: list[str]
) -> None:
    step = release_age.apply(_decide(current), list(created), created, minimum, NOW)
    assert step.needs is None
    assert (step.decision.verdict.value, step.decision.target) == (outcome, target)
    assert [h.version for h in step.held] == held


def test_held_message_says_when_it_becomes_eligible() -> None:
    step = release_age.apply(_decide("6.5.0"), ["6.5.0", "6.7.1"], {"6.5.0": OLD, "6.7.1": FRESH}, 86400, NOW)
    assert step.held[0].eligible_at == datetime.datetime(2026, 12, 3, 11, 0, 0, 123456, tzinfo=datetime.UTC)
    assert step.decision.message == (
        "held back by minimumReleaseAge 1d: 6.7.1 (eligible at 2026-12-03T11:00:00Z); "
        "the first becomes eligible at 2026-12-03T11:00:00Z"
    )


def test_release_times_are_asked_for_one_version_at_a_time() -> None:
    available = ["6.5.0", "6.6.0", "6.7.1"]
    step = release_age.apply(_decide("6.5.0"), available, {}, 86400, NOW)
    assert step.needs == "6.7.1"
    step = release_age.apply(_decide("6.5.0"), available, {"6.7.1": FRESH}, 86400, NOW)
    assert step.needs == "6.6.0" and [h.version for h in step.held] == ["6.7.1"]
