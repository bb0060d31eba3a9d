"""Unit tests for the OCI registry client and its helpers, against small aiohttp stand-ins on 127.0.0.1.

The real-registry behaviour (push, auth modes, digests) is in tests/e2e/test_oci_registry.py; here
are the cases a real distribution registry cannot produce on demand: Link pagination, 429/5xx with
Retry-After, missing digest headers, token expiry, hostile blobs. Also the pure pieces: references,
Secret formats, WWW-Authenticate parsing and tag -> version ordering.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from fluxcd_helm_upgrader.checking import oci_tags
from fluxcd_helm_upgrader.sources import oci, oci_auth, oci_refs

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


@contextlib.asynccontextmanager
async def stand_in(handler: Handler) -> AsyncIterator[tuple[str, list[web.Request]]]:
    """Serve `handler` on 127.0.0.1:<ephemeral>; yield ("127.0.0.1:PORT", requests seen)."""
    seen: list[web.Request] = []

    async def record(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


class Sleeps:
    """An injected sleep that records delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def ref_for(host: str, repository: str = "charts/podinfo") -> oci.OciRef:
    return oci.parse_ref(f"oci://{host}/{repository}", insecure=True)


def digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


# --- references ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "chart", "registry", "repository"), [
    ("oci://ghcr.io/stefanprodan/charts", "podinfo", "ghcr.io", "stefanprodan/charts/podinfo"),
    ("oci://GHCR.io/stefanprodan/charts/", "podinfo", "ghcr.io", "stefanprodan/charts/podinfo"),
    ("oci://127.0.0.1:5000/charts", "podinfo", "127.0.0.1:5000", "charts/podinfo"),
    ("oci://registry-1.docker.io/bitnamicharts", "nginx", "docker.io", "bitnamicharts/nginx"),
])
def test_chart_ref_joins_repository_url_and_chart(
    url: str, chart: str, registry: str, repository: str
) -> None:
    ref = oci.chart_ref(url, chart)
    assert (ref.registry, ref.repository, ref.base_url) == (registry, repository, f"https://{ref.api_host}")


def test_parse_ref_docker_hub_and_insecure() -> None:
    hub = oci.parse_ref("oci://docker.io/nginx")
    assert (hub.repository, hub.api_host) == ("library/nginx", "registry-1.docker.io")
    assert oci.parse_ref("oci://10.0.0.1:5000/x/y", insecure=True).base_url == "http://10.0.0.1:5000"


@pytest.mark.parametrize("url", [
    "https://ghcr.io/stefanprodan/charts", "oci://ghcr.io", "oci://ghcr.io/", "oci://ghcr.io/Upper/case",
    "oci://ghcr.io/podinfo:6.5.0", "oci://ghcr.io/podinfo@sha256:abc", "oci://user:pw@ghcr.io/podinfo",
    "oci://ghcr.io/a//b", "oci://bad_host/x",
])
def test_parse_ref_rejects(url: str) -> None:
    with pytest.raises(oci_refs.InvalidReference):
        oci.parse_ref(url)


# --- credentials from Secrets -------------------------------------------------------------------

def dockerconfig(auths: dict[str, Any]) -> dict[str, bytes]:
    return {".dockerconfigjson": json.dumps({"auths": auths}).encode()}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(("data", "host", "expected"), [
    (dockerconfig({"ghcr.io": {"auth": b64("bot:tok:en")}}), "ghcr.io", ("bot", "tok:en")),
    (dockerconfig({"https://ghcr.io/v1/": {"auth": b64("bot:pw")}}), "ghcr.io", ("bot", "pw")),
    (dockerconfig({"reg.example.com:5000": {"username": "u", "password": "p"}}), "reg.example.com:5000",
     ("u", "p")),
    (dockerconfig({"reg.example.com": {"auth": b64("u:p")}}), "reg.example.com:5000", ("u", "p")),
    (dockerconfig({"reg.example.com:443": {"auth": b64("a:1")},
                   "reg.example.com:5000": {"auth": b64("b:2")}}),
     "reg.example.com:5000", ("b", "2")),
    (dockerconfig({"https://index.docker.io/v1/": {"auth": b64("hub:pw")}}), "docker.io", ("hub", "pw")),
    (dockerconfig({"ghcr.io": {"auth": b64("u:p")}}), "quay.io", None),
    (dockerconfig({"reg.example.com:443": {"auth": b64("u:p")}}), "reg.example.com:5000", None),
    ({".dockercfg": json.dumps({"quay.io": {"auth": b64("q:w")}}).encode()}, "quay.io", ("q", "w")),
    ({"username": b"plain", "password": b"secret"}, "anything.io", ("plain", "secret")),
    ({"username": b"only"}, "anything.io", None),
    ({}, "ghcr.io", None),
])
def test_registry_creds_from_secret(
    data: dict[str, bytes], host: str, expected: tuple[str, str] | None
) -> None:
    creds = oci.registry_creds_from_secret(data, host)
    assert (None if creds is None else (creds.username, creds.password)) == expected


