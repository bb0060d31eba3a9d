"""The process's rate-limit gates (`forges.rate_limits`): what one forge learns about a token holds for every forge
with that token, so an exhausted token costs no further calls until its reset (issue 11, item 6)."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.forges import base, github, rate_limits, retrying
from fluxcd_helm_upgrader.testkit import github as standin
from tests.unit.forges.support import REPO, TOKEN, Sleeps

NOW = 1_800_000_000.0


def _forge(gh: standin.GitHubStandIn, policy: retrying.RetryPolicy) -> github.GitHubForge:
    """A new forge, as the worker builds one per job."""
    return github.GitHubForge(REPO, github.TokenCredentials(TOKEN), api_url=gh.api_url, retry=policy)


@pytest.mark.parametrize(
    ("status", "headers", "closed_for"),
    [
        (200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 90)}, 90.0),  # the last call
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)}, 30.0),  # primary, refused
        (403, {"x-ratelimit-remaining": "12", "retry-after": "60"}, 60.0),  # secondary
        (429, {"retry-after": "5"}, 5.0),
        (200, {"x-ratelimit-remaining": "1", "x-ratelimit-reset": str(int(NOW) + 90)}, 0.0),  # one left
        (200, {"retry-after": "60"}, 0.0),  # Retry-After on a success means nothing
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 5)}, 0.0),  # reset already passed
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"}, 0.0),  # unreadable: not a gate
    ],
)
def test_what_closes_a_gate(status: int, headers: dict[str, str], closed_for: float) -> None:
    limits = rate_limits.RateLimits(now=lambda: NOW)
    key = limits.key("https://api.github.com", "token-a")
    limits.record(key, status, headers)
    assert limits.wait(key) == pytest.approx(closed_for)
    assert limits.wait(limits.key("https://api.github.com", "token-b")) == 0.0  # another token is not limited
    assert limits.wait(limits.key("https://ghe.example/api/v3", "token-a")) == 0.0  # nor another GitHub


def test_a_gate_opens_at_its_reset() -> None:
    clock = [NOW]
    limits = rate_limits.RateLimits(now=lambda: clock[0])
    key = limits.key("https://api.github.com/", "token")
    limits.record(key, 200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 60)})
    limits.record(key, 429, {"retry-after": "5"})  # a shorter secondary limit never shortens the primary one
    clock[0] += 59
    assert limits.wait(key) == pytest.approx(1.0)
    clock[0] += 1
    assert limits.wait(key) == 0.0
    assert "token" not in repr(vars(limits))  # only digests are kept


async def test_an_exhausted_token_costs_no_call_for_any_other_proposal(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy, sleeps: Sleeps
) -> None:
    gh.exhaust_rate_limit(after=2, reset_in=3600)  # find_pull_request lists open, then all
    assert await _forge(gh, policy).find_pull_request("helm-upgrader/apps/podinfo") is None  # the last two calls left

    for branch in ("helm-upgrader/apps/cache", "helm-upgrader/apps/redis"):  # two more proposals, two new forges
        with pytest.raises(base.ForgeError) as caught:
            await _forge(gh, policy).find_pull_request(branch)
        assert caught.value.kind == "rate_limited"
        assert caught.value.retry_after == pytest.approx(gh.rate_limit_reset - rate_limits.SHARED.now(), abs=2)
        assert "used up until" in str(caught.value) and "no request sent" in str(caught.value)
        assert TOKEN not in str(caught.value)
    assert len(gh.calls) == 2, "the token's exhaustion was learnt once, not once per proposal"
    assert sleeps.delays == []
