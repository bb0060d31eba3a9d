"""Download the packaged charts a proposal compares, and read each one once (`checking.chart_archive`).

Called by `proposals.risking` (the Git worker, for the upgrade risk) and by the repository scan. Two kinds:

* `HttpChartRef`: a chart of an HTTP HelmRepository, at the index entry's first `urls` item, relative (resolved
  against the repository URL as Helm does, `checking.indexes.resolve_url`) or absolute. The repository's auth and
  TLS rules are the index fetch's (`sources.auth`): its CA and client certificate always; basic auth to the
  repository's own host (and scheme), anywhere else only with `passCredentials`, decided again on every redirect.
* `OciChartRef`: the chart layer (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`) of the tag's manifest,
  read through the operator's `sources.oci.OciClient` (its token flow and credentials).

Each download is capped at `chart_archive.MAX_COMPRESSED` while streaming, parsed in a thread, and the result is
kept in a small LRU keyed by digest (the index entry's `digest` with its URL, or the OCI layer digest), so a chart
compared by many proposals, or again on the next cycle, is downloaded and read once. Failures are `ChartFetchError`s
whose message carries no credentials (URLs are shown without userinfo or query).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import yarl

from fluxcd_helm_upgrader.checking import chart_archive, indexes
from fluxcd_helm_upgrader.sources import auth, helm_http, oci, oci_refs, secrets
from fluxcd_helm_upgrader.structs import flux, urls

KEPT = 64  # parsed charts kept in memory (values, schemas and CRDs of a chart are usually well under 1 MiB)


class ChartFetchError(Exception):
    """A chart could not be downloaded or read; the message is safe to show (no credentials)."""


@dataclass(frozen=True)
class HttpChartRef:
    """A chart version of an HTTP Helm repository, by its index entry."""

    repository: flux.HelmRepository
    entry: indexes.ChartVersion


@dataclass(frozen=True)
class OciChartRef:
    """A chart in an OCI registry; `secret` is the source's spec.secretRef (namespace, name)."""

    ref: oci_refs.OciRef
    tag: str
    secret: tuple[str, str] | None = None


ChartRef = HttpChartRef | OciChartRef


