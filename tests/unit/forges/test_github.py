"""GitHubForge against the GitHub stand-in: PR lifecycle, dedupe, retries, errors, Enterprise, Apps."""

from __future__ import annotations

import asyncio

import pytest

from fluxcd_helm_upgrader.forges import base, github, retrying
from fluxcd_helm_upgrader.testkit import github as standin
from fluxcd_helm_upgrader.testkit import github_payloads as payloads
from tests.unit.forges.support import REPO, TOKEN, Sleeps


def request(**overrides: object) -> base.PullRequestRequest:
    values: dict[str, object] = dict(
        repository=REPO,
        base="main",
        head="helm-upgrader/apps/podinfo",
        title="Update podinfo to 6.7.1 in apps/podinfo",
        body="first body",
        labels=("dependencies", "helm"),
        assignees=("alice",),
        reviewers=("bob", "acme/platform"),
        draft=True,
    )
    values.update(overrides)
    return base.PullRequestRequest(**values)  # type: ignore[arg-type]


def forge_for(
    gh: standin.GitHubStandIn,
    policy: retrying.RetryPolicy,
    *,
    token: str = TOKEN,
    repository: str = REPO,
    api_url: str | None = None,
) -> github.GitHubForge:
    return github.GitHubForge(repository, github.TokenCredentials(token), api_url=api_url or gh.api_url, retry=policy)


def pull_creations(gh: standin.GitHubStandIn) -> list[standin.Call]:
    return [c for c in gh.calls if c.method == "POST" and c.path == f"/repos/{REPO}/pulls"]


async def test_creates_one_pull_request_with_labels_assignees_and_reviewers(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy
) -> None:
    result = await forge_for(gh, policy).open_or_update(request())

    [pr] = gh.pull_requests()
    assert result.action == "created"
    assert result.number == pr.number
    assert result.url == f"{gh.urls.html}/{REPO}/pull/{pr.number}"
    assert result.pull_request is not None and result.pull_request.state == "open"
    assert (pr.title, pr.body, pr.head, pr.base, pr.draft) == (
        "Update podinfo to 6.7.1 in apps/podinfo",
        "first body",
        "helm-upgrader/apps/podinfo",
        "main",
        True,
    )
    assert pr.labels == ["dependencies", "helm"]
    assert pr.assignees == ["alice"]
    assert pr.reviewers == ["bob"] and pr.team_reviewers == ["platform"]
    assert result.warnings == ()
    assert all(call.has_authorization for call in gh.calls)


async def test_second_call_updates_the_same_pull_request(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy
) -> None:
    first = await forge_for(gh, policy).open_or_update(request())
    # A fresh forge: as after an operator restart, or from a second cluster sharing the repository.
    second = await forge_for(gh, policy).open_or_update(
        request(title="Update podinfo to 6.8.0 in apps/podinfo", body="second body", labels=("security",))
    )

    [pr] = gh.pull_requests()
    assert second.action == "updated"
    assert second.number == first.number == pr.number
    assert (pr.title, pr.body) == ("Update podinfo to 6.8.0 in apps/podinfo", "second body")
    assert pr.labels == ["dependencies", "helm", "security"]
    assert len(pull_creations(gh)) == 1


async def test_concurrent_opens_for_one_branch_leave_one_pull_request(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy
) -> None:
    results = await asyncio.gather(
        forge_for(gh, policy).open_or_update(request(body="cluster a")),
        forge_for(gh, policy).open_or_update(request(body="cluster b")),
    )

    assert len(gh.pull_requests()) == 1
    assert sorted(r.action for r in results) == ["created", "updated"]
    assert results[0].number == results[1].number


async def test_find_reports_open_closed_and_merged(gh: standin.GitHubStandIn, policy: retrying.RetryPolicy) -> None:
    forge = forge_for(gh, policy)
    branch = "helm-upgrader/apps/podinfo"
    assert await forge.find_pull_request(branch) is None

    created = await forge.open_or_update(request())
    found = await forge.find_pull_request(branch)
    assert found is not None and (found.number, found.state, found.head_branch) == (created.number, "open", branch)

    assert created.number is not None
    gh.close(created.number)
    closed = await forge.find_pull_request(branch)
    assert closed is not None and (closed.number, closed.state) == (created.number, "closed")

    # Closed without merge is not reused: the next proposal gets a new PR, and it wins over the old one.
    reopened = await forge.open_or_update(request(title="Update podinfo to 6.9.0 in apps/podinfo"))
    assert reopened.action == "created" and reopened.number != created.number
    assert reopened.number is not None
    gh.merge(reopened.number)
    merged = await forge.find_pull_request(branch)
    assert merged is not None and (merged.number, merged.state) == (reopened.number, "merged")
    assert (await forge.get(created.number)).state == "closed"
    assert await forge.find_pull_request("helm-upgrader/other/branch") is None


async def test_server_errors_are_retried_with_backoff(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy, sleeps: Sleeps
) -> None:
    gh.fail_next(2, status=502)
    result = await forge_for(gh, policy).open_or_update(request())

    assert result.action == "created"
    assert [c.status for c in gh.calls[:3]] == [502, 502, 200]
    assert sleeps.delays == [1.0, 2.0]


async def test_secondary_rate_limit_waits_for_retry_after(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy, sleeps: Sleeps
) -> None:
    gh.rate_limit_next(1, retry_after=7)
    result = await forge_for(gh, policy).open_or_update(request())

    assert result.action == "created"
    assert sleeps.delays == [pytest.approx(7.0)]
    assert gh.calls[0].status == 403


