"""IndexFetcher against a local aiohttp server: conditional GET, caching, dedup, bodies, errors."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from fluxcd_helm_upgrader.sources import auth, helm_http, helm_http_body
from tests.unit.sources import http_fixtures as fx

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
INDEX = (b"apiVersion: v1\nentries:\n  podinfo:\n  - version: 6.7.1\n"
         b"  nginx:\n  - version: 18.2.0\n")


class Parser:
    """A parse function that records its calls; keeps the index lines mentioning `names`."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.calls = 0
        self.threads: list[int] = []

    def __call__(self, body: bytes) -> list[str]:
        self.calls += 1
        self.threads.append(threading.get_ident())
        lines = body.decode().splitlines()
        return [line for line in lines if not self.names or any(n in line for n in self.names)]


@pytest.fixture
async def fetcher() -> AsyncIterator[helm_http.IndexFetcher]:
    instance = fx.new_fetcher()
    yield instance
    await instance.close()


def static(body: bytes, *, etag: str | None = None, last_modified: str | None = None,
           **headers: str) -> fx.Handler:
    """A handler serving `body` that honours If-None-Match / If-Modified-Since like a real server."""
    async def handler(request: web.Request) -> web.StreamResponse:
        validators = {}
        if etag:
            validators["ETag"] = etag
        if last_modified:
            validators["Last-Modified"] = last_modified
        if (etag and request.headers.get("If-None-Match") == etag) or (
                last_modified and request.headers.get("If-Modified-Since") == last_modified):
            return web.Response(status=304, headers=validators)
        return web.Response(body=body, headers={**validators, **headers})
    return handler


@pytest.mark.parametrize(("repo_url", "expected"), [
    ("https://charts.example.com", "https://charts.example.com/index.yaml"),
    ("https://charts.example.com/", "https://charts.example.com/index.yaml"),
    ("https://example.com/helm/stable/", "https://example.com/helm/stable/index.yaml"),
    ("https://example.com/helm?token=x", "https://example.com/helm/index.yaml?token=x"),
])
def test_index_url_joins_with_or_without_slash(repo_url: str, expected: str) -> None:
    assert helm_http.index_url(repo_url) == expected


async def test_etag_second_fetch_is_conditional_and_not_reparsed(fetcher: helm_http.IndexFetcher) -> None:
    parse = Parser()
    async with fx.local_server(static(INDEX, etag='"v1"')) as server:
        first = await fetcher.fetch(server.url, auth=None, parse=parse, parse_key="all")
        second = await fetcher.fetch(server.url + "/", auth=None, parse=parse, parse_key="all")
    assert (first.status, second.status) == ("fetched", "not_modified")
    assert first.bytes_read == len(INDEX) and second.bytes_read == 0
    assert second.value == INDEX.decode().splitlines()
    assert "If-None-Match" not in server.seen[0].headers
    assert server.seen[1].headers["If-None-Match"] == '"v1"'
    assert parse.calls == 1
    assert first.url == f"{server.url}/index.yaml"


async def test_last_modified_second_fetch_is_conditional(fetcher: helm_http.IndexFetcher) -> None:
    stamp = "Wed, 21 Oct 2026 07:28:00 GMT"
    parse = Parser()
    async with fx.local_server(static(INDEX, last_modified=stamp)) as server:
        await fetcher.fetch(server.url, auth=None, parse=parse, parse_key="all")
        second = await fetcher.fetch(server.url, auth=None, parse=parse, parse_key="all")
    assert second.status == "not_modified"
    assert server.seen[1].headers["If-Modified-Since"] == stamp
    assert parse.calls == 1


async def test_new_parse_key_after_304_reparses_stored_body(fetcher: helm_http.IndexFetcher) -> None:
    only_podinfo, only_nginx = Parser("podinfo"), Parser("nginx")
    async with fx.local_server(static(INDEX, etag='"v1"')) as server:
        first = await fetcher.fetch(server.url, auth=None, parse=only_podinfo, parse_key=("podinfo",))
        second = await fetcher.fetch(server.url, auth=None, parse=only_nginx, parse_key=("nginx",))
    assert first.value == ["  podinfo:"]
    assert second.value == ["  nginx:"]
    assert second.status == "not_modified" and second.bytes_read == 0
    assert server.hits() == 2 and only_nginx.calls == 1


async def test_changed_index_is_downloaded_and_parsed_again(fetcher: helm_http.IndexFetcher) -> None:
    published: list[tuple[bytes, str]] = [(INDEX, '"1"')]

    async def handler(request: web.Request) -> web.StreamResponse:
        body, etag = published[-1]
        return await static(body, etag=etag)(request)

    parse = Parser("redis")
    async with fx.local_server(handler) as server:
        first = await fetcher.fetch(server.url, auth=None, parse=parse, parse_key="redis")
        published.append((INDEX + b"  redis:\n  - version: 20.0.0\n", '"2"'))
        second = await fetcher.fetch(server.url, auth=None, parse=parse, parse_key="redis")
    assert first.value == [] and second.value == ["  redis:"]
    assert server.seen[1].headers["If-None-Match"] == '"1"'
    assert second.status == "fetched" and parse.calls == 2


