"""Downloading the charts a proposal compares: index `urls` (relative, absolute, redirected) with the repository's
credentials only where Helm would send them, OCI chart layers, size caps, and one download per digest."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from fluxcd_helm_upgrader.checking import indexes
from fluxcd_helm_upgrader.sources import charts, oci
from fluxcd_helm_upgrader.structs import flux
from fluxcd_helm_upgrader.testkit.demo import charts as demo_charts
from tests.unit.sources.http_fixtures import local_server
from tests.unit.sources.test_auth import CANARY, FakeCoreV1

TGZ = demo_charts.package("podinfo", "6.7.1", {"values.yaml": "replicaCount: 1\n"}, kube_version=">=1.25.0-0")
SECRETS = FakeCoreV1({("flux-system", "auth"): {"username": b"bob", "password": CANARY.encode()}})


def _repo(url: str, **kwargs: Any) -> flux.HelmRepository:
    return flux.HelmRepository("flux-system", "charts", url, secret_name="auth", **kwargs)


def _entry(url: str, digest: str | None = "abc") -> indexes.ChartVersion:
    return indexes.ChartVersion("podinfo", "6.7.1", urls=(url,), digest=digest)


def _fetcher(**kwargs: Any) -> charts.ChartFetcher:
    return charts.ChartFetcher(None, timeout=5.0, **kwargs)


async def _serve_tgz(request: web.Request) -> web.Response:
    if request.path.endswith("/moved.tgz"):
        raise web.HTTPFound("/charts/podinfo-6.7.1.tgz")
    if request.path.endswith("podinfo-6.7.1.tgz"):
        return web.Response(body=TGZ, content_type="application/gzip", headers={"Content-Encoding": "gzip"})
    return web.Response(status=404)


async def test_relative_url_with_credentials_read_once_per_digest() -> None:
    async with local_server(_serve_tgz) as server:
        fetcher = _fetcher()
        try:
            wanted = charts.HttpChartRef(_repo(f"{server.url}/charts/"), _entry("podinfo-6.7.1.tgz"))
            first = await fetcher.chart(wanted, SECRETS)
            again = await fetcher.chart(wanted, SECRETS)
        finally:
            await fetcher.close()
    assert (first.name, first.version, first.kube_version, dict(first.values)) == (
        "podinfo", "6.7.1", ">=1.25.0-0", {"replicaCount": 1},
    )  # fmt: skip
    assert again is first and fetcher.downloads == 1 and server.hits("/charts/podinfo-6.7.1.tgz") == 1
    assert server.seen[0].headers["Authorization"].startswith("Basic ")


async def test_credentials_go_to_another_host_only_with_pass_credentials() -> None:
    async with local_server(_serve_tgz) as server:
        elsewhere = server.url.replace("127.0.0.1", "localhost")  # same server, another host name
        for pass_credentials, expected in ((False, False), (True, True)):
            fetcher = _fetcher()
            try:
                repo = _repo(f"{server.url}/charts", pass_credentials=pass_credentials)
                await fetcher.chart(charts.HttpChartRef(repo, _entry(f"{elsewhere}/charts/moved.tgz")), SECRETS)
            finally:
                await fetcher.close()
            assert [("Authorization" in s.headers) for s in server.seen[-2:]] == [expected, expected]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("missing.tgz", "HTTP 404 fetching http://127.0.0.1:"),
        ("ftp://example.com/x.tgz", "is not an http(s) URL"),
    ],
)
async def test_failures_are_clear_and_carry_no_credentials(url: str, message: str) -> None:
    async with local_server(_serve_tgz) as server:
        fetcher = _fetcher()
        try:
            repo = _repo(f"http://bob:{CANARY}@127.0.0.1:{server.port}/charts")
            with pytest.raises(charts.ChartFetchError, match=re.escape(message)) as caught:
                await fetcher.chart(charts.HttpChartRef(repo, _entry(url)), SECRETS)
        finally:
            await fetcher.close()
    assert CANARY not in str(caught.value)


async def test_size_cap_and_unreadable_archives() -> None:
    async def garbage(request: web.Request) -> web.Response:
        return web.Response(body=b"<html>not a chart</html>" * 10)

    async with local_server(garbage) as server:
        fetcher = _fetcher(max_bytes=100)
        try:
            repo = flux.HelmRepository("flux-system", "charts", server.url)
            with pytest.raises(charts.ChartFetchError, match="over the 100-byte limit"):
                await fetcher.chart(charts.HttpChartRef(repo, _entry("a.tgz")), SECRETS)
            fetcher = _fetcher()
            with pytest.raises(charts.ChartFetchError, match=r"not a readable \.tgz"):
                await fetcher.chart(charts.HttpChartRef(repo, _entry("b.tgz")), SECRETS)
        finally:
            await fetcher.close()


async def test_oci_chart_layer_is_read_once_per_layer_digest() -> None:
    layer_digest = "sha256:" + hashlib.sha256(TGZ).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": oci.OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": "sha256:" + "0" * 64, "size": 2},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": layer_digest,
                    "size": len(TGZ)}],
    }).encode()  # fmt: skip

    async def registry(request: web.Request) -> web.Response:
        if "/manifests/" in request.path:
            return web.Response(body=manifest, content_type=oci.OCI_MANIFEST)
        if request.path.endswith(layer_digest):
            return web.Response(body=TGZ)
        return web.Response(status=404)

    async with local_server(registry) as server, aiohttp.ClientSession() as session:
        fetcher = charts.ChartFetcher(oci.OciClient(session))
        ref = oci.parse_ref(f"oci://127.0.0.1:{server.port}/charts/podinfo", insecure=True)
        for tag in ("6.7.1", "latest"):  # two tags, one layer
            chart = await fetcher.chart(charts.OciChartRef(ref, tag), SECRETS)
            assert chart.kube_version == ">=1.25.0-0"
    assert fetcher.downloads == 1
    assert sum(1 for s in server.seen if "/blobs/" in s.path) == 1