async def test_bare_429_is_retried(gh: standin.GitHubStandIn, policy: retrying.RetryPolicy, sleeps: Sleeps) -> None:
    gh.too_many_requests_next(1)
    assert await forge_for(gh, policy).find_pull_request("x") is None
    assert sleeps.delays == [1.0]


async def test_rate_limit_longer_than_the_cap_fails_at_once(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy, sleeps: Sleeps
) -> None:
    gh.rate_limit_next(1, retry_after=3600)
    with pytest.raises(base.ForgeError) as caught:
        await forge_for(gh, policy).open_or_update(request())

    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after == pytest.approx(3600)
    assert sleeps.delays == []
    assert len(gh.calls) == 1


async def test_attempts_are_bounded(gh: standin.GitHubStandIn, policy: retrying.RetryPolicy, sleeps: Sleeps) -> None:
    gh.fail_next(100, status=503)
    with pytest.raises(base.ForgeError) as caught:
        await forge_for(gh, policy).find_pull_request("helm-upgrader/apps/podinfo")

    assert caught.value.kind == "server"
    assert "gave up after 4 attempts" in str(caught.value)
    assert len(gh.calls) == policy.max_attempts == 4
    assert sleeps.delays == [1.0, 2.0, 4.0]


async def test_bad_token_is_an_auth_error_without_retry(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy, sleeps: Sleeps
) -> None:
    with pytest.raises(base.ForgeError) as caught:
        await forge_for(gh, policy, token="ghp_wrong").open_or_update(request())

    assert caught.value.kind == "auth" and caught.value.status == 401
    assert "Bad credentials" in str(caught.value)
    assert len(gh.calls) == 1 and sleeps.delays == []


async def test_unknown_repository_is_not_found(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy, sleeps: Sleeps
) -> None:
    forge = forge_for(gh, policy, repository="acme/missing")
    with pytest.raises(base.ForgeError) as caught:
        await forge.open_or_update(request(repository="acme/missing"))
    assert caught.value.kind == "not_found" and caught.value.status == 404
    assert "acme/missing" in str(caught.value)

    with pytest.raises(base.ForgeError) as missing_pr:
        await forge_for(gh, policy).get(999)
    assert missing_pr.value.kind == "not_found"
    assert sleeps.delays == []


async def test_rejected_reviewer_is_a_warning_not_a_failure(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy
) -> None:
    gh.rejected_reviewers.add("bob")
    result = await forge_for(gh, policy).open_or_update(request())

    assert result.action == "created"
    assert len(result.warnings) == 1 and "collaborator" in result.warnings[0]
    assert gh.pull_requests()[0].labels == ["dependencies", "helm"]


async def test_rate_limit_remaining_is_recorded(gh: standin.GitHubStandIn, policy: retrying.RetryPolicy) -> None:
    forge = forge_for(gh, policy)
    assert forge.rate_limit_remaining is None
    await forge.open_or_update(request())
    assert forge.rate_limit_remaining == 5000 - len(gh.calls)


async def test_enterprise_api_prefix(policy: retrying.RetryPolicy) -> None:
    async with standin.GitHubStandIn(token=TOKEN, prefix="/api/v3") as ghe:
        assert ghe.api_url.endswith("/api/v3")
        result = await forge_for(ghe, policy).open_or_update(request())
        assert result.action == "created" and len(ghe.pull_requests()) == 1
        assert {c.status for c in ghe.calls} <= {200, 201}

        # Without the prefix nothing answers: proves the forge really used the Enterprise base URL.
        with pytest.raises(base.ForgeError) as caught:
            await forge_for(ghe, policy, api_url=ghe.urls.html).find_pull_request("x")
        assert caught.value.kind == "not_found"


async def test_pull_request_closed_through_the_api_reads_as_closed(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy
) -> None:
    import githubkit

    created = await forge_for(gh, policy).open_or_update(request(draft=False))
    assert created.number is not None and not gh.pull_requests()[0].draft
    client = githubkit.GitHub(TOKEN, base_url=gh.api_url, auto_retry=False, http_cache=False)
    closed = await client.rest.pulls.async_update("acme", "fleet", created.number, state="closed")
    assert closed.parsed_data.state == "closed"

    found = await forge_for(gh, policy).find_pull_request("helm-upgrader/apps/podinfo")
    assert found is not None and (found.number, found.state) == (created.number, "closed")
    patches = [c for c in gh.calls if c.method == "PATCH"]
    assert [c.json for c in patches] == [{"state": "closed"}]


async def test_open_pull_requests_are_one_paginated_list_for_the_whole_repository(
    gh: standin.GitHubStandIn, policy: retrying.RetryPolicy
) -> None:
    pulls = gh.pulls[REPO]
    for number in range(1, 251):
        head = f"helm-upgrader/apps/app{number}" if number % 50 else f"renovate/dep{number}"
        pulls[number] = payloads.PullState(number, 1000 + number, f"Update app{number}", None, head, "main", False)
    for number in (7, 8, 9):
        gh.close(number)
    gh.pulls[REPO][12].title = "a person renamed it"

    found = await forge_for(gh, policy).open_pull_requests("helm-upgrader/")

    expected = {f"helm-upgrader/apps/app{n}" for n in range(1, 251) if n % 50 and n not in (7, 8, 9)}
    assert set(found) == expected
    assert found["helm-upgrader/apps/app12"].number == 12 and found["helm-upgrader/apps/app12"].state == "open"
    assert [(c.method, c.query.get("state"), c.query.get("page")) for c in gh.calls] == [
        ("GET", "open", "1"), ("GET", "open", "2"), ("GET", "open", "3")
    ]  # fmt: skip
