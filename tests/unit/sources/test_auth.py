"""Flux-format Secrets -> RepoAuth, and what the fetcher does with it: basic auth, redirects, TLS."""

from __future__ import annotations

import base64
import os
import ssl
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from kubernetes_asyncio.client import V1ObjectMeta, V1Secret
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader.sources import auth, helm_http, secrets
from tests.unit.sources import http_fixtures as fx

INDEX = b"apiVersion: v1\nentries: {}\n"
CANARY = "CANARY-pw-0451"


class FakeCoreV1:
    """Just `read_namespaced_secret`, answering like kubernetes_asyncio's CoreV1Api."""

    def __init__(self, stored: Mapping[tuple[str, str], Mapping[str, bytes]],
                 forbidden: frozenset[str] = frozenset()) -> None:
        self.stored = stored
        self.forbidden = forbidden
        self.reads: list[tuple[str, str]] = []

    async def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        self.reads.append((namespace, name))
        if name in self.forbidden:
            raise ApiException(status=403, reason="Forbidden")
        if (namespace, name) not in self.stored:
            raise ApiException(status=404, reason="Not Found")
        data = {k: base64.b64encode(v).decode() for k, v in self.stored[namespace, name].items()}
        return V1Secret(data=data, metadata=V1ObjectMeta(name=name, namespace=namespace))


def spec(**fields: Any) -> dict[str, Any]:
    return {"url": "https://charts.example.com", **fields}


async def test_read_secret_decodes_base64_data() -> None:
    api = FakeCoreV1({("flux-system", "creds"): {"username": b"bob", "password": CANARY.encode()}})
    data = await secrets.read_secret(api, "flux-system", "creds")
    assert data.require("username") == b"bob"
    assert data.get("absent") is None
    assert CANARY not in repr(data) and "username" in repr(data)


@pytest.mark.parametrize(("name", "message"), [
    ("missing", "secret flux-system/missing not found"),
    ("locked", "not allowed to read secret flux-system/locked"),
])
async def test_unreadable_secret_is_a_clear_error(name: str, message: str) -> None:
    api = FakeCoreV1({}, forbidden=frozenset({"locked"}))
    with pytest.raises(secrets.SourceAuthError, match=message):
        await secrets.read_secret(api, "flux-system", name)


def test_missing_key_names_secret_and_key() -> None:
    data = secrets.decode("apps", "creds", {"username": base64.b64encode(b"bob").decode()})
    with pytest.raises(secrets.SourceAuthError, match=r"secret apps/creds has no 'password' key"):
        data.require("password")


def test_invalid_base64_names_the_key_not_the_value() -> None:
    with pytest.raises(secrets.SourceAuthError, match=r"apps/creds: key 'password' is not valid base64") as e:
        secrets.decode("apps", "creds", {"password": "%%not-base64-CANARY%%"})
    assert "CANARY" not in str(e.value)


async def test_no_refs_means_no_auth_and_no_reads() -> None:
    api = FakeCoreV1({})
    assert await auth.repo_auth_for(api, "flux-system", spec()) is None
    assert api.reads == []


async def test_basic_auth_from_secret_ref() -> None:
    api = FakeCoreV1({("apps", "creds"): {"username": b"bob", "password": CANARY.encode()}})
    result = await auth.repo_auth_for(api, "apps", spec(secretRef={"name": "creds"}, passCredentials=True))
    assert result is not None
    assert (result.username, result.password, result.pass_credentials) == ("bob", CANARY, True)
    assert result.authorization() == "Basic " + base64.b64encode(f"bob:{CANARY}".encode()).decode()
    assert CANARY not in repr(result)
    assert api.reads == [("apps", "creds")]


async def test_half_basic_auth_is_an_error() -> None:
    api = FakeCoreV1({("apps", "creds"): {"username": b"bob"}})
    with pytest.raises(secrets.SourceAuthError, match="apps/creds: basic auth needs both"):
        await auth.repo_auth_for(api, "apps", spec(secretRef={"name": "creds"}))


