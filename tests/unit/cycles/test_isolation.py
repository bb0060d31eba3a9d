"""One hostile source or one unexpected error fails only the releases that needed it (issue 10, item 1).

A real `OciClient` talks to a local registry stand-in that answers a deeply nested tag list (json.loads raises
RecursionError) for one repository and a 2 MB tag for another; an injected fault stands for a bug we do not know
of yet. Each case ends in the Outcome the handler turns into status.failedReleases; the other releases are checked.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.checking import decisions
from fluxcd_helm_upgrader.cycles import reporting, running
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.sources import oci
from fluxcd_helm_upgrader.structs import flux
from tests.fakes import FakeSecrets
from tests.unit.sources import http_fixtures

NESTED = b"[" * 200_000 + b"]" * 200_000  # 400 KB: far under the body cap, far over the recursion limit
HUGE_TAG = "1" + "0" * (2 << 20) + ".0.0"  # a 2 MB tag whose digits no int() may ever see


async def _registry(request: web.Request) -> web.StreamResponse:
    if request.path == "/v2/nested/chart/tags/list":
        return web.Response(body=NESTED, content_type="application/json")
    if request.path == "/v2/huge/chart/tags/list":
        return web.json_response({"name": "huge/chart", "tags": [HUGE_TAG, "1.0.0", "1.1.0"]})
    if request.path == "/v2/good/chart/tags/list":
        return web.json_response({"name": "good/chart", "tags": ["1.0.0", "1.2.0"]})
    return web.json_response({"errors": [{"code": "NAME_UNKNOWN"}]}, status=404)


@pytest.fixture
async def registry() -> AsyncIterator[str]:
    async with http_fixtures.local_server(_registry) as server:
        yield f"127.0.0.1:{server.port}"


def _cfg() -> config_.UpgraderConfigSpec:
    return config_.parse({"interval": "30m", "git": {"url": "file:///tmp/x.git"}, "pullRequests": {"provider": "none"}})


def _oci_view(host: str, *repositories: str) -> FluxView:
    releases, sources = {}, {}
    for repository in repositories:
        name = repository.split("/")[0]
        releases[("apps", name)] = flux.helm_release(
            {"metadata": {"namespace": "apps", "name": name},
             "spec": {"chartRef": {"kind": "OCIRepository", "name": name}}}
        )  # fmt: skip
        sources[("apps", name)] = flux.oci_repository(
            {"metadata": {"namespace": "apps", "name": name},
             "spec": {"url": f"oci://{host}/{repository}", "insecure": True, "ref": {"tag": "1.0.0"}}}
        )  # fmt: skip
    return FluxView(releases=releases, oci_repositories=sources)


async def _run(view: FluxView) -> running.Outcome:
    async with (
        aiohttp.ClientSession() as session,
        http_fixtures.new_fetcher() as fetcher,
    ):
        return await running.run(_cfg(), view, fetcher=fetcher, secrets_api=FakeSecrets({}),
                                 oci_client=oci.OciClient(session, retries=0))  # fmt: skip


async def test_a_deeply_nested_tag_list_fails_only_its_release(registry: str) -> None:
    outcome = await _run(_oci_view(registry, "nested/chart", "good/chart"))
    assert [c.release.name for c in outcome.outdated] == ["good"]
    (failed,) = reporting.failed_releases(outcome)
    assert failed["release"] == "apps/nested"
    assert failed["reason"] == "FetchFailed"
    assert "nested too deeply" in failed["message"]


async def test_a_2mb_tag_is_dropped_where_tags_enter(registry: str) -> None:
    outcome = await _run(_oci_view(registry, "huge/chart", "good/chart"))
    assert outcome.failed == ()
    targets = {c.release.name: c.target for c in outcome.outdated}
    assert targets == {"huge": "1.1.0", "good": "1.2.0"}


async def test_an_unexpected_error_in_one_decision_fails_only_that_release(
    monkeypatch: pytest.MonkeyPatch, registry: str
) -> None:
    real = decisions.decide

    def buggy(**kwargs: object) -> decisions.Decision:
        if kwargs["release"] == "apps/nested":
            raise KeyError("a bug nobody has found yet")
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(decisions, "decide", buggy)
    # "nested" here is a healthy repository: only the injected fault can fail it.
    view = _oci_view(registry, "good/chart")
    view = FluxView(
        releases={**view.releases, ("apps", "nested"): view.releases[("apps", "good")].__class__(
            namespace="apps", name="nested", source=view.releases[("apps", "good")].source, uses_chart_ref=True)},
        oci_repositories=view.oci_repositories,
    )  # fmt: skip
    outcome = await _run(view)
    assert [c.release.name for c in outcome.outdated] == ["good"]
    (failed,) = reporting.failed_releases(outcome)
    assert failed["release"] == "apps/nested"
    assert failed["reason"] == "CheckFailed"
    assert "KeyError" in failed["message"] and "a bug nobody has found yet" in failed["message"]


def test_an_index_entry_too_long_to_be_a_version_is_left_out() -> None:
    # What `running` keeps of an index: versions as Helm could ever write them; json keeps the test honest.
    kept = running.plausible_versions(["1.0.0", HUGE_TAG, "v2.0.0", "x" * 300])
    assert json.dumps(kept) == json.dumps(["1.0.0", "v2.0.0"])
