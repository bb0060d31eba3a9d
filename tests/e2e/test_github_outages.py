"""GitHub outages seen through the real operator (issue 11, item 6): 500/502, a secondary rate limit (403 with
Retry-After), 429, and a primary rate limit at zero. Each ends with every release's PR opened exactly once, the
retries bounded, and while GitHub cannot be used the reason on the proposal (ForgeFailed, with a Warning event).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxcd_helm_upgrader.forges import rate_limits
from tests.e2e import harness, prs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]

PROPOSALS = prs.PROPOSALS
CREATE = "/repos/acme/fleet/pulls"


@pytest.fixture(autouse=True)
def _no_gate_left_over() -> object:
    """The in-process operator's rate-limit gates never outlive the test (a later stand-in may reuse the port)."""
    yield
    rate_limits.SHARED.clear()


async def _all_open(s: prs.Setup) -> None:
    await harness.wait_for(
        lambda: all(s.phase(name) == "Open" for name in PROPOSALS), timeout=60, what="every proposal Open"
    )


async def test_server_errors_are_retried_and_every_release_gets_its_pr(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.github.fail_next(2, status=502, message="Bad Gateway")
        s.github.fail_next(1, status=500, message="Internal Server Error")
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await _all_open(s)
            await memo.services.workers.join()
        prs.assert_one_pr_each(s)
        assert [c.status for c in s.github.calls[:4]] == [502, 502, 500, 200]


async def test_a_pr_created_but_answered_502_is_not_created_twice(tmp_path: Path) -> None:
    """GitHub created the PR, its gateway answered 502: the retried create meets "already exists" and the operator
    takes that PR (updates it) instead of opening a second one."""
    async with prs.setup(tmp_path) as s:
        s.github.fail_next(1, status=502, message="Bad Gateway", method="POST", path_suffix=CREATE, acted=True)
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await _all_open(s)
            await memo.services.workers.join()
        prs.assert_one_pr_each(s)
        creates = [c.status for c in s.github.calls if c.method == "POST" and c.path == CREATE]
        assert creates[:2] == [502, 422], creates  # carried out, then refused as a duplicate


async def test_github_down_longer_than_the_retries_fails_the_proposals_then_recovers(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.github.fail_next(10_000, status=502, message="Bad Gateway")
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await harness.wait_for(
                lambda: all(s.phase(name) == "Failed" for name in PROPOSALS), timeout=60, what="every proposal Failed"
            )
            await memo.services.workers.join()
            for name in PROPOSALS:
                failed = harness.condition(s.proposal(name))
                assert failed is not None and failed["reason"] == "ForgeFailed", failed
                assert "server: " in failed["message"] and "HTTP 502" in failed["message"]
                assert "gave up after 4 attempts" in failed["message"]
            # Bounded: 4 attempts of the first call of each proposal, nothing else sent while GitHub is down.
            assert len(s.github.calls) == 4 * len(PROPOSALS)
            assert s.github.pull_requests() == []

            s.github.fail_next(0)  # GitHub is back: the next cycle retries the Failed proposals
            await s.reconcile("github-back")
            await _all_open(s)
            await memo.services.workers.join()
        prs.assert_one_pr_each(s)
        events = s.local.list("events", prs.NAMESPACE)
        for name in PROPOSALS:
            reasons = [e["reason"] for e in events if e["involvedObject"]["name"] == name]
            assert reasons.count("ForgeFailed") == 1, reasons  # one Warning per transition, not per attempt
            assert reasons.count("PullRequestOpened") == 1, reasons


async def test_secondary_rate_limit_and_429_wait_then_every_release_gets_its_pr(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.github.rate_limit_next(1, retry_after=2)  # 403 with Retry-After: 2
        s.github.too_many_requests_next(1)  # then a bare 429
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await _all_open(s)
            await memo.services.workers.join()
        prs.assert_one_pr_each(s)
        limited, bare, retried = s.github.calls[:3]
        assert (limited.status, bare.status, retried.status) == (403, 429, 200)
        assert bare.at - limited.at >= 2.0, "the Retry-After GitHub asked for was waited"


async def test_primary_rate_limit_at_zero_waits_for_the_reset_for_every_proposal(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        # The token has one call left: its answer says x-ratelimit-remaining: 0 until x-ratelimit-reset.
        s.github.exhaust_rate_limit(after=1, reset_in=3)
        reset = s.github.rate_limit_reset
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await _all_open(s)
            await memo.services.workers.join()
        prs.assert_one_pr_each(s)
        first, *rest = s.github.calls
        assert first.status == 200
        assert [c for c in s.github.calls if c.status == 403] == [], "no call was spent while the token had none"
        assert all(c.at >= reset for c in rest), "every proposal waited for the reset, not only the first call"
