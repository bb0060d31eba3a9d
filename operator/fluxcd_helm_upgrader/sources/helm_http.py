"""Fetch `index.yaml` of HTTP Helm repositories, with conditional GET and a parsed-result cache.

Called by the check cycle: one `IndexFetcher` per process, one `FetchCycle` per check cycle::

    async with fetcher.cycle() as cycle:
        fetched = await cycle.fetch(url, auth=auth, parse=parse_index, parse_key=("podinfo",))

What it guarantees:

* One request per repository at a time: concurrent fetches of the same (URL, credentials) share one
  in-flight download; within a `FetchCycle` a repository is fetched at most once (later calls,
  including after a failure, are answered from the cycle without touching the network).
* Conditional GET (`If-None-Match` / `If-Modified-Since`); on 304 the stored body is reused.
* The body is kept gzip-compressed in memory (a 26 MB index costs ~3 MB) and parse results are
  memoized per `parse_key`; a 304 with a new `parse_key` re-parses the stored body, no download.
  `parse_key` must identify the parse function *and* its inputs (e.g. the set of chart names).
* `parse` (and gzip work) runs in a thread: a big index never blocks the event loop.
* The size cap counts decompressed bytes while streaming (HTTP Content-Encoding is decoded by
  aiohttp in bounded steps; a body that is itself gzip is inflated here in bounded steps too), so a
  decompression bomb stops at the cap. A leading UTF-8 BOM is stripped (see `helm_http_body`).
* Exceptions raised by `parse` propagate unchanged and are not memoized.
* `RepoAuth.insecure` is ignored here: for HTTP repositories the URL scheme decides (see `auth`).
* Redirects are followed here, not by aiohttp, so `passCredentials` is explicit: basic auth goes
  only where `auth.sends_credentials` allows. (aiohttp itself drops `Authorization` on any
  cross-origin redirect, which would make passCredentials=true impossible.) Cookies are never kept.
* Errors are `FetchError`s whose message carries the URL as `structs.urls.sanitize` shows it, never credentials. Bad TLS
  material in a Secret surfaces as `secrets.SourceAuthError`.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import gzip
import http
import time
import urllib.parse
from collections.abc import Callable, Hashable
from typing import Any, Generic, Literal, TypeVar, cast

import aiohttp
import yarl

from fluxcd_helm_upgrader.sources import auth as auth_
from fluxcd_helm_upgrader.sources import helm_http_body
from fluxcd_helm_upgrader.structs import urls

T = TypeVar("T")
Status = Literal["fetched", "not_modified", "cached"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_KEPT_PARSES = 4  # parse results memoized per index body (distinct parse_keys)
_CacheKey = tuple[str, "auth_.RepoAuth | None"]


class FetchError(Exception):
    """An index could not be fetched. `url` is sanitized (`structs.urls`); `status` is the HTTP status, if any."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


@dataclasses.dataclass(frozen=True)
class Fetched(Generic[T]):
    """The parsed index and how it was obtained.

    status: "fetched" (200, downloaded now), "not_modified" (304, stored body reused) or "cached"
    (this call made no request: answered by the cycle or by another caller's in-flight request).
    bytes_read: body bytes received by this call after HTTP Content-Encoding decoding (0 unless
    "fetched"). url: the index URL without userinfo or query (`structs.urls.sanitize`).
    """

    value: T
    status: Status
    bytes_read: int
    url: str


def index_url(repo_url: str) -> str:
    """`<repo_url>/index.yaml`, with or without a trailing slash, keeping any query string."""
    parts = urllib.parse.urlsplit(repo_url)
    path = parts.path.rstrip("/") + "/index.yaml"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _split_userinfo(url: str, auth: auth_.RepoAuth | None) -> tuple[str, auth_.RepoAuth | None]:
    # Helm accepts https://user:pass@host/; we move such userinfo into RepoAuth so it is sent as a
    # header under the same redirect rules and never appears in a URL aiohttp might print.
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, auth
    clean = urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment)
    )
    if (auth is None or not auth.has_basic) and parts.username and parts.password:
        base = auth or auth_.RepoAuth()
        auth = dataclasses.replace(
            base, username=urllib.parse.unquote(parts.username), password=urllib.parse.unquote(parts.password)
        )
    return clean, auth


