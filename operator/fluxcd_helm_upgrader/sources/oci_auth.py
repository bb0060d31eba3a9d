"""Registry credentials and the Docker/OCI authentication handshake.

Called by `sources.oci` (the OCI registry client) and by whoever turns a Flux source's
`spec.secretRef` into credentials (`registry_creds_from_secret`).

What lives here:
- `RegistryCreds` and `registry_creds_from_secret`: the two Secret formats Flux accepts for OCI
  sources — `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`, also the legacy `.dockercfg`)
  and plain `username`/`password` keys.
- `parse_challenges`: the `WWW-Authenticate` header of a 401 (`Basic realm=...` or
  `Bearer realm=...,service=...,scope=...`).
- `TokenCache` and `fetch_token`: the Docker token flow (GET the realm with `service` and `scope`,
  with Basic credentials when we have them, anonymously otherwise) and a per-(registry, scope,
  credentials) cache that keeps tokens until shortly before they expire.

Secrets never go into exception messages or URLs: the realm request carries only service and scope.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import yarl

from fluxcd_helm_upgrader.structs import urls

# The token spec says a token without `expires_in` lives 60 seconds.
DEFAULT_TOKEN_TTL = 60.0
# Refresh a little early so a token does not expire between the cache check and the request.
TOKEN_EXPIRY_MARGIN = 10.0
# Docker Hub's many spellings; its dockerconfig key is traditionally "https://index.docker.io/v1/".
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


class RegistryError(Exception):
    """A registry or token-service failure; `status` is the HTTP status, None for network errors.

    The message names the registry, the repository and what went wrong, never credentials or tokens.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class RegistryCreds:
    """A username and password (or personal access token) for one registry."""

    username: str
    password: str = field(repr=False)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class Challenge:
    """One challenge of a `WWW-Authenticate` header: a lower-cased scheme and its parameters."""

    scheme: str
    params: Mapping[str, str]


def registry_creds_from_secret(data: Mapping[str, bytes], host: str) -> RegistryCreds | None:
    """Credentials for `host` (`registry[:port]`) from a Secret's decoded `data`, in Flux's formats.

    `.dockerconfigjson` wins over `username`/`password` (Flux reads the Secret type the same way).
    Returns None when the Secret holds nothing for this host, so the caller falls back to anonymous.
    Raises RegistryError for a malformed docker config (naming the key, not its content).
    """
    for key in (".dockerconfigjson", ".dockercfg"):
        if key in data:
            return _creds_from_dockerconfig(data[key], key, host)
    username, password = data.get("username"), data.get("password")
    if username is not None and password is not None:
        return RegistryCreds(_text(username), _text(password))
    return None


def _creds_from_dockerconfig(raw: bytes, key: str, host: str) -> RegistryCreds | None:
    try:
        config = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RegistryError(f"secret key {key} is not valid JSON") from None
    if not isinstance(config, dict):
        raise RegistryError(f"secret key {key} is not a JSON object")
    # `.dockerconfigjson` nests hosts under "auths"; the legacy `.dockercfg` has them at the top.
    auths = config.get("auths", {}) if key == ".dockerconfigjson" else config
    if not isinstance(auths, dict):
        raise RegistryError(f"secret key {key}: 'auths' is not an object")
    entry = _match_host(auths, host)
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise RegistryError(f"secret key {key}: the entry for {host} is not an object")
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryError(f"secret key {key}: the 'auth' for {host} is not base64") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise RegistryError(f"secret key {key}: the 'auth' for {host} is not user:password")
        return RegistryCreds(username, password)
    if entry.get("username") is not None and entry.get("password") is not None:
        return RegistryCreds(str(entry["username"]), str(entry["password"]))
    return None


def _match_host(auths: Mapping[str, Any], host: str) -> Any:
    """The auths entry for `host`: exact host[:port] first, then the same host name ignoring a port
    that only one side states. Keys may carry a scheme and a path ("https://ghcr.io/v1/")."""
    wanted = _normalise_host(host)
    entries = {_normalise_host(key): value for key, value in auths.items()}
    if wanted in entries:
        return entries[wanted]
    wanted_name, _, wanted_port = wanted.partition(":")
    for key, value in entries.items():
        name, _, port = key.partition(":")
        if name == wanted_name and (not port or not wanted_port):
            return value
    return None


