"""Credentials for HTTP Helm repositories, built from Flux-format Secrets.

Called by the check cycle (`repo_auth_for`, once per HelmRepository per cycle) and by
`sources.helm_http` (`ssl_context`, `sends_credentials`, `RepoAuth.authorization`).

Flux semantics followed (HelmRepository `source.toolkit.fluxcd.io/v1`, `spec.type: default`):

* `spec.secretRef`: keys `username` and `password` for HTTP basic auth. Both empty means no basic
  auth; only one of them is an error (as in source-controller). The deprecated TLS keys `certFile`,
  `keyFile`, `caFile` in that same Secret are honoured only when `spec.certSecretRef` is not set.
* `spec.certSecretRef`: `tls.crt` + `tls.key` (client certificate, both or neither) and/or
  `ca.crt`. The CA is *added* to the system trust store, as Flux does, not a replacement for it.
* `spec.passCredentials`: credentials go to the repository's own host (host and port of
  `spec.url`). A redirect to, or a chart URL on, another host gets them only when passCredentials
  is true. We additionally never send them over a https -> http downgrade unless passCredentials.
  See `sends_credentials`.
* `spec.insecure`: Flux documents it for `type: oci` only (allow plain-HTTP registries). For HTTP
  repositories the URL scheme decides: `http://` is fetched without TLS, `https://` is always
  verified. The value is carried in `RepoAuth.insecure` for the OCI client and ignored by
  `helm_http`. TLS verification is never disabled: Flux has no such option for HTTP repositories;
  a self-signed server needs its CA in `certSecretRef` (`ca.crt`).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import Any

from fluxcd_helm_upgrader import keyfiles
from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.structs import flux, urls


@dataclasses.dataclass(frozen=True, repr=False)
class RepoAuth:
    """How to authenticate to one Helm repository. Hashable (used as part of cache keys).

    `source` is a human label such as "secret flux-system/podinfo-auth" for error messages.
    `repr` never shows secret values.
    """

    username: str | None = None
    password: str | None = None
    ca_pem: bytes | None = None
    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    insecure: bool = False
    pass_credentials: bool = False
    source: str = ""

    def __repr__(self) -> str:
        parts = [
            f"basic={'yes' if self.has_basic else 'no'}",
            f"ca={'yes' if self.ca_pem else 'no'}",
            f"client_cert={'yes' if self.cert_pem else 'no'}",
            f"pass_credentials={self.pass_credentials}",
        ]
        if self.source:
            parts.append(f"source={self.source!r}")
        return f"RepoAuth({', '.join(parts)})"

    @property
    def has_basic(self) -> bool:
        return bool(self.username) and bool(self.password)

    @property
    def has_tls(self) -> bool:
        return bool(self.ca_pem or self.cert_pem)

    def authorization(self) -> str | None:
        """The `Authorization` header value for basic auth, or None."""
        if not self.has_basic:
            return None
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


def _host_port(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def sends_credentials(auth: RepoAuth | None, repo_url: str, target_url: str) -> bool:
    """Whether basic-auth credentials of the repository at `repo_url` may go to `target_url`.

    Same host and port as the repository URL: yes (as Helm's getter compares `URL.Host`), except a
    downgrade from https to plain http. Anything else only with `pass_credentials`. Never over plain http to
    a host that is not loopback, whatever `pass_credentials` says (`structs.urls.sends_in_clear`).
    Note 127.0.0.1 and localhost are different hosts: names are compared, not addresses.
    """
    if auth is None or not auth.has_basic or urls.sends_in_clear(target_url):
        return False
    if auth.pass_credentials:
        return True
    repo_scheme, repo_host, repo_port = _host_port(repo_url)
    scheme, host, port = _host_port(target_url)
    if (host, port) != (repo_host, repo_port):
        return False
    return not (repo_scheme == "https" and scheme != "https")


def hop_headers(auth: RepoAuth | None, repo_url: str, hop_url: str, headers: Mapping[str, str]) -> dict[str, str]:
    """`headers` for one request (or redirect hop) to `hop_url`, with basic auth where `sends_credentials` allows."""
    result = dict(headers)
    authorization = auth.authorization() if auth is not None else None
    if authorization and sends_credentials(auth, repo_url, hop_url):
        result["Authorization"] = authorization
    return result


def _no_password() -> bytes:
    # Without a callback OpenSSL would prompt on a terminal for an encrypted key; Flux does not
    # support encrypted keys either, so fail instead.
    return b""


def _load_client_cert(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes, source: str) -> None:
    # ssl.SSLContext.load_cert_chain only reads files: write cert+key into one 0600 file inside a
    # private 0700 memory-backed directory (`keyfiles`), removed right after loading.
    with keyfiles.private_dir() as directory:
        path = keyfiles.write_private(directory / "client.pem", cert_pem.rstrip(b"\n") + b"\n" + key_pem)
        try:
            context.load_cert_chain(path, password=_no_password)
        except (ssl.SSLError, ValueError):
            raise secrets.SourceAuthError(
                f"{source or 'TLS credentials'}: tls.crt/tls.key are not a valid PEM certificate and "
                "matching unencrypted private key"
            ) from None


@functools.lru_cache(maxsize=64)
def _build_context(ca_pem: bytes | None, cert_pem: bytes | None, key_pem: bytes | None, source: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_pem:
        try:
            context.load_verify_locations(cadata=ca_pem.decode("ascii", errors="replace"))
        except (ssl.SSLError, ValueError):
            raise secrets.SourceAuthError(
                f"{source or 'TLS credentials'}: ca.crt is not a valid PEM certificate"
            ) from None
    if cert_pem and key_pem:
        _load_client_cert(context, cert_pem, key_pem, source)
    return context


def ssl_context(auth: RepoAuth | None) -> ssl.SSLContext | None:
    """A verifying SSLContext with the extra CA and client certificate, or None for the default.

    Cached per distinct TLS material so aiohttp can reuse pooled connections (its pool is keyed by
    the context object) and keys are not rewritten to a temp file on every fetch.
    """
    if auth is None or not auth.has_tls:
        return None
    return _build_context(auth.ca_pem, auth.cert_pem, auth.key_pem, auth.source)


def _ref_name(spec: Mapping[str, Any], field: str) -> str | None:
    ref = spec.get(field)
    if isinstance(ref, Mapping):
        name = ref.get("name")
        if isinstance(name, str) and name:
            return name
    return None


def _basic_from(data: secrets.SecretData) -> tuple[str | None, str | None]:
    username = (data.get("username") or b"").decode("utf-8", errors="replace")
    password = (data.get("password") or b"").decode("utf-8", errors="replace")
    if not username and not password:
        return None, None
    if not username or not password:
        raise secrets.SourceAuthError(
            f"secret {data.namespace}/{data.name}: basic auth needs both 'username' and 'password'"
        )
    return username, password


def _tls_from(
    data: secrets.SecretData, cert_key: str, key_key: str, ca_key: str
) -> tuple[bytes | None, bytes | None, bytes | None]:
    cert, key, ca = data.get(cert_key) or None, data.get(key_key) or None, data.get(ca_key) or None
    if bool(cert) != bool(key):
        missing = key_key if cert else cert_key
        raise secrets.SourceAuthError(
            f"secret {data.namespace}/{data.name}: client certificate needs both "
            f"{cert_key!r} and {key_key!r}; {missing!r} is missing"
        )
    return cert, key, ca


async def repo_auth_for(api: secrets.SecretsApi, namespace: str, spec: Mapping[str, Any]) -> RepoAuth | None:
    """Build the `RepoAuth` for a HelmRepository `spec` in `namespace`, or None if it has none.

    Reads `spec.secretRef` and `spec.certSecretRef` by name (one `get` each). Raises
    `secrets.SourceAuthError` for a missing Secret, a missing/half-set key, or unusable PEM data.
    """
    secret_name = _ref_name(spec, "secretRef")
    cert_name = _ref_name(spec, "certSecretRef")
    if secret_name is None and cert_name is None:
        return None
    username = password = None
    cert = key = ca = None
    labels = []
    if secret_name is not None:
        data = await secrets.read_secret(api, namespace, secret_name)
        labels.append(f"secret {namespace}/{secret_name}")
        username, password = _basic_from(data)
        if cert_name is None:
            # Deprecated combined form: TLS keys in the secretRef Secret (certSecretRef wins).
            cert, key, ca = _tls_from(data, "certFile", "keyFile", "caFile")
    if cert_name is not None:
        data = await secrets.read_secret(api, namespace, cert_name)
        labels.append(f"secret {namespace}/{cert_name}")
        cert, key, ca = _tls_from(data, "tls.crt", "tls.key", "ca.crt")
    auth = RepoAuth(
        username=username,
        password=password,
        ca_pem=ca,
        cert_pem=cert,
        key_pem=key,
        insecure=bool(spec.get("insecure", False)),
        pass_credentials=bool(spec.get("passCredentials", False)),
        source=" + ".join(labels),
    )
    # Fail now, with the Secret's name, rather than on the first connection.
    ssl_context(auth)
    return auth


def repository_spec(repo: flux.HelmRepository) -> dict[str, object]:
    """The auth-relevant part of a HelmRepository's spec, for `repo_auth_for` (index and chart downloads)."""
    spec: dict[str, object] = {"passCredentials": repo.pass_credentials, "insecure": repo.insecure}
    if repo.secret_name:
        spec["secretRef"] = {"name": repo.secret_name}
    if repo.cert_secret_name:
        spec["certSecretRef"] = {"name": repo.cert_secret_name}
    return spec