async def test_cert_secret_ref_tls_keys(tmp_path: Path) -> None:
    pki = fx.pki()
    api = FakeCoreV1({("apps", "tls"): {"tls.crt": pki.client_cert_pem, "tls.key": pki.client_key_pem,
                                        "ca.crt": pki.ca_pem}})
    result = await auth.repo_auth_for(api, "apps", spec(certSecretRef={"name": "tls"}, insecure=True))
    assert result is not None
    assert (result.cert_pem, result.key_pem, result.ca_pem) == (
        pki.client_cert_pem, pki.client_key_pem, pki.ca_pem)
    assert not result.has_basic and result.insecure


async def test_cert_secret_ref_wins_over_deprecated_keys() -> None:
    pki = fx.pki()
    api = FakeCoreV1({
        ("apps", "creds"): {"username": b"bob", "password": b"pw", "caFile": b"ignored"},
        ("apps", "tls"): {"ca.crt": pki.ca_pem},
    })
    result = await auth.repo_auth_for(
        api, "apps", spec(secretRef={"name": "creds"}, certSecretRef={"name": "tls"}))
    assert result is not None and result.ca_pem == pki.ca_pem and result.username == "bob"


async def test_deprecated_tls_keys_in_secret_ref_still_work() -> None:
    pki = fx.pki()
    api = FakeCoreV1({("apps", "creds"): {"certFile": pki.client_cert_pem, "keyFile": pki.client_key_pem}})
    result = await auth.repo_auth_for(api, "apps", spec(secretRef={"name": "creds"}))
    assert result is not None and result.cert_pem == pki.client_cert_pem and result.username is None


async def test_certificate_without_key_names_the_missing_key() -> None:
    api = FakeCoreV1({("apps", "tls"): {"tls.crt": fx.pki().client_cert_pem}})
    with pytest.raises(secrets.SourceAuthError, match=r"apps/tls: .*'tls.key' is missing"):
        await auth.repo_auth_for(api, "apps", spec(certSecretRef={"name": "tls"}))


async def test_garbage_pem_is_an_error_naming_the_secret_only() -> None:
    api = FakeCoreV1({("apps", "tls"): {"tls.crt": b"CANARY-cert", "tls.key": b"CANARY-key"}})
    with pytest.raises(secrets.SourceAuthError, match="secret apps/tls") as caught:
        await auth.repo_auth_for(api, "apps", spec(certSecretRef={"name": "tls"}))
    assert "CANARY" not in str(caught.value)


def test_client_key_file_is_private_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int, int]] = []

    class Spy(ssl.SSLContext):
        def load_cert_chain(self, certfile: Any, keyfile: Any = None, password: Any = None) -> None:
            seen.append((certfile, stat.S_IMODE(os.stat(certfile).st_mode),
                         stat.S_IMODE(os.stat(os.path.dirname(certfile)).st_mode)))
            super().load_cert_chain(certfile, keyfile, password)

    monkeypatch.setattr(ssl, "create_default_context", lambda: Spy(ssl.PROTOCOL_TLS_CLIENT))
    pki = fx.pki()
    context = auth.ssl_context(auth.RepoAuth(cert_pem=pki.client_cert_pem, key_pem=pki.client_key_pem,
                                             source="unit-test-private-file"))
    assert isinstance(context, Spy)
    [(path, file_mode, dir_mode)] = seen
    assert (file_mode, dir_mode) == (0o600, 0o700)
    assert not os.path.exists(os.path.dirname(path))


@pytest.mark.parametrize(("target", "pass_credentials", "expected"), [
    ("https://charts.example.com/charts/a.tgz", False, True),
    ("https://CHARTS.example.com:443/x", False, True),
    ("https://cdn.example.com/a.tgz", False, False),
    ("https://cdn.example.com/a.tgz", True, True),
    ("https://charts.example.com:8443/a.tgz", False, False),
    ("http://charts.example.com/a.tgz", False, False),  # https -> http downgrade
])
def test_sends_credentials(target: str, pass_credentials: bool, expected: bool) -> None:
    creds = auth.RepoAuth(username="u", password="p", pass_credentials=pass_credentials)
    assert auth.sends_credentials(creds, "https://charts.example.com", target) is expected