async def test_twenty_concurrent_fetches_share_one_request(fetcher: helm_http.IndexFetcher) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.2)
        return web.Response(body=INDEX)

    parse = Parser()
    async with fx.local_server(slow) as server:
        results = await asyncio.gather(*(
            fetcher.fetch(server.url, auth=None, parse=parse, parse_key="all") for _ in range(20)))
    assert server.hits() == 1
    assert parse.calls == 1
    assert sorted(r.status for r in results) == ["cached"] * 19 + ["fetched"]
    assert all(r.value == results[0].value for r in results)


async def test_cycle_fetches_each_repository_once(fetcher: helm_http.IndexFetcher) -> None:
    parse = Parser()
    async with fx.local_server(static(INDEX, etag='"v1"')) as server:
        async with fetcher.cycle() as cycle:
            first = await cycle.fetch(server.url, auth=None, parse=parse, parse_key="all")
            again = await cycle.fetch(server.url, auth=None, parse=parse, parse_key="all")
        assert server.hits() == 1
        with fetcher.cycle() as cycle:
            next_cycle = await cycle.fetch(server.url, auth=None, parse=parse, parse_key="all")
    assert (first.status, again.status, next_cycle.status) == ("fetched", "cached", "not_modified")
    assert server.hits() == 2


async def test_cycle_remembers_a_failure(fetcher: helm_http.IndexFetcher) -> None:
    async def broken(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500)

    async with fx.local_server(broken) as server, fetcher.cycle() as cycle:
        for _ in range(3):
            with pytest.raises(helm_http.FetchError, match="HTTP 500"):
                await cycle.fetch(server.url, auth=None, parse=Parser(), parse_key="all")
    assert server.hits() == 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_content_encoding_is_decoded(fetcher: helm_http.IndexFetcher, encoding: str) -> None:
    packed = gzip.compress(INDEX) if encoding == "gzip" else zlib.compress(INDEX)
    async with fx.local_server(static(packed, **{"Content-Encoding": encoding})) as server:
        fetched = await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
    assert fetched.value == INDEX
    assert "gzip" in server.seen[0].headers["Accept-Encoding"]


async def test_gzip_body_is_inflated(fetcher: helm_http.IndexFetcher) -> None:
    # A .gz file served as-is, and split across two gzip members, as some mirrors produce.
    body = gzip.compress(INDEX[:30]) + gzip.compress(INDEX[30:])
    async with fx.local_server(static(body, **{"Content-Type": "application/gzip"})) as server:
        fetched = await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
    assert fetched.value == INDEX
    assert fetched.bytes_read == len(body)


@pytest.mark.parametrize("wrap", [lambda b: b, gzip.compress], ids=["plain", "gzip"])
async def test_utf8_bom_is_stripped(fetcher: helm_http.IndexFetcher, wrap: object) -> None:
    body = wrap(b"\xef\xbb\xbf" + INDEX)  # type: ignore[operator]
    async with fx.local_server(static(body)) as server:
        fetched = await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
    assert fetched.value == INDEX


async def test_truncated_gzip_body_is_an_error(fetcher: helm_http.IndexFetcher) -> None:
    async with fx.local_server(static(gzip.compress(INDEX * 50)[:-20])) as server:
        with pytest.raises(helm_http.FetchError, match="truncated gzip"):
            await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")


async def test_size_cap_aborts_an_endless_stream() -> None:
    sent, finished = [0], asyncio.Event()
    total = 512 * 1024 * 1024

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            while sent[0] < total:
                await response.write(chunk)
                sent[0] += len(chunk)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up: what we want
        finally:
            finished.set()
        return response

    fetcher = fx.new_fetcher(max_bytes=256 * 1024)
    try:
        async with fx.local_server(endless) as server:
            with pytest.raises(helm_http.FetchError, match=r"index larger than 0\.25 MiB"):
                await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
            await asyncio.wait_for(finished.wait(), 10)
    finally:
        await fetcher.close()
    assert sent[0] < total  # the download was cut off, not read to the end


@pytest.mark.parametrize("as_content_encoding", [False, True], ids=["gzip-body", "content-encoding"])
async def test_size_cap_stops_decompression_bombs(as_content_encoding: bool) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), 9)  # 64 MiB of zeros in ~64 KiB
    headers = {"Content-Encoding": "gzip"} if as_content_encoding else {}
    fetcher = fx.new_fetcher(max_bytes=1024 * 1024)
    try:
        async with fx.local_server(static(bomb, **headers)) as server:
            with pytest.raises(helm_http.FetchError, match="index larger than 1 MiB"):
                await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
    finally:
        await fetcher.close()


