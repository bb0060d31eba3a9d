"""NoneForge: push-only mode never reports a pull request."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.forges import base, none


def forge() -> base.Forge:
    # Typed as the protocol: mypy checks NoneForge satisfies it.
    return none.NoneForge()


async def test_open_or_update_reports_a_push_without_pull_request() -> None:
    request = base.PullRequestRequest(
        repository="acme/fleet",
        base="main",
        head="helm-upgrader/apps/podinfo",
        title="Update podinfo to 6.7.1 in apps/podinfo",
        body="body",
        labels=("dependencies",),
    )
    result = await forge().open_or_update(request)
    assert result.action == "pushed"
    assert (result.number, result.url, result.pull_request) == (None, None, None)
    assert result.warnings == ()


async def test_find_sees_no_pull_request() -> None:
    assert await forge().find_pull_request("helm-upgrader/apps/podinfo") is None


async def test_get_is_not_found() -> None:
    with pytest.raises(base.ForgeError) as caught:
        await forge().get(1)
    assert caught.value.kind == "not_found"
    assert "none" in str(caught.value)


async def test_close_is_harmless() -> None:
    instance = forge()
    await instance.close()
    assert await instance.find_pull_request("x") is None
