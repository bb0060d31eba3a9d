"""Helpers for the HTTP Helm repository tests: a local aiohttp server on 127.0.0.1 and a test PKI.

A plain module (not a conftest.py) so it cannot collide with other helpers' fixtures in this
directory; tests import it as `tests.unit.sources.http_fixtures`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fluxcd_helm_upgrader.sources import helm_http

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass
class Seen:
    """One request the test server received."""

    path: str
    host: str
    headers: dict[str, str]


@dataclasses.dataclass
class Server:
    url: str  # e.g. http://127.0.0.1:PORT
    port: int
    seen: list[Seen]

    def hits(self, path: str = "/index.yaml") -> int:
        return sum(1 for s in self.seen if s.path == path)


@contextlib.asynccontextmanager
async def local_server(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """Serve every path with `handler` on 127.0.0.1 (ephemeral port), recording each request."""
    seen: list[Seen] = []

    async def record(request: web.Request) -> web.StreamResponse:
        seen.append(Seen(request.path, request.host, dict(request.headers)))
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        scheme = "https" if ssl_context else "http"
        yield Server(url=f"{scheme}://127.0.0.1:{port}", port=port, seen=seen)
    finally:
        await runner.cleanup()


def new_fetcher(**settings: Any) -> helm_http.IndexFetcher:
    """An IndexFetcher for tests: trust_env=False so a CI proxy cannot intercept 127.0.0.1."""
    return helm_http.IndexFetcher(trust_env=False, **{"timeout": 10.0, **settings})


@dataclasses.dataclass(frozen=True)
class Pki:
    ca_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes
    client_cert_pem: bytes
    client_key_pem: bytes


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool, server: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False), critical=True)
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@functools.cache
def pki() -> Pki:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all fresh."""
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    ca = _cert("test-ca", ca_key, ca_name, ca_key, ca=True)
    server_key, client_key = _key(), _key()
    server = _cert("127.0.0.1", server_key, ca_name, ca_key, ca=False, server=True)
    client = _cert("helm-upgrader", client_key, ca_name, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    return Pki(ca.public_bytes(pem), server.public_bytes(pem), _pem_key(server_key),
               client.public_bytes(pem), _pem_key(client_key))


def server_tls(pki: Pki, tmp_path: Path, *, require_client_cert: bool) -> ssl.SSLContext:
    """The test server's SSLContext (test-only files in pytest's tmp_path)."""
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    cert.write_bytes(pki.server_cert_pem)
    key.write_bytes(pki.server_key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=pki.ca_pem.decode())
    return context
