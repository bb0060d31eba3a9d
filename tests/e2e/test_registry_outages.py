"""An OCI registry answering 5xx, seen through the real operator (issue 11, item 6).

A real registry (Debian's docker-registry) sits behind a small proxy that can answer 503 for everything. A short
burst of 503s is retried within the cycle (bounded backoff) and the OCI release gets its PR; a registry that stays
down fails only its release (FetchFailed in status.failedReleases, after a bounded number of requests) while the
HTTP release of the same config gets its PR, and the cycle after the registry is back opens the OCI release's PR,
exactly once. Skips when /usr/bin/docker-registry is absent (fails under CI=true).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web

from fluxcd_helm_upgrader.testkit.demo import running as demo
from tests import builders
from tests.e2e import harness
from tests.e2e.test_oci_flows import NS, Fleet, oci_helm_repository, push, release_from_repository, seeded
from tests.support import registry

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("registry_installed", "backend")]

HOP_BY_HOP = ("content-length", "transfer-encoding", "content-encoding")  # aiohttp sets them for the body it sends
UNAVAILABLE = {"errors": [{"code": "UNAVAILABLE", "message": "service unavailable", "detail": None}]}


class Proxy:
    """Forwards every request to the registry, or answers 503 for the next `failing` ones (-1: all of them)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.failing = 0
        self.answered_503 = 0
        self.host = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if self.failing:
            self.failing -= 1 if self.failing > 0 else 0
            self.answered_503 += 1
            return web.json_response(UNAVAILABLE, status=503)
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=await request.read(),
            allow_redirects=False,
        ) as upstream:  # fmt: skip
            body = await upstream.read()
            kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=upstream.status, body=body, headers=kept)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Proxy]:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.host = f"127.0.0.1:{self._runner.addresses[0][1]}"
        try:
            yield self
        finally:
            await self._runner.cleanup()
            await self._session.close()


@contextlib.asynccontextmanager
async def _fleet(tmp_path: Path, reg: registry.RegistryProcess, failing: int) -> AsyncIterator[tuple[Fleet, Proxy]]:
    """An OCI release behind the proxy (`failing` 503s first) and an HTTP release of the same config."""
    await push(reg.url, "charts/podinfo", ["6.5.0", "6.7.1"])
    charts_server = demo.chart_server()
    await charts_server.start()
    try:
        async with Proxy(reg.url).running() as proxy:
            proxy.failing = failing
            files = {
                "infra/oci-charts.yaml": oci_helm_repository("oci-charts", f"oci://{proxy.host}/charts"),
                "infra/http-charts.yaml": yaml.safe_dump(
                    builders.helm_repository("http-charts", charts_server.repo_url("demo"), namespace=NS)
                ),
                "apps/oci.yaml": release_from_repository("oci", "podinfo", "6.5.0", "oci-charts"),
                "apps/http.yaml": release_from_repository("http", "podinfo", "6.5.0", "http-charts"),
            }
            async with seeded(tmp_path, files) as s:
                yield s, proxy
    finally:
        await charts_server.stop()


def _assert_one_pr_each(s: Fleet) -> None:
    assert sorted(p.head for p in s.github.pull_requests()) == ["helm-upgrader/apps/http", "helm-upgrader/apps/oci"]
    assert s.pull("oci").number == s.proposal("apps.oci")["status"]["pullRequest"]["number"]
    assert s.changed("oci")[-1].endswith('version: "6.7.1"'), s.changed("oci")


async def test_a_burst_of_503s_is_retried_within_the_cycle(
    tmp_path: Path, anonymous_registry: registry.RegistryProcess
) -> None:
    async with _fleet(tmp_path, anonymous_registry, failing=2) as (s, proxy):
        async with s.local.run_operator():
            await harness.wait_for(
                lambda: s.phase("apps.oci") == s.phase("apps.http") == "Open", what="both PRs", timeout=60
            )
            status = (s.local.get("upgraderconfigs", NS, "fleet") or {})["status"]
            assert status["failedReleases"] == []
            assert proxy.answered_503 == 2
        _assert_one_pr_each(s)


async def test_a_registry_down_fails_only_its_release_then_recovers(
    tmp_path: Path, anonymous_registry: registry.RegistryProcess
) -> None:
    async with _fleet(tmp_path, anonymous_registry, failing=-1) as (s, proxy):
        async with s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.http") == "Open", what="HTTP release PR", timeout=60)
            status = (s.local.get("upgraderconfigs", NS, "fleet") or {})["status"]
            [failed] = status["failedReleases"]
            assert (failed["release"], failed["reason"]) == ("apps/oci", "FetchFailed")
            assert "503" in failed["message"], failed
            assert s.local.get("upgradeproposals", NS, "apps.oci") is None
            assert 1 <= proxy.answered_503 <= 4, "bounded: the first request and its 3 retries, no more in a cycle"

            proxy.failing = 0
            await harness.request_cycle(s.local, "registry-back", timeout=30)
            await harness.wait_for(lambda: s.phase("apps.oci") == "Open", what="OCI release PR", timeout=60)
        _assert_one_pr_each(s)