@pytest.mark.parametrize("raw", [b"{not json", b'{"auths": []}', b'{"auths": {"h.io": {"auth": "%%%"}}}',
                                 b'{"auths": {"h.io": {"auth": "' + base64.b64encode(b"nocolon") + b'"}}}'])
def test_malformed_dockerconfig_is_an_error_without_content(raw: bytes) -> None:
    with pytest.raises(oci.RegistryError) as err:
        oci.registry_creds_from_secret({".dockerconfigjson": raw}, "h.io")
    assert ".dockerconfigjson" in str(err.value)
    assert "nocolon" not in str(err.value)


def test_creds_repr_hides_password() -> None:
    assert "hunter2" not in repr(oci.RegistryCreds("me", "hunter2"))


# --- WWW-Authenticate ---------------------------------------------------------------------------

def test_parse_challenges() -> None:
    parsed = oci_auth.parse_challenges([
        'Bearer realm="https://auth.example.io/token",service="registry.example.io",'
        'scope="repository:a/b:pull,push"',
        'Basic realm="say \\"hi\\"", Bearer realm=https://x/t',
    ])
    assert [(c.scheme, dict(c.params)) for c in parsed] == [
        ("bearer", {"realm": "https://auth.example.io/token", "service": "registry.example.io",
                    "scope": "repository:a/b:pull,push"}),
        ("basic", {"realm": 'say "hi"'}),
        ("bearer", {"realm": "https://x/t"}),
    ]


async def test_no_credentials_to_a_plain_http_realm_on_another_host() -> None:
    # Not even for an `insecure` registry: credentials cross the network in clear only to loopback.
    challenge = oci_auth.Challenge("bearer", {"realm": "http://auth.example.io/token"})
    async with aiohttp.ClientSession() as session:
        with pytest.raises(oci.RegistryError, match=r"plain-http.*https is required"):
            await oci_auth.fetch_token(session, challenge, oci.RegistryCreds("u", "p"), default_scope="s",
                                       client_timeout=oci.DEFAULT_TIMEOUT)


# --- tags -> versions ---------------------------------------------------------------------------

def test_tags_to_versions_orders_by_semver_and_counts_junk() -> None:
    tags = ["6.10.0", "6.9.0", "latest", "7.0.0-rc.1", "7.0.0-rc.10", "7.0.0-rc.2", "7.0.0", "1.2.3_build.1",
            "v6.1.0", "6.1", "main", "sha256-" + "a" * 64 + ".sig", "01.2.3", "6.9.0"]
    tagged, invalid = oci_tags.tags_to_versions(tags)
    assert [t.version for t in tagged] == [
        "1.2.3+build.1", "6.9.0", "6.10.0", "7.0.0-rc.1", "7.0.0-rc.2", "7.0.0-rc.10", "7.0.0"]
    assert tagged[0] == oci_tags.TaggedVersion("1.2.3+build.1", "1.2.3_build.1")
    assert invalid == 4  # v6.1.0, 6.1, main, 01.2.3: Helm's strict parse rejects them too


def test_version_tag_round_trip() -> None:
    assert oci_tags.version_to_tag("1.2.3+build") == "1.2.3_build"
    assert oci_tags.tag_to_version(oci_tags.version_to_tag("1.2.3+build")) == "1.2.3+build"


# --- pagination, retries ------------------------------------------------------------------------

