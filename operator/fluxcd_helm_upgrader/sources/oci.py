"""OCI registry client for Helm charts stored as OCI artifacts (Flux OCI HelmRepository, OCIRepository).

Called by the version checker: `list_tags` feeds `checking.oci_tags.tags_to_versions`;
`manifest_digest` pins what a tag points at (Flux reports OCIRepository revisions as
`<tag>@sha256:...`); `chart_metadata` reads Chart.yaml (appVersion) for a proposal's description;
`chart_layer` downloads the packaged chart for the upgrade risk (`sources.charts`) and `created` reads
when a tag was pushed (`policy.minimumReleaseAge`).

Behaviour a Flux user would expect:
- Auth: anonymous; Basic (sent once the registry asked for it with `401 Basic`, and from then on
  preemptively for that registry); and the Docker/OCI token flow (`401 Bearer realm,service,scope`
  -> GET realm -> `token`/`access_token` -> retry with Bearer), tokens cached per (registry, scope,
  credentials) until shortly before `expires_in`. See `sources.oci_auth`.
- `insecure` refs talk plain http:// (Flux's `spec.insecure`).
- 429 and 5xx are retried `retries` times with exponential backoff, honouring `Retry-After` (capped).
  Network errors (connection refused, timeouts) fail at once: the next check cycle is the retry,
  and a down registry must not stall the cycle.
- Tag lists follow `Link: <...>; rel="next"` pagination (relative or absolute, same origin only)
  and ask for `?n=` tags per page.
- Every failure is a `RegistryError(message, status)`; messages carry no credentials, tokens or
  query strings (blob redirects go to pre-signed URLs whose query is a secret).
- Bodies are size-capped and blobs are digest-checked.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import multidict
import yarl

from fluxcd_helm_upgrader.sources import oci_auth, oci_charts, oci_refs
from fluxcd_helm_upgrader.structs import urls

# Re-exported so callers need only this module: `oci.RegistryError`, `oci.parse_ref(...)`.
RegistryError = oci_auth.RegistryError
RegistryCreds = oci_auth.RegistryCreds
OciRef = oci_refs.OciRef
registry_creds_from_secret = oci_auth.registry_creds_from_secret
parse_ref = oci_refs.parse_ref
chart_ref = oci_refs.chart_ref

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
# For digests we accept indexes too, so the digest is the tag's own (what `crane digest` prints).
DIGEST_ACCEPT = ", ".join((OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST))
MANIFEST_ACCEPT = ", ".join((OCI_MANIFEST, DOCKER_MANIFEST))
CREATED_ANNOTATION = "org.opencontainers.image.created"

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_JSON_BYTES = 4 << 20  # a tag page or a manifest
MAX_CONFIG_BYTES = 1 << 20
MAX_ERROR_BODY_BYTES = 16 << 10
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: multidict.CIMultiDictProxy[str]
    body: bytes
    url: yarl.URL


class OciClient:
    """Reads tags, digests and chart metadata from OCI registries through one aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        retries: int = 3,
        sleep: Sleep = asyncio.sleep,
        page_size: int | None = 1000,
        max_pages: int = 100,
        max_chart_bytes: int = 10 << 20,
        max_retry_after: float = 60.0,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._retries = retries
        self._sleep = sleep
        self._page_size = page_size
        self._max_pages = max_pages
        self._max_chart_bytes = max_chart_bytes
        self._max_retry_after = max_retry_after
        self._timeout = timeout
        self._tokens = oci_auth.TokenCache(clock)
        # Registries that answered `401 Basic`: later requests send the credentials up front.
        self._basic_registries: set[str] = set()

    async def list_tags(self, ref: OciRef, creds: RegistryCreds | None = None) -> list[str]:
        """All tags of the repository, in the registry's order (often unsorted), without duplicates."""
        url = yarl.URL(f"{ref.base_url}/v2/{ref.repository}/tags/list")
        if self._page_size:
            url = url.with_query(n=str(self._page_size))
        tags: list[str] = []
        seen_tags: set[str] = set()
        seen_urls = {url}
        for _ in range(self._max_pages):
            reply = await self._call("GET", url, ref, creds, accept="application/json", cap=MAX_JSON_BYTES)
            page = _json_object(_ok(reply, ref, "listing tags"), ref, "tag list")
            page_tags = page.get("tags") or []  # distribution answers `"tags": null` for none
            if not isinstance(page_tags, list) or not all(isinstance(tag, str) for tag in page_tags):
                raise RegistryError(f"{ref}: the tag list is not a list of strings", reply.status)
            for tag in page_tags:
                if tag not in seen_tags:
                    seen_tags.add(tag)
                    tags.append(tag)
            next_url = _next_link(reply)
            if next_url is None:
                return tags
            if next_url.origin() != url.origin():
                raise RegistryError(f"{ref}: tag list pagination points to another host", reply.status)
            if next_url in seen_urls:
                raise RegistryError(f"{ref}: tag list pagination loops", reply.status)
            seen_urls.add(next_url)
            url = next_url
        raise RegistryError(f"{ref}: more than {self._max_pages} pages of tags")

    async def manifest_digest(self, ref: OciRef, tag: str, creds: RegistryCreds | None = None) -> str:
        """The digest (`sha256:...`) of the manifest that `tag` points at."""
        url = self._manifest_url(ref, tag)
        head = await self._call("HEAD", url, ref, creds, accept=DIGEST_ACCEPT, cap=0)
        if head.status != 405:  # some proxies refuse HEAD; GET answers the same question
            _ok(head, ref, f"reading the manifest of {tag}")
            digest = head.headers.get("Docker-Content-Digest", "")
            if oci_refs.DIGEST_RE.match(digest):
                return digest
        reply = await self._call("GET", url, ref, creds, accept=DIGEST_ACCEPT, cap=MAX_JSON_BYTES)
        body = _ok(reply, ref, f"reading the manifest of {tag}")
        digest = reply.headers.get("Docker-Content-Digest", "")
        if oci_refs.DIGEST_RE.match(digest):
            return digest
        return "sha256:" + hashlib.sha256(body).hexdigest()

    async def chart_metadata(self, ref: OciRef, tag: str, creds: RegistryCreds | None = None) -> dict[str, Any]:
        """Chart.yaml of the chart at `tag`: from Helm's config blob when it has name and version
        (small), else from `<chart>/Chart.yaml` in the chart layer."""
        manifest = await self._chart_manifest(ref, tag, creds)
        config, layers = manifest["config"], manifest["layers"]
        try:
            if config.get("mediaType") == oci_charts.HELM_CONFIG_MEDIA_TYPE:
                blob = await self._blob(ref, creds, config, MAX_CONFIG_BYTES)
                metadata = oci_charts.metadata_from_config(blob)
                if metadata is not None:
                    return metadata
            tarball = await self._blob(ref, creds, _chart_layer(ref, tag, config, layers), self._max_chart_bytes)
            return oci_charts.metadata_from_tarball(tarball)
        except oci_charts.ChartFormatError as exc:
            raise RegistryError(f"{ref}:{tag}: {exc}") from None

    async def chart_layer(
        self, ref: OciRef, tag: str, creds: RegistryCreds | None = None, *, cached: Callable[[str], bool] | None = None
    ) -> tuple[str, bytes | None]:
        """The digest and bytes of the packaged chart at `tag` (its `...chart.content.v1.tar+gzip` layer, size-capped
        and digest-checked); the bytes are None, and not downloaded, when `cached(digest)` says the caller has them."""
        manifest = await self._chart_manifest(ref, tag, creds)
        layer = _chart_layer(ref, tag, manifest["config"], manifest["layers"])
        digest = str(layer.get("digest") or "")
        if cached is not None and cached(digest):
            return digest, None
        return digest, await self._blob(ref, creds, layer, self._max_chart_bytes)

    async def created(self, ref: OciRef, tag: str, creds: RegistryCreds | None = None) -> str | None:
        """When the chart at `tag` was created: the manifest's `org.opencontainers.image.created` annotation, else
        the same annotation (or `created`) in its config blob; None when neither says."""
        manifest = await self._chart_manifest(ref, tag, creds)
        annotations = manifest.get("annotations")
        if isinstance(annotations, dict) and isinstance(annotations.get(CREATED_ANNOTATION), str):
            return str(annotations[CREATED_ANNOTATION])
        try:
            config = json.loads(await self._blob(ref, creds, manifest["config"], MAX_CONFIG_BYTES))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(config, dict):
            return None
        inner = config.get("annotations")
        value = inner.get(CREATED_ANNOTATION) if isinstance(inner, dict) else config.get("created")
        return value if isinstance(value, str) else None

    async def _chart_manifest(self, ref: OciRef, tag: str, creds: RegistryCreds | None) -> dict[str, Any]:
        """The image manifest at `tag`, checked to have a config and layers (an index is not a chart)."""
        reply = await self._call(
            "GET", self._manifest_url(ref, tag), ref, creds, accept=MANIFEST_ACCEPT, cap=MAX_JSON_BYTES
        )
        manifest = _json_object(_ok(reply, ref, f"reading the manifest of {tag}"), ref, "manifest")
        media_type = manifest.get("mediaType") or reply.headers.get("Content-Type", "")
        if media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST):
            raise RegistryError(f"{ref}:{tag} is an image index, not a Helm chart")
        if not isinstance(manifest.get("config"), dict) or not isinstance(manifest.get("layers"), list):
            raise RegistryError(f"{ref}:{tag}: the manifest has no config or layers")
        return manifest

    def _manifest_url(self, ref: OciRef, tag: str) -> yarl.URL:
        try:
            reference = oci_refs.check_reference(tag)
        except oci_refs.InvalidReference as exc:
            raise RegistryError(f"{ref}: {exc}") from None
        return yarl.URL(f"{ref.base_url}/v2/{ref.repository}/manifests/{reference}")

    async def _blob(self, ref: OciRef, creds: RegistryCreds | None, descriptor: Mapping[str, Any], cap: int) -> bytes:
        digest = descriptor.get("digest")
        if not isinstance(digest, str) or not oci_refs.DIGEST_RE.match(digest):
            raise RegistryError(f"{ref}: a manifest descriptor has no valid digest")
        size = descriptor.get("size")
        if isinstance(size, int) and size > cap:
            raise RegistryError(f"{ref}: blob {digest} is {size} bytes, over the {cap}-byte limit")
        url = yarl.URL(f"{ref.base_url}/v2/{ref.repository}/blobs/{digest}")
        reply = await self._call("GET", url, ref, creds, accept="*/*", cap=cap)
        body = _ok(reply, ref, f"reading blob {digest}")
        algorithm, _, expected = digest.partition(":")
        if algorithm == "sha256" and hashlib.sha256(body).hexdigest() != expected:
            raise RegistryError(f"{ref}: blob {digest} does not match its digest")
        return body

    async def _call(
        self, method: str, url: yarl.URL, ref: OciRef, creds: RegistryCreds | None, *, accept: str, cap: int
    ) -> _Reply:
        """One request with authentication: cached token or Basic first, then answer 401 challenges
        once per scheme. Returns any non-401 reply; the caller decides what a status means."""
        if creds is not None and urls.sends_in_clear(ref.base_url):
            raise RegistryError(urls.https_required(str(ref), ref.base_url))
        key: oci_auth.TokenKey = (ref.registry, ref.pull_scope, creds)
        headers = {"Accept": accept}
        token = self._tokens.get(key)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif creds is not None and ref.registry in self._basic_registries:
            headers["Authorization"] = creds.basic_header()
        answered: set[str] = set()
        while True:
            reply = await self._send(method, url, headers, cap, ref)
            if reply.status != 401:
                return reply
            offered = oci_auth.parse_challenges(reply.headers.getall("WWW-Authenticate", []))
            challenges = {challenge.scheme: challenge for challenge in offered}
            if "bearer" in challenges and "bearer" not in answered:
                answered.add("bearer")
                self._tokens.drop(key)  # a cached token the registry refused is useless
                token, ttl = await oci_auth.fetch_token(
                    self._session,
                    challenges["bearer"],
                    creds,
                    default_scope=ref.pull_scope,
                    client_timeout=self._timeout,
                )
                self._tokens.put(key, token, ttl)
                headers["Authorization"] = f"Bearer {token}"
            elif "basic" in challenges and creds is not None and "basic" not in answered:
                answered.add("basic")
                self._basic_registries.add(ref.registry)
                headers["Authorization"] = creds.basic_header()
            else:
                reason = "credentials rejected" if creds is not None else "authentication required"
                raise RegistryError(f"{ref}: {reason}", 401)

    async def _send(self, method: str, url: yarl.URL, headers: Mapping[str, str], cap: int, ref: OciRef) -> _Reply:
        """One request, retried on 429/5xx with backoff; the body is read (capped) for 2xx only."""
        for attempt in range(self._retries + 1):
            delay: float | None = None
            try:
                async with self._session.request(method, url, headers=headers, timeout=self._timeout) as resp:
                    if resp.status in RETRY_STATUSES and attempt < self._retries:
                        delay = self._retry_delay(resp.headers, attempt)
                    else:
                        ok = 200 <= resp.status < 300
                        body = await _read_capped(resp, cap, ref) if ok else await _read_error_body(resp)
                        return _Reply(resp.status, resp.headers, body, resp.url)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise RegistryError(f"{ref}: {method} {urls.sanitize(str(url))}: {_describe(exc)}") from None
            await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns")

    def _retry_delay(self, headers: Mapping[str, str], attempt: int) -> float:
        backoff = 0.5 * 2**attempt
        value = headers.get("Retry-After", "").strip()
        if value.isdigit():
            backoff = float(value)
        elif value:
            try:
                when = email.utils.parsedate_to_datetime(value)
                backoff = max((when - datetime.now(UTC)).total_seconds(), 0.0)
            except (TypeError, ValueError):
                pass
        return float(min(backoff, self._max_retry_after))