async def test_basic_auth_is_sent_to_the_repository() -> None:
    creds = auth.RepoAuth(username="bob", password=CANARY)

    async def guarded(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != creds.authorization():
            return web.Response(status=401)
        return web.Response(body=INDEX)

    async with fx.new_fetcher() as fetcher, fx.local_server(guarded) as server:
        with pytest.raises(helm_http.FetchError, match="HTTP 401 Unauthorized") as denied:
            await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
        fetched = await fetcher.fetch(server.url, auth=creds, parse=bytes, parse_key="raw")
    assert fetched.value == INDEX and denied.value.status == 401


@pytest.mark.parametrize(("target_host", "pass_credentials", "sent"), [
    ("localhost", False, False),  # other host name: credentials dropped
    ("localhost", True, True),    # passCredentials: true
    ("127.0.0.1", False, True),   # same host: kept
])
async def test_credentials_on_redirect(target_host: str, pass_credentials: bool, sent: bool) -> None:
    creds = auth.RepoAuth(username="bob", password=CANARY, pass_credentials=pass_credentials)

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/index.yaml":
            port = request.url.port
            raise web.HTTPFound(f"http://{target_host}:{port}/mirror/index.yaml")
        return web.Response(body=INDEX)

    async with fx.new_fetcher() as fetcher, fx.local_server(handler) as server:
        fetched = await fetcher.fetch(server.url, auth=creds, parse=bytes, parse_key="raw")
    [first, mirror] = server.seen
    assert mirror.host.startswith(target_host) and fetched.value == INDEX
    assert first.headers["Authorization"] == creds.authorization()
    assert (mirror.headers.get("Authorization") == creds.authorization()) is sent
    assert ("Authorization" in mirror.headers) is sent


async def test_redirect_loop_is_bounded() -> None:
    async def loop(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(request.path)

    async with fx.new_fetcher(max_redirects=3) as fetcher, fx.local_server(loop) as server:
        with pytest.raises(helm_http.FetchError, match="more than 3 redirects"):
            await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
    assert server.hits() == 4


async def test_tls_with_custom_ca(tmp_path: Path) -> None:
    pki = fx.pki()
    server_ssl = fx.server_tls(pki, tmp_path, require_client_cert=False)
    async with fx.new_fetcher() as fetcher, fx.local_server(fx_static(INDEX), server_ssl) as server:
        with pytest.raises(helm_http.FetchError, match="TLS certificate not trusted"):
            await fetcher.fetch(server.url, auth=None, parse=bytes, parse_key="raw")
        fetched = await fetcher.fetch(server.url, auth=auth.RepoAuth(ca_pem=pki.ca_pem),
                                      parse=bytes, parse_key="raw")
    assert fetched.value == INDEX and server.url.startswith("https://")


async def test_mutual_tls_needs_the_client_certificate(tmp_path: Path) -> None:
    pki = fx.pki()
    server_ssl = fx.server_tls(pki, tmp_path, require_client_cert=True)
    ca_only = auth.RepoAuth(ca_pem=pki.ca_pem)
    with_cert = auth.RepoAuth(ca_pem=pki.ca_pem, cert_pem=pki.client_cert_pem, key_pem=pki.client_key_pem)
    async with fx.new_fetcher() as fetcher, fx.local_server(fx_static(INDEX), server_ssl) as server:
        with pytest.raises(helm_http.FetchError, match=r"could not fetch https://127\.0\.0\.1"):
            await fetcher.fetch(server.url, auth=ca_only, parse=bytes, parse_key="raw")
        fetched = await fetcher.fetch(server.url, auth=with_cert, parse=bytes, parse_key="raw")
    assert fetched.value == INDEX


def fx_static(body: bytes) -> fx.Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body)
    return handler