async def test_pagination_follows_relative_and_absolute_links() -> None:
    pages = {None: ["6.5.0", "6.6.0"], "6.6.0": ["6.7.0", "6.6.0"], "6.7.0": ["7.0.0"]}

    async def handler(request: web.Request) -> web.Response:
        last = request.query.get("last")
        headers = {}
        if last is None:
            headers["Link"] = '</v2/charts/podinfo/tags/list?last=6.6.0&n=2>; rel="next"'
        elif last == "6.6.0":
            absolute = f"http://{request.host}/v2/charts/podinfo/tags/list?last=6.7.0&n=2"
            headers["Link"] = f'<{absolute}>; rel="next"'
        return web.json_response({"name": "charts/podinfo", "tags": pages[last]}, headers=headers)

    async with stand_in(handler) as (host, seen), aiohttp.ClientSession() as session:
        tags = await oci.OciClient(session, page_size=2).list_tags(ref_for(host))
    assert tags == ["6.5.0", "6.6.0", "6.7.0", "7.0.0"]
    assert [dict(r.query) for r in seen] == [
        {"n": "2"}, {"last": "6.6.0", "n": "2"}, {"last": "6.7.0", "n": "2"}]


@pytest.mark.parametrize(("link", "message"), [
    ('<http://elsewhere.invalid/v2/x/tags/list?last=a>; rel="next"', "another host"),
    ('</v2/charts/podinfo/tags/list?n=1000>; rel="next"', "loops"),
])
async def test_pagination_refuses_other_hosts_and_loops(link: str, message: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"tags": ["1.0.0"]}, headers={"Link": link})

    async with stand_in(handler) as (host, _), aiohttp.ClientSession() as session:
        with pytest.raises(oci.RegistryError, match=message):
            await oci.OciClient(session).list_tags(ref_for(host))


async def test_429_with_retry_after_then_success() -> None:
    answers = iter([web.json_response({}, status=429, headers={"Retry-After": "7"}),
                    web.json_response({}, status=503),
                    web.json_response({"tags": ["1.0.0"]})])

    async def handler(request: web.Request) -> web.Response:
        return next(answers)

    sleeps = Sleeps()
    async with stand_in(handler) as (host, seen), aiohttp.ClientSession() as session:
        tags = await oci.OciClient(session, sleep=sleeps).list_tags(ref_for(host))
    assert tags == ["1.0.0"]
    assert sleeps.delays == [7.0, 1.0]  # Retry-After honoured, then the second backoff step
    assert len(seen) == 3


async def test_retries_are_bounded_and_retry_after_is_capped() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]},
                                 status=429, headers={"Retry-After": "3600"})

    sleeps = Sleeps()
    async with stand_in(handler) as (host, seen), aiohttp.ClientSession() as session:
        with pytest.raises(oci.RegistryError) as err:
            await oci.OciClient(session, sleep=sleeps, retries=2, max_retry_after=30).list_tags(ref_for(host))
    assert err.value.status == 429
    assert "TOOMANYREQUESTS" in str(err.value)
    assert sleeps.delays == [30.0, 30.0]
    assert len(seen) == 3


# --- auth ---------------------------------------------------------------------------------------

def bearer_registry(tokens_issued: list[str], token_ttl: int = 300) -> Handler:
    """A registry that wants `Bearer <latest issued token>` and serves its own token realm."""

    async def handler(request: web.Request) -> web.Response:
        if request.path == "/token":
            tokens_issued.append(f"tok-{len(tokens_issued)}")
            return web.json_response({"access_token": tokens_issued[-1], "expires_in": token_ttl})
        if tokens_issued and request.headers.get("Authorization") == f"Bearer {tokens_issued[-1]}":
            return web.json_response({"tags": ["1.0.0"]})
        challenge = f'Bearer realm="http://{request.host}/token",service="svc"'  # no scope: client adds it
        return web.json_response({}, status=401, headers={"WWW-Authenticate": challenge})

    return handler


async def test_token_cached_until_expiry() -> None:
    issued: list[str] = []
    now = [1000.0]
    async with stand_in(bearer_registry(issued, token_ttl=60)) as (host, seen), \
            aiohttp.ClientSession() as session:
        client = oci.OciClient(session, clock=lambda: now[0])
        ref = ref_for(host)
        await client.list_tags(ref)
        await client.list_tags(ref)
        assert issued == ["tok-0"]
        token_requests = [r for r in seen if r.path == "/token"]
        assert token_requests[0].query.getall("scope") == ["repository:charts/podinfo:pull"]
        assert token_requests[0].query["service"] == "svc"
        now[0] += 55  # inside the expiry margin: fetch a fresh token before the old one dies
        await client.list_tags(ref)
        assert issued == ["tok-0", "tok-1"]