split_userinfo = _split_userinfo  # `sources.charts` downloads chart tarballs under the same rule


def redirect(resp: aiohttp.ClientResponse, current: yarl.URL) -> yarl.URL | None:
    """Where a redirect answer points (relative `Location`s resolved), or None when `resp` is not a redirect.
    Redirects are followed by hand (here and in `sources.charts`) so credentials are decided on every hop."""
    if resp.status in _REDIRECTS and resp.headers.get("Location"):
        return current.join(yarl.URL(resp.headers["Location"]))
    return None


class _Entry:
    """Cached state of one index URL: validators, compressed body, memoized parse results."""

    def __init__(self, body_gz: bytes, etag: str | None, last_modified: str | None) -> None:
        self.body_gz = body_gz
        self.etag = etag
        self.last_modified = last_modified
        self.parsed: collections.OrderedDict[Hashable, Any] = collections.OrderedDict()
        self.parsing: dict[Hashable, asyncio.Future[Any]] = {}
        self.last_used = time.monotonic()


@dataclasses.dataclass(frozen=True)
class _Download:
    entry: _Entry
    status: Status
    bytes_read: int
    plain: bytes | None  # the just-downloaded body, so the first parse skips a gunzip


class IndexFetcher:
    """Process-wide fetcher of Helm repository indexes; holds one aiohttp session and the cache.

    session: an existing aiohttp.ClientSession to use (not closed by `close()`); it should keep
    aiohttp's default auto_decompress=True. Otherwise one is created on first use.
    max_bytes: cap on the decompressed index size. timeout: seconds for one whole fetch (connect,
    redirects, body). concurrency: downloads at once. parse_concurrency: parses at once (parsing a
    big index costs far more memory than its size). max_idle: seconds after which an unused URL's
    cache entry is dropped. trust_env: honour HTTP(S)_PROXY/NO_PROXY like Flux does.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        max_bytes: int = 100 * helm_http_body.MiB,
        timeout: float = 60.0,
        concurrency: int = 8,
        parse_concurrency: int = 2,
        max_redirects: int = 10,
        max_idle: float = 24 * 3600.0,
        trust_env: bool = True,
        user_agent: str = "fluxcd-helm-upgrader",
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.max_idle = max_idle
        self._session = session
        self._owns_session = session is None
        self._trust_env = trust_env
        self._user_agent = user_agent
        self._downloads = asyncio.Semaphore(concurrency)
        self._parses = asyncio.Semaphore(parse_concurrency)
        self._cache: dict[_CacheKey, _Entry] = {}
        self._inflight: dict[_CacheKey, asyncio.Future[_Download]] = {}

    async def __aenter__(self) -> IndexFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this fetcher created it. The cache is kept."""
        if self._session is not None and self._owns_session:
            await self._session.close()
            self._session = None

    def cycle(self) -> FetchCycle:
        """A per-cycle scope: each repository is fetched at most once inside it."""
        return FetchCycle(self)

    async def fetch(
        self, repo_url: str, *, auth: auth_.RepoAuth | None, parse: Callable[[bytes], T], parse_key: Hashable
    ) -> Fetched[T]:
        """Fetch (conditionally) and parse `<repo_url>/index.yaml`. Raises FetchError."""
        return await self._fetch(repo_url, auth, parse, parse_key, memo=None)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                auto_decompress=True,
                trust_env=self._trust_env,
                cookie_jar=aiohttp.DummyCookieJar(),  # never carry one repository's cookies to another
                timeout=aiohttp.ClientTimeout(total=None),  # whole-fetch deadline is ours
                headers={"User-Agent": self._user_agent},
            )
        return self._session

    async def _fetch(
        self,
        repo_url: str,
        auth: auth_.RepoAuth | None,
        parse: Callable[[bytes], T],
        parse_key: Hashable,
        memo: dict[_CacheKey, _Entry | FetchError] | None,
    ) -> Fetched[T]:
        url, auth = _split_userinfo(index_url(repo_url), auth)
        shown = urls.sanitize(url)
        key: _CacheKey = (url, auth)
        remembered = memo.get(key) if memo is not None else None
        if isinstance(remembered, FetchError):
            raise FetchError(str(remembered), url=remembered.url, status=remembered.status)
        if remembered is not None:
            value = await self._parsed(remembered, parse, parse_key, None)
            return Fetched(value=value, status="cached", bytes_read=0, url=shown)
        future, owner = self._inflight.get(key), False
        if future is None:
            future, owner = asyncio.ensure_future(self._download(key, auth, shown)), True
            self._inflight[key] = future
            future.add_done_callback(lambda done: self._landed(key, done))
        try:
            # shield: one cancelled caller must not cancel the download others are waiting for.
            outcome = await asyncio.shield(future)
        except FetchError as exc:
            if memo is not None:
                memo[key] = exc
            raise FetchError(str(exc), url=exc.url, status=exc.status) from None
        if memo is not None:
            memo[key] = outcome.entry
        value = await self._parsed(outcome.entry, parse, parse_key, outcome.plain if owner else None)
        if owner:
            return Fetched(value=value, status=outcome.status, bytes_read=outcome.bytes_read, url=shown)
        return Fetched(value=value, status="cached", bytes_read=0, url=shown)

    def _landed(self, key: _CacheKey, done: asyncio.Future[_Download]) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key]
        if not done.cancelled():
            done.exception()  # mark retrieved: every waiter may have been cancelled

    def _prune(self) -> None:
        horizon = time.monotonic() - self.max_idle
        for key in [k for k, e in self._cache.items() if e.last_used < horizon]:
            del self._cache[key]

    async def _download(self, key: _CacheKey, auth: auth_.RepoAuth | None, shown: str) -> _Download:
        self._prune()
        async with self._downloads:
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._request(key, auth, shown)
            except TimeoutError:
                raise FetchError(f"timed out after {self.timeout:g}s fetching {shown}", url=shown) from None
            except aiohttp.ClientError as exc:
                raise FetchError(_describe(exc, key[0], shown, auth), url=shown) from None

    async def _request(self, key: _CacheKey, auth: auth_.RepoAuth | None, shown: str) -> _Download:
        url = key[0]
        entry = self._cache.get(key)
        headers = {"Accept-Encoding": "gzip, deflate"}
        if entry is not None and entry.etag:
            headers["If-None-Match"] = entry.etag
        if entry is not None and entry.last_modified:
            headers["If-Modified-Since"] = entry.last_modified
        context = auth_.ssl_context(auth)
        current = yarl.URL(url)
        for _hop in range(self.max_redirects + 1):
            async with self._get_session().get(
                current,
                headers=auth_.hop_headers(auth, url, str(current), headers),
                allow_redirects=False,
                ssl=context if context is not None else True,
            ) as resp:
                following = redirect(resp, current)
                if following is not None:
                    if following.scheme not in ("http", "https"):
                        raise FetchError(f"redirected to a non-HTTP URL fetching {shown}", url=shown)
                    current = following
                    continue
                if resp.status == 304 and entry is not None:
                    entry.etag = resp.headers.get("ETag", entry.etag)
                    entry.last_modified = resp.headers.get("Last-Modified", entry.last_modified)
                    entry.last_used = time.monotonic()
                    return _Download(entry=entry, status="not_modified", bytes_read=0, plain=None)
                if resp.status != 200:
                    raise FetchError(f"HTTP {_phrase(resp.status)}fetching {shown}", url=shown, status=resp.status)
                body = helm_http_body.BodyReader(self.max_bytes)
                try:
                    async for chunk in resp.content.iter_chunked(256 * 1024):
                        body.feed(chunk)
                    plain = body.finish()
                except helm_http_body.BodyError as exc:
                    raise FetchError(f"{exc}: {shown}", url=shown) from None
                etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
            compressed = await asyncio.to_thread(gzip.compress, plain, 6, mtime=0)
            fresh = _Entry(compressed, etag, modified)
            self._cache[key] = fresh
            return _Download(entry=fresh, status="fetched", bytes_read=body.received, plain=plain)
        raise FetchError(f"more than {self.max_redirects} redirects fetching {shown}", url=shown)

    async def _parsed(self, entry: _Entry, parse: Callable[[bytes], T], parse_key: Hashable, plain: bytes | None) -> T:
        entry.last_used = time.monotonic()
        if parse_key in entry.parsed:
            entry.parsed.move_to_end(parse_key)
            return cast(T, entry.parsed[parse_key])
        future = entry.parsing.get(parse_key)
        if future is None:
            future = asyncio.ensure_future(self._parse_into(entry, parse, parse_key, plain))
            entry.parsing[parse_key] = future
            future.add_done_callback(lambda done: _parse_landed(entry, parse_key, done))
        return cast(T, await asyncio.shield(future))

    async def _parse_into(
        self, entry: _Entry, parse: Callable[[bytes], T], parse_key: Hashable, plain: bytes | None
    ) -> T:
        async with self._parses:
            if plain is None:
                plain = await asyncio.to_thread(gzip.decompress, entry.body_gz)
            value = await asyncio.to_thread(parse, plain)
        entry.parsed[parse_key] = value
        while len(entry.parsed) > _KEPT_PARSES:
            entry.parsed.popitem(last=False)
        return value