def _normalise_host(value: str) -> str:
    text = value.strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0]
    return "docker.io" if text in DOCKER_HUB_ALIASES else text


def _text(value: bytes | str) -> str:
    # Secret values are bytes after base64 decoding; tolerate str from callers that kept stringData.
    return value.decode() if isinstance(value, bytes) else value


_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_PARAM_RE = re.compile(rf"\s*,?\s*({_TOKEN})\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^,\s]*)")
_SCHEME_RE = re.compile(rf"\s*,?\s*({_TOKEN})(?=\s|,|$)")


def parse_challenges(headers: list[str]) -> list[Challenge]:
    """Parse `WWW-Authenticate` header values into challenges (RFC 7235 auth-params; token68 is
    ignored because registries never use it)."""
    challenges: list[Challenge] = []
    for header in headers:
        pos, scheme, params = 0, "", {}
        while pos < len(header):
            param = _PARAM_RE.match(header, pos) if scheme else None
            if param:
                value = param.group(2)
                if value.startswith('"'):
                    value = re.sub(r"\\(.)", r"\1", value[1:-1])
                params[param.group(1).lower()] = value
                pos = param.end()
                continue
            new = _SCHEME_RE.match(header, pos)
            if not new:
                break
            if scheme:
                challenges.append(Challenge(scheme, params))
            scheme, params, pos = new.group(1).lower(), {}, new.end()
        if scheme:
            challenges.append(Challenge(scheme, params))
    return challenges


TokenKey = tuple[str, str, RegistryCreds | None]


class TokenCache:
    """Bearer tokens per (registry, scope, credentials), kept until shortly before they expire."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens: dict[TokenKey, tuple[str, float]] = {}

    def get(self, key: TokenKey) -> str | None:
        found = self._tokens.get(key)
        if found is None:
            return None
        token, expires_at = found
        if self._clock() >= expires_at:
            del self._tokens[key]
            return None
        return token

    def put(self, key: TokenKey, token: str, ttl: float) -> None:
        self._tokens[key] = (token, self._clock() + max(ttl - TOKEN_EXPIRY_MARGIN, 0.0))

    def drop(self, key: TokenKey) -> None:
        self._tokens.pop(key, None)


async def fetch_token(
    session: aiohttp.ClientSession,
    challenge: Challenge,
    creds: RegistryCreds | None,
    *,
    default_scope: str,
    client_timeout: aiohttp.ClientTimeout,
) -> tuple[str, float]:
    """Run the token flow for a Bearer challenge; return (token, time-to-live in seconds).

    The challenge's own scope wins; `default_scope` (repository:<name>:pull) covers registries that
    omit it. Credentials go to a plain-http realm only on a loopback address (`structs.urls`).
    """
    realm = challenge.params.get("realm", "")
    try:
        url = yarl.URL(realm)
    except ValueError:
        url = yarl.URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise RegistryError("registry sent a Bearer challenge without a usable realm", 401)
    if creds is not None and urls.sends_in_clear(str(url)):
        raise RegistryError(
            f"refusing to send credentials to the plain-http token realm {url.host}: https is required", 401
        )
    query: list[tuple[str, str]] = []
    if challenge.params.get("service"):
        query.append(("service", challenge.params["service"]))
    # A challenge may ask for several space-separated scopes; the spec repeats the parameter.
    for scope in (challenge.params.get("scope") or default_scope).split():
        query.append(("scope", scope))
    headers = {"Accept": "application/json"}
    if creds is not None:
        headers["Authorization"] = creds.basic_header()
    where = f"token service {url.host}"
    try:
        async with session.get(url.with_query(query), headers=headers, timeout=client_timeout) as resp:
            body = await resp.content.read(1 << 20)
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RegistryError(f"{where}: {type(exc).__name__}") from None
    if status != 200:
        reason = "credentials rejected" if status in (401, 403) else f"HTTP {status}"
        raise RegistryError(f"{where}: {reason}", status)
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        raise RegistryError(f"{where}: answer is not JSON", status) from None
    if not isinstance(answer, dict):
        raise RegistryError(f"{where}: answer is not a JSON object", status)
    token = answer.get("token") or answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise RegistryError(f"{where}: answer holds no token", status)
    expires_in = answer.get("expires_in")
    ttl = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else DEFAULT_TOKEN_TTL
    return token, ttl