async def test_basic_challenge_then_preemptive_basic() -> None:
    creds = oci.RegistryCreds("me", "pw")

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") == creds.basic_header():
            return web.json_response({"tags": ["1.0.0"]})
        return web.json_response({}, status=401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    async with stand_in(handler) as (host, seen), aiohttp.ClientSession() as session:
        client = oci.OciClient(session)
        await client.list_tags(ref_for(host), creds)
        await client.list_tags(ref_for(host), creds)
    assert ["Authorization" in r.headers for r in seen] == [False, True, True]


# --- digests and chart metadata -----------------------------------------------------------------

def chart_tgz(chart_yaml: bytes, first: str = "podinfo/Chart.yaml") -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in ((first, chart_yaml), ("podinfo/values.yaml", b"a: 1\n")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue())


def artifact_server(config: bytes, layer: bytes, *, digest_header: bool = True,
                    layer_size: int | None = None, served_layer: bytes | None = None) -> Handler:
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": HELM_CONFIG, "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": HELM_CHART, "digest": digest(layer), "size": layer_size or len(layer)}],
    }).encode()
    blobs = {digest(config): config, digest(layer): layer if served_layer is None else served_layer}

    async def handler(request: web.Request) -> web.Response:
        if "/manifests/" in request.path:
            headers = {"Docker-Content-Digest": digest(manifest)} if digest_header else {}
            return web.Response(body=manifest, headers=headers,
                                content_type="application/vnd.oci.image.manifest.v1+json")
        blob = blobs.get(request.path.rsplit("/", 1)[-1])
        return web.Response(body=blob) if blob is not None else web.Response(status=404)

    return handler


async def test_digest_without_header_is_the_sha256_of_the_manifest() -> None:
    config = json.dumps({"name": "podinfo", "version": "6.5.0"}).encode()
    handler = artifact_server(config, chart_tgz(b"name: podinfo\n"), digest_header=False)
    async with stand_in(handler) as (host, seen), aiohttp.ClientSession() as session:
        found = await oci.OciClient(session).manifest_digest(ref_for(host), "6.5.0")
        manifest = await (await session.get(f"http://{host}/v2/charts/podinfo/manifests/6.5.0")).read()
    assert found == digest(manifest)
    assert [r.method for r in seen[:2]] == ["HEAD", "GET"]


async def test_metadata_from_tarball_when_config_is_empty() -> None:
    layer = chart_tgz(b"apiVersion: v2\nname: podinfo\nversion: 6.5.0\nappVersion: '6.5.0-app'\n")
    async with stand_in(artifact_server(b"{}", layer)) as (host, _), aiohttp.ClientSession() as session:
        metadata = await oci.OciClient(session).chart_metadata(ref_for(host), "6.5.0")
    assert metadata["appVersion"] == "6.5.0-app"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"served_layer": b"tampered"}, "does not match its digest"),
    ({"layer_size": 50 << 20}, "over the"),
])
async def test_hostile_chart_layers_are_refused(kwargs: dict[str, Any], message: str) -> None:
    handler = artifact_server(b"{}", chart_tgz(b"name: podinfo\n"), **kwargs)
    async with stand_in(handler) as (host, _), aiohttp.ClientSession() as session:
        with pytest.raises(oci.RegistryError, match=message):
            await oci.OciClient(session).chart_metadata(ref_for(host), "6.5.0")


async def test_layer_without_chart_yaml_is_an_error() -> None:
    handler = artifact_server(b"{}", chart_tgz(b"name: x\n", first="podinfo/templates/Chart.yaml"))
    async with stand_in(handler) as (host, _), aiohttp.ClientSession() as session:
        with pytest.raises(oci.RegistryError, match=r"no <chart>/Chart\.yaml"):
            await oci.OciClient(session).chart_metadata(ref_for(host), "6.5.0")


async def test_bad_tag_never_reaches_the_network() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(oci.RegistryError, match="bad tag"):
            await oci.OciClient(session).manifest_digest(ref_for("127.0.0.1:9"), "../../etc")


BOMB = b"apiVersion: v2\nname: podinfo\nversion: 6.5.0\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
    b"l%d: &l%d [" % (i, i) + b", ".join([b"*l%d" % (i - 1)] * 10) + b"]\n" for i in range(1, 7)
) + b"appVersion: *l6\n"


async def test_an_alias_bomb_in_chart_yaml_is_refused_not_expanded() -> None:
    # appVersion would be a 10**7-element list: str() of it (for the PR body) must never run.
    async with stand_in(artifact_server(b"{}", chart_tgz(BOMB))) as (host, _), aiohttp.ClientSession() as session:
        with pytest.raises(oci.RegistryError, match="YAML bomb"):
            await oci.OciClient(session).chart_metadata(ref_for(host), "6.5.0")
