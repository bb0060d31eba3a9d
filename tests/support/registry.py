"""Test helpers for a real OCI registry: Debian's `docker-registry` (CNCF distribution 2.8).

Imported explicitly by tests (`from tests.support import registry`). Provides:
- `start_registry`: our own registry process on 127.0.0.1 with an ephemeral port (the Debian
  package also installs a systemd unit; we never rely on it), anonymous, htpasswd or token auth.
- `push_chart`: pushes a Helm chart as an OCI artifact with plain HTTP calls, byte for byte what
  `helm push` produces (config `application/vnd.cncf.helm.config.v1+json` = Chart.yaml as JSON,
  one `application/vnd.cncf.helm.chart.content.v1.tar+gzip` layer holding `<name>/Chart.yaml`).
- `TokenIssuer` + `start_token_server`: a Docker token service (RS256 JWTs with an `x5c` header,
  which distribution verifies against `rootcertbundle`) that records every request it gets.
- `htpasswd_line`: a bcrypt htpasswd entry (distribution accepts bcrypt only).

Media types are spelled out here rather than imported from the code under test, so a wrong constant
there fails the tests instead of agreeing with itself.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import hashlib
import io
import json
import re
import subprocess
import tarfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import yaml
import yarl
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TOKEN_SERVICE = "test-registry"
TOKEN_ISSUER = "test-token-issuer"


@dataclass
class RegistryProcess:
    """A running docker-registry; `host` is "127.0.0.1:<port>"."""

    process: subprocess.Popen[bytes]
    host: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_registry(workdir: Path, auth: Mapping[str, Any] | None = None) -> RegistryProcess:
    """Start docker-registry with storage under `workdir`; `auth` is distribution's `auth:` section."""
    workdir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "version": 0.1,
        # info level: the "listening on 127.0.0.1:<port>" line is how we learn the ephemeral port.
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(workdir / "data")}},
        "http": {"addr": "127.0.0.1:0", "secret": uuid.uuid4().hex},
    }
    if auth:
        config["auth"] = dict(auth)
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    log_path = workdir / "registry.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(REGISTRY_BINARY), "serve", str(config_path)], stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = re.search(r'listening on (127\.0\.0\.1:\d+)', log_path.read_text(errors="replace"))
        if found:
            return RegistryProcess(process, found.group(1), log_path)
        if process.poll() is not None:
            break
        time.sleep(0.01)
    process.kill()
    process.wait(timeout=5)
    raise RuntimeError(f"docker-registry did not start:\n{log_path.read_text(errors='replace')[-2000:]}")


def htpasswd_line(username: str, password: str) -> str:
    # Imported here: only the htpasswd tests need it (the operator has it for cryptography's encrypted SSH keys).
    import bcrypt

    return f"{username}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"


def chart_tgz(name: str, version: str, app_version: str) -> bytes:
    """A packaged chart (`helm package` layout, Chart.yaml first) as tar.gz bytes."""
    files = {
        f"{name}/Chart.yaml": yaml.safe_dump(_chart_yaml(name, version, app_version)).encode(),
        f"{name}/values.yaml": b"replicaCount: 1\n",
        f"{name}/templates/NOTES.txt": b"installed\n",
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def _chart_yaml(name: str, version: str, app_version: str) -> dict[str, str]:
    return {"apiVersion": "v2", "name": name, "version": version, "appVersion": app_version}


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


async def push_chart(
    session: aiohttp.ClientSession,
    registry_url: str,
    repository: str,
    name: str,
    version: str,
    app_version: str,
    *,
    headers: Mapping[str, str] | None = None,
    tag: str | None = None,
    config: bytes | None = None,
) -> str:
    """Push one chart like `helm push`; returns the manifest digest the registry answered with.

    The tag defaults to Helm's spelling of the version ("+" -> "_"); `config` overrides the config
    blob (e.g. b"{}" for artifacts whose metadata only lives in the tarball).
    """
    auth = dict(headers or {})
    if config is None:
        config = json.dumps(_chart_yaml(name, version, app_version)).encode()
    layer = chart_tgz(name, version, app_version)
    for blob in (config, layer):
        await _upload_blob(session, registry_url, repository, blob, auth)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": HELM_CONFIG, "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": HELM_CHART, "digest": _digest(layer), "size": len(layer)}],
        "annotations": {"org.opencontainers.image.title": name, "org.opencontainers.image.version": version},
    }
    body = json.dumps(manifest).encode()
    url = f"{registry_url}/v2/{repository}/manifests/{tag or version.replace('+', '_')}"
    async with session.put(url, data=body, headers={**auth, "Content-Type": OCI_MANIFEST}) as resp:
        if resp.status != 201:
            raise RuntimeError(f"manifest PUT: {resp.status} {await resp.text()}")
        return resp.headers["Docker-Content-Digest"]


async def _upload_blob(
    session: aiohttp.ClientSession, registry_url: str, repository: str, blob: bytes, auth: Mapping[str, str]
) -> None:
    """Monolithic upload: POST to open an upload session, PUT the bytes with `?digest=`."""
    async with session.post(f"{registry_url}/v2/{repository}/blobs/uploads/", headers=auth) as resp:
        if resp.status != 202:
            raise RuntimeError(f"upload POST: {resp.status} {await resp.text()}")
        location = yarl.URL(registry_url).join(yarl.URL(resp.headers["Location"]))
    put_url = location.update_query(digest=_digest(blob))
    headers = {**auth, "Content-Type": "application/octet-stream"}
    async with session.put(put_url, data=blob, headers=headers) as resp:
        if resp.status != 201:
            raise RuntimeError(f"upload PUT: {resp.status} {await resp.text()}")


@dataclass
class TokenIssuer:
    """An RSA key and a self-signed certificate; tokens carry the certificate in `x5c`."""

    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    cert: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TOKEN_ISSUER)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def write_bundle(self, path: Path) -> Path:
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return path

    def mint(self, access: list[dict[str, Any]], subject: str = "", ttl: int = 300) -> str:
        now = int(time.time())
        claims = {
            "iss": TOKEN_ISSUER, "sub": subject, "aud": TOKEN_SERVICE, "exp": now + ttl,
            "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access,
        }
        x5c = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": [x5c]})


@dataclass
class TokenServer:
    """The running token service: its realm URL and the (query, had-correct-basic-auth) it saw."""

    runner: web.AppRunner
    realm: str
    requests: list[dict[str, Any]]


async def start_token_server(
    issuer: TokenIssuer, *, username: str, password: str, anonymous_prefix: str = "public/"
) -> TokenServer:
    """Grant pull+push to `username:password`, anonymous pull on repositories under
    `anonymous_prefix`, 401 on wrong credentials (like Docker Hub's auth service)."""
    seen: list[dict[str, Any]] = []
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    async def token(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization")
        seen.append({"service": request.query.get("service"), "scopes": request.query.getall("scope", []),
                     "authenticated": given == expected})
        if given is not None and given != expected:
            return web.json_response({"details": "bad credentials"}, status=401)
        access = []
        for scope in request.query.getall("scope", []):
            kind, name, _ = scope.split(":")
            if given is not None:
                access.append({"type": kind, "name": name, "actions": ["pull", "push"]})
            elif name.startswith(anonymous_prefix):
                access.append({"type": kind, "name": name, "actions": ["pull"]})
        return web.json_response({"token": issuer.mint(access, username if given else ""), "expires_in": 300})

    app = web.Application()
    app.router.add_get("/token", token)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return TokenServer(runner, f"http://127.0.0.1:{port}/token", seen)