def _parse_landed(entry: _Entry, parse_key: Hashable, done: asyncio.Future[Any]) -> None:
    if entry.parsing.get(parse_key) is done:
        del entry.parsing[parse_key]
    if not done.cancelled():
        done.exception()


def _phrase(status: int) -> str:
    # The standard phrase, not the server's reason text: a server may echo request headers there.
    try:
        return f"{status} {http.HTTPStatus(status).phrase} "
    except ValueError:
        return f"{status} "


def _describe(exc: aiohttp.ClientError, url: str, shown: str, auth: auth_.RepoAuth | None) -> str:
    """A short, credential-free description of a transport error."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        detail = f"TLS certificate not trusted ({exc.certificate_error})"
    elif isinstance(exc, aiohttp.ClientSSLError):
        detail = f"TLS handshake failed ({getattr(exc, 'os_error', exc)})"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        detail = f"cannot connect ({exc.os_error.strerror or type(exc.os_error).__name__})"
    else:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    detail = detail.replace(url, shown)
    # Belt and braces: aiohttp never saw credentials in a URL, but scrub them anyway.
    for secret in (auth.password, auth.authorization()) if auth is not None else ():
        if secret:
            detail = detail.replace(secret, "***")
    return f"could not fetch {shown}: {detail}"


class FetchCycle:
    """One check cycle's view of the fetcher: each (URL, credentials) hits the network at most once.

    Use as `with` or `async with`; leaving it forgets the cycle's results (the fetcher's
    conditional-GET cache stays). Failures are remembered too, so 50 releases on one broken
    repository make one request and get 50 identical errors.
    """

    def __init__(self, fetcher: IndexFetcher) -> None:
        self._fetcher = fetcher
        self._memo: dict[_CacheKey, _Entry | FetchError] = {}

    def __enter__(self) -> FetchCycle:
        return self

    def __exit__(self, *exc: object) -> None:
        self._memo.clear()

    async def __aenter__(self) -> FetchCycle:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._memo.clear()

    async def fetch(
        self, repo_url: str, *, auth: auth_.RepoAuth | None, parse: Callable[[bytes], T], parse_key: Hashable
    ) -> Fetched[T]:
        """As `IndexFetcher.fetch`, but at most one request per repository in this cycle."""
        return await self._fetcher._fetch(repo_url, auth, parse, parse_key, memo=self._memo)