async def test_timeout_is_a_clear_fetch_error() -> None:
    async def stuck(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(body=INDEX)

    fetcher = fx.new_fetcher(timeout=0.3)
    try:
        async with fx.local_server(stuck) as server:
            started = time.monotonic()
            with pytest.raises(helm_http.FetchError, match=r"timed out after 0\.3s fetching http://127"):
                await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
    finally:
        await fetcher.close()
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(("status", "reason"), [(500, "Internal Server Error"), (404, "Not Found")])
async def test_error_status_is_a_fetch_error(fetcher: helm_http.IndexFetcher, status: int,
                                             reason: str) -> None:
    async def failing(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status)

    async with fx.local_server(failing) as server:
        with pytest.raises(helm_http.FetchError) as caught:
            await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
    assert caught.value.status == status
    assert str(caught.value) == f"HTTP {status} {reason} fetching {server.url}/index.yaml"


async def test_connection_refused_is_a_fetch_error(fetcher: helm_http.IndexFetcher) -> None:
    async with fx.local_server(static(INDEX)) as server:
        url = server.url
    with pytest.raises(helm_http.FetchError, match="cannot connect"):
        await fetcher.fetch(url, auth=None, parse=bytes, parse_key="raw")


async def test_parse_runs_off_the_event_loop_thread(fetcher: helm_http.IndexFetcher) -> None:
    parse = Parser()
    async with fx.local_server(static(INDEX)) as server:
        await fetcher.fetch(server.url, auth=None, parse=parse, parse_key="all")
    assert parse.threads and parse.threads[0] != threading.get_ident()


async def test_userinfo_in_url_becomes_a_header_and_is_not_shown(fetcher: helm_http.IndexFetcher) -> None:
    async with fx.local_server(static(INDEX)) as server:
        url = server.url.replace("http://", "http://bob:CANARY-pw@")
        fetched = await fetcher.fetch(url, auth=None, parse=bytes, parse_key="raw")
    expected = auth.RepoAuth(username="bob", password="CANARY-pw").authorization()
    assert server.seen[0].headers["Authorization"] == expected
    assert "CANARY" not in fetched.url and "bob" not in fetched.url


@pytest.mark.parametrize("failure", ["status", "refused", "timeout"])
async def test_errors_never_contain_the_password(failure: str) -> None:
    canary = "CANARY-s3cr3t-pw"
    credentials = auth.RepoAuth(username="bob", password=canary)

    async def handler(request: web.Request) -> web.StreamResponse:
        if failure == "timeout":
            await asyncio.sleep(5)
        return web.Response(status=401, reason=f"Unauthorized {request.headers.get('Authorization')}")

    fetcher = fx.new_fetcher(timeout=0.3)
    try:
        async with fx.local_server(handler) as server:
            url = server.url.replace("http://", f"http://alice:{canary}@")
            if failure == "refused":
                await server_stop(server)
            with pytest.raises(helm_http.FetchError) as caught:
                await fetcher.fetch(url, auth=credentials, parse=bytes, parse_key="raw")
    finally:
        await fetcher.close()
    rendered = f"{caught.value} {caught.value!r} {caught.value.url}"
    assert canary not in rendered
    assert "alice" not in rendered and "Ym9i" not in rendered  # no userinfo, no base64 of "bob:"


async def server_stop(server: fx.Server) -> None:
    """Point `server.url` at a port nobody listens on (a closed ephemeral port)."""
    async with fx.local_server(static(b"")) as other:
        closed = other.url
    server.url = closed


@pytest.mark.parametrize("body", [INDEX, gzip.compress(INDEX), b"x", b""], ids=["plain", "gz", "1b", "0b"])
def test_body_reader_handles_byte_at_a_time_chunks(body: bytes) -> None:
    reader = helm_http_body.BodyReader(max_bytes=1024)
    for i in range(len(body)):
        reader.feed(body[i:i + 1])
    assert reader.finish() == (INDEX if body.startswith(b"\x1f\x8b") else body)
    assert reader.received == len(body)


async def test_real_index_round_trip_without_blocking_the_loop(fetcher: helm_http.IndexFetcher) -> None:
    path = FIXTURES / "helm-index" / "bitnami-index.yaml"
    if not path.is_file():
        pytest.skip("shared fixtures not present")
    real = path.read_bytes()
    lags: list[float] = []

    async def ticker() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)

    ticking = asyncio.create_task(ticker())
    try:
        async with fx.local_server(static(gzip.compress(real), etag='"big"',
                                          **{"Content-Encoding": "gzip"})) as server:
            first = await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
            again = await fetcher.fetch(server.url, auth=None, parse=len, parse_key="len")
    finally:
        ticking.cancel()
    assert first.value == real and first.bytes_read == len(real)
    assert (again.status, again.value) == ("not_modified", len(real))
    assert max(lags) < 0.5