class ChartFetcher:
    """Process-wide: one HTTP session for tarballs, the operator's OCI client, and the parsed-chart cache."""

    def __init__(
        self,
        oci_client: oci.OciClient | None,
        *,
        timeout: float = 60.0,
        max_bytes: int = chart_archive.MAX_COMPRESSED,
        max_redirects: int = 10,
    ) -> None:
        self._oci = oci_client
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._session: aiohttp.ClientSession | None = None
        self._cache: collections.OrderedDict[tuple[str, ...], chart_archive.Chart] = collections.OrderedDict()
        self._inflight: dict[tuple[str, ...], asyncio.Task[chart_archive.Chart]] = {}
        self.downloads = 0  # packaged charts downloaded (a benchmark and tests count them)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def chart(self, wanted: ChartRef, secrets_api: secrets.SecretsApi) -> chart_archive.Chart:
        """The chart, read once per digest. Raises `ChartFetchError`."""
        try:
            if isinstance(wanted, HttpChartRef):
                return await self._http(wanted, secrets_api)
            return await self._oci_chart(wanted, secrets_api)
        except secrets.SourceAuthError as error:
            raise ChartFetchError(str(error)) from None
        except oci.RegistryError as error:
            raise ChartFetchError(error.message) from None

    async def _http(self, wanted: HttpChartRef, secrets_api: secrets.SecretsApi) -> chart_archive.Chart:
        entry, repository = wanted.entry, wanted.repository
        if not entry.urls:
            raise ChartFetchError(f"the index entry of {entry.name} {entry.version} has no urls")
        url = indexes.resolve_url(repository.url, entry.urls[0])
        if not url.startswith(("http://", "https://")):
            raise ChartFetchError(f"{entry.name} {entry.version}: {urls.sanitize(url)} is not an http(s) URL")
        key = ("http", urls.sanitize(url), entry.digest or "")

        async def download() -> bytes:
            repo_auth = await auth.repo_auth_for(secrets_api, repository.namespace, auth.repository_spec(repository))
            plain, repo_auth = helm_http.split_userinfo(url, repo_auth)  # https://user:pass@host/ as Helm allows it
            return await self._download(plain, helm_http.split_userinfo(repository.url, None)[0], repo_auth)

        return await self._once(key, download)

    async def _oci_chart(self, wanted: OciChartRef, secrets_api: secrets.SecretsApi) -> chart_archive.Chart:
        if self._oci is None:
            raise ChartFetchError(f"{wanted.ref}: no OCI client")
        creds = None
        if wanted.secret is not None:
            data = await secrets.read_secret(secrets_api, *wanted.secret)
            creds = oci.registry_creds_from_secret(data.data, wanted.ref.registry)
        client = self._oci
        digest, body = await client.chart_layer(
            wanted.ref, wanted.tag, creds, cached=lambda d: ("oci", str(wanted.ref), d) in self._cache
        )

        async def download() -> bytes:
            if body is not None:
                return body
            _, fresh = await client.chart_layer(wanted.ref, wanted.tag, creds)  # evicted since the manifest was read
            return fresh or b""

        return await self._once(("oci", str(wanted.ref), digest), download)

    async def _once(self, key: tuple[str, ...], download: Callable[[], Awaitable[bytes]]) -> chart_archive.Chart:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        task = self._inflight.get(key)
        if task is None:
            task = self._inflight[key] = asyncio.ensure_future(self._read(key, download))
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        return await asyncio.shield(task)

    async def _read(self, key: tuple[str, ...], download: Callable[[], Awaitable[bytes]]) -> chart_archive.Chart:
        data = await download()
        self.downloads += 1
        try:
            chart = await asyncio.to_thread(chart_archive.read, data)
        except chart_archive.ChartError as error:
            raise ChartFetchError(f"{key[1]}: {error}") from None
        self._cache[key] = chart
        while len(self._cache) > KEPT:
            self._cache.popitem(last=False)
        return chart

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                auto_decompress=False,  # a .tgz served with Content-Encoding: gzip stays the .tgz Helm reads
                trust_env=True,  # HTTP(S)_PROXY/NO_PROXY, like the index fetcher and Flux
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
                headers={"User-Agent": "fluxcd-helm-upgrader"},
            )
        return self._session

    async def _download(self, url: str, repo_url: str, repo_auth: auth.RepoAuth | None) -> bytes:
        shown = urls.sanitize(url)
        context = auth.ssl_context(repo_auth)
        current = yarl.URL(url, encoded="%" in url)
        try:
            async with asyncio.timeout(self._timeout):
                for _hop in range(self._max_redirects + 1):
                    async with self._get_session().get(
                        current,
                        headers=auth.hop_headers(repo_auth, repo_url, str(current), {"Accept-Encoding": "identity"}),
                        allow_redirects=False,
                        ssl=context if context is not None else True,
                    ) as resp:
                        following = helm_http.redirect(resp, current)
                        if following is not None:
                            if following.scheme not in ("http", "https"):
                                raise ChartFetchError(f"redirected to a non-HTTP URL fetching {shown}")
                            current = following
                            continue
                        if resp.status != 200:
                            raise ChartFetchError(f"HTTP {resp.status} fetching {shown}")
                        return await self._capped(resp, shown)
                raise ChartFetchError(f"more than {self._max_redirects} redirects fetching {shown}")
        except TimeoutError:
            raise ChartFetchError(f"timed out after {self._timeout:g}s fetching {shown}") from None
        except aiohttp.ClientError as error:
            raise ChartFetchError(f"could not fetch {shown}: {type(error).__name__}") from None

    async def _capped(self, resp: aiohttp.ClientResponse, shown: str) -> bytes:
        if resp.content_length is not None and resp.content_length > self._max_bytes:
            raise ChartFetchError(f"{shown} is {resp.content_length} bytes, over the {self._max_bytes}-byte limit")
        parts, size = [], 0
        async for chunk in resp.content.iter_chunked(256 * 1024):
            size += len(chunk)
            if size > self._max_bytes:
                raise ChartFetchError(f"{shown} is over the {self._max_bytes}-byte limit")
            parts.append(chunk)
        return b"".join(parts)
