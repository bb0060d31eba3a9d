"""The per-release decision (checking.decisions): table-driven over the rules a user relies on."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from fluxcd_helm_upgrader.checking import decisions, policy

Verdict = decisions.Verdict
PODINFO = ["6.4.0", "6.5.0", "6.5.1", "6.6.0", "6.7.1", "7.0.0-rc.1", "7.0.0", "7.2.3", "8.0.0-beta.1"]


@dataclass
class Case:
    current: str
    verdict: decisions.Verdict
    target: str | None = None
    newest: str | None = None
    resolved: str | None = None
    available: list[str] = field(default_factory=lambda: list(PODINFO))
    policy: policy.Policy = field(default_factory=policy.Policy)
    skipped: tuple[str, ...] = ()
    invalid: int = 0


CASES = {
    "exact-to-newest": Case("6.5.0", Verdict.PROPOSE, "7.2.3", "7.2.3", "6.5.0"),
    "exact-keeps-v": Case("v6.5.0", Verdict.PROPOSE, "v7.2.3", "7.2.3", "v6.5.0"),
    "exact-keeps-equals": Case("=6.5.0", Verdict.PROPOSE, "=7.2.3", "7.2.3", "=6.5.0"),
    "exact-up-to-date": Case("7.2.3", Verdict.UP_TO_DATE, resolved="7.2.3"),
    "never-downgrade": Case("9.0.0", Verdict.UP_TO_DATE, resolved="9.0.0"),
    "exact-not-in-index": Case("6.5.5", Verdict.PROPOSE, "7.2.3", "7.2.3", "6.5.5"),
    "cap-minor": Case(
        "6.5.0", Verdict.PROPOSE, "6.7.1", "6.7.1", "6.5.0", policy=policy.Policy(allowed_updates="minor")
    ),
    "cap-patch": Case(
        "6.5.0", Verdict.PROPOSE, "6.5.1", "6.5.1", "6.5.0", policy=policy.Policy(allowed_updates="patch")
    ),
    "cap-patch-nothing": Case(
        "6.5.1", Verdict.UP_TO_DATE, resolved="6.5.1", policy=policy.Policy(allowed_updates="patch")
    ),
    "prerelease-policy": Case(
        "6.5.0", Verdict.PROPOSE, "8.0.0-beta.1", "8.0.0-beta.1", "6.5.0", policy=policy.Policy(include_prerelease=True)
    ),
    "current-is-prerelease": Case("7.0.0-rc.1", Verdict.PROPOSE, "8.0.0-beta.1", "8.0.0-beta.1", "7.0.0-rc.1"),
    "prerelease-to-release-capped": Case(
        "7.0.0-rc.1", Verdict.PROPOSE, "7.2.3", "7.2.3", "7.0.0-rc.1", policy=policy.Policy(allowed_updates="minor")
    ),
    "ignore-versions": Case(
        "6.5.0",
        Verdict.PROPOSE,
        "6.7.1",
        "6.7.1",
        "6.5.0",
        policy=policy.Policy(ignore=(policy.IgnoreRule(chart="podinfo", versions=">=7.0.0"),)),
    ),
    "ignore-all-newer": Case(
        "6.7.1",
        Verdict.IGNORED,
        resolved="6.7.1",
        policy=policy.Policy(ignore=(policy.IgnoreRule(versions=">=7.0.0"),)),
    ),
    "ignore-other-chart": Case(
        "6.5.0",
        Verdict.PROPOSE,
        "7.2.3",
        "7.2.3",
        "6.5.0",
        policy=policy.Policy(ignore=(policy.IgnoreRule(chart="nginx", versions=">=7"),)),
    ),
    "ignore-release": Case(
        "6.5.0", Verdict.IGNORED, policy=policy.Policy(ignore=(policy.IgnoreRule(release="apps/podinfo"),))
    ),
    "ignore-chart": Case("6.5.0", Verdict.IGNORED, policy=policy.Policy(ignore=(policy.IgnoreRule(chart="pod*"),))),
    # A closed PR skips its target and everything older, until a newer version appears (as Renovate does).
    "skipped-target": Case("6.5.0", Verdict.UP_TO_DATE, resolved="6.5.0", skipped=("7.2.3",)),
    "skipped-target-other-spelling": Case("6.5.0", Verdict.UP_TO_DATE, resolved="6.5.0", skipped=("v7.2.3",)),
    "newer-than-skipped": Case("6.5.0", Verdict.PROPOSE, "7.2.3", "7.2.3", "6.5.0", skipped=("7.0.0",)),
    "skipped-all": Case("7.0.0", Verdict.UP_TO_DATE, resolved="7.0.0", skipped=("7.2.3",)),
    "invalid-versions-counted": Case(
        "6.5.0", Verdict.PROPOSE, "7.2.3", "7.2.3", "6.5.0", available=[*PODINFO, "latest", "1.0rc1", ""], invalid=3
    ),
    "no-versions": Case("6.5.0", Verdict.NO_VERSIONS, available=["latest", "main"], invalid=2),
    "empty-index": Case("6.5.0", Verdict.NO_VERSIONS, available=[]),
    "invalid-current": Case("latest", Verdict.INVALID_CURRENT),
    "empty-is-latest": Case("", Verdict.UP_TO_DATE, resolved="7.2.3"),
    "star-is-latest": Case("*", Verdict.UP_TO_DATE, resolved="7.2.3"),
    "x-is-latest": Case("x", Verdict.UP_TO_DATE, resolved="7.2.3"),
    # Ranges
    "range-rewritten": Case("6.x", Verdict.PROPOSE, "7.x", "7.2.3", "6.7.1"),
    "range-star": Case("6.*", Verdict.PROPOSE, "7.*", "7.2.3", "6.7.1"),
    "range-caret": Case("^6.1.0", Verdict.PROPOSE, "^7.2.3", "7.2.3", "6.7.1"),
    "range-tilde-capped-minor": Case(
        "~6.5.0", Verdict.PROPOSE, "~6.7.1", "6.7.1", "6.5.1", policy=policy.Policy(allowed_updates="minor")
    ),
    "range-two-sided": Case(">=6.0.0 <7.0.0", Verdict.PROPOSE, ">=7.0.0 <8.0.0", "7.2.3", "6.7.1"),
    "range-already-admits": Case(">=6.0.0", Verdict.UP_TO_DATE, resolved="7.2.3"),
    "range-admits-newest": Case("7.x", Verdict.UP_TO_DATE, resolved="7.2.3"),
    "range-cap-patch-within": Case(
        "6.x", Verdict.UP_TO_DATE, resolved="6.7.1", policy=policy.Policy(allowed_updates="patch")
    ),
    "range-nothing-matches-uses-floor": Case(
        "5.x", Verdict.PROPOSE, "7.x", "7.0.0", None, available=["6.5.0", "6.7.1", "7.0.0"]
    ),
    "range-floor-caps-the-step": Case(
        "5.x", Verdict.UP_TO_DATE, policy=policy.Policy(allowed_updates="minor"), available=["6.5.0", "6.7.1", "7.0.0"]
    ),
    "range-or-unsupported": Case("^5.0.0 || ^6.0.0", Verdict.UNSUPPORTED_RANGE, newest="7.2.3", resolved="6.7.1"),
    "range-hyphen-unsupported": Case("6.0.0 - 6.9.9", Verdict.UNSUPPORTED_RANGE, newest="7.2.3", resolved="6.7.1"),
    "range-skipped-style": Case("6.x", Verdict.UP_TO_DATE, resolved="6.7.1", skipped=("7.x",)),
    "range-invalid": Case(">>6", Verdict.INVALID_CURRENT),
    # Masterminds v3.4.0+: a prerelease comparator opens its whole AND group to prereleases, so Flux
    # runs 7.0.0-rc.1 through ">=6.0.0-0 <7.0.0" and such a range gets prerelease proposals.
    "range-opts-into-prereleases": Case(
        ">=6.0.0-0 <7.0.0", Verdict.PROPOSE, ">=8.0.0-beta.1 <9.0.0", "8.0.0-beta.1", "7.0.0-rc.1"
    ),
    "range-keeps-its-prerelease": Case(
        "^6.1.0-0", Verdict.PROPOSE, "^7.2.3-0", "7.2.3", "6.7.1", available=PODINFO[:-1]
    ),
    "range-issue-16-runs-the-prerelease": Case(
        ">=1.0.0-0 <=2.0.0", Verdict.UP_TO_DATE, resolved="1.0.1-beta", available=["0.9.0", "1.0.0", "1.0.1-beta"]
    ),
    "range-prerelease-policy-two-sided": Case(
        ">=6.0.0 <7.0.0",
        Verdict.PROPOSE,
        ">=8.0.0-beta.1 <9.0.0",
        "8.0.0-beta.1",
        "6.7.1",
        policy=policy.Policy(include_prerelease=True),
    ),
    "range-without-prerelease-ignores-them": Case(
        ">=6.0.0 <7.0.0", Verdict.PROPOSE, ">=7.0.0 <8.0.0", "7.2.3", "6.7.1", available=[*PODINFO, "7.3.0-rc.1"]
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_decide(case: Case) -> None:
    decision = decisions.decide(
        release="apps/podinfo",
        chart="podinfo",
        current=case.current,
        available=case.available,
        policy=case.policy,
        skipped_targets=case.skipped,
    )
    assert decision.verdict is case.verdict, decision.message
    assert decision.target == case.target
    if case.newest is not None or case.verdict is Verdict.PROPOSE:
        assert decision.newest == case.newest
    if case.resolved is not None or case.verdict is Verdict.PROPOSE:
        assert decision.current_resolved == case.resolved
    assert decision.invalid_versions == case.invalid
    assert decision.message


def test_messages_name_the_versions() -> None:
    proposal = decisions.decide(
        release="apps/podinfo", chart="podinfo", current="6.5.0", available=PODINFO, policy=policy.Policy()
    )
    assert "6.5.0" in proposal.message and "7.2.3" in proposal.message
    ignored = decisions.decide(
        release="apps/podinfo",
        chart="podinfo",
        current="6.7.1",
        available=PODINFO,
        policy=policy.Policy(ignore=(policy.IgnoreRule(versions=">=7.0.0"),)),
    )
    assert "7.2.3" in ignored.message and "ignored" in ignored.message
    skipped = decisions.decide(
        release="apps/podinfo",
        chart="podinfo",
        current="7.0.0",
        available=PODINFO,
        policy=policy.Policy(),
        skipped_targets=("7.2.3",),
    )
    assert "7.2.3" in skipped.message and "closed" in skipped.message


def test_newest_keeps_the_index_spelling() -> None:
    decision = decisions.decide(
        release="a/b", chart="c", current="1.0.0", available=["v1.0.0", "v1.2.0"], policy=policy.Policy()
    )
    assert (decision.verdict, decision.newest, decision.target) == (Verdict.PROPOSE, "v1.2.0", "1.2.0")