async def _read_capped(resp: aiohttp.ClientResponse, cap: int, ref: OciRef) -> bytes:
    if resp.method == "HEAD":
        return b""
    if resp.content_length is not None and resp.content_length > cap:
        raise RegistryError(f"{ref}: answer of {resp.content_length} bytes is over the {cap}-byte limit")
    # read(n) returns what has arrived so far, not n bytes: read until the end or just past the cap.
    chunks: list[bytes] = []
    size = 0
    while size <= cap:
        chunk = await resp.content.read(cap + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > cap:
        raise RegistryError(f"{ref}: answer is over the {cap}-byte limit")
    return b"".join(chunks)


async def _read_error_body(resp: aiohttp.ClientResponse) -> bytes:
    return b"" if resp.method == "HEAD" else await resp.content.read(MAX_ERROR_BODY_BYTES)


def _ok(reply: _Reply, ref: OciRef, doing: str) -> bytes:
    """The body of a 2xx reply; otherwise a RegistryError with the registry's own error code."""
    if 200 <= reply.status < 300:
        return reply.body
    detail = ""
    try:
        errors = json.loads(reply.body).get("errors") or []
        first = errors[0]
        detail = f": {first.get('code', '')} {first.get('message', '')}".rstrip()[:200]
    except (ValueError, AttributeError, IndexError, TypeError):
        pass
    raise RegistryError(f"{ref}: {doing} failed: HTTP {reply.status}{detail}", reply.status)


def _chart_layer(ref: OciRef, tag: str, config: Mapping[str, Any], layers: list[Any]) -> Mapping[str, Any]:
    chart_types = (oci_charts.HELM_CHART_MEDIA_TYPE, *oci_charts.LEGACY_CHART_MEDIA_TYPES)
    layer = next((x for x in layers if isinstance(x, dict) and x.get("mediaType") in chart_types), None)
    if layer is None:
        raise RegistryError(f"{ref}:{tag} is not a Helm chart (config media type {config.get('mediaType')!r})")
    return layer


def _json_object(body: bytes, ref: OciRef, what: str) -> dict[str, Any]:
    try:
        loaded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RegistryError(f"{ref}: the {what} is not JSON") from None
    except RecursionError:  # a small body can nest deeper than the interpreter's stack
        raise RegistryError(f"{ref}: the {what} is JSON nested too deeply") from None
    if not isinstance(loaded, dict):
        raise RegistryError(f"{ref}: the {what} is not a JSON object")
    return loaded


def _next_link(reply: _Reply) -> yarl.URL | None:
    """The `rel="next"` target of the Link headers, resolved against the request URL."""
    for header in reply.headers.getall("Link", []):
        for part in header.split(","):
            target, _, params = part.partition(";")
            target = target.strip()
            rels = {p.strip().replace('"', "") for p in params.split(";")}
            if target.startswith("<") and target.endswith(">") and "rel=next" in rels:
                return reply.url.join(yarl.URL(target[1:-1]))
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({exc.os_error.strerror or type(exc.os_error).__name__})"
    return type(exc).__name__
