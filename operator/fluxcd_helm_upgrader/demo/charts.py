"""A local Helm chart repository server: serves a generated index.yaml on 127.0.0.1 with ETag support.

Used by the offline demo and the e2e tests. It records every request (path and conditional headers) so tests can
assert what the operator sent, and it can be told to fail (HTTP 500) to show one broken repository does not stop
the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import yaml
from aiohttp import web


@dataclass(frozen=True)
class Seen:
    """One request the server answered."""

    path: str
    if_none_match: str | None
    status: int


@dataclass
class ChartRepo:
    """One repository: chart name -> versions (with optional per-version extras such as appVersion)."""

    charts: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    broken: bool = False
    _rendered: bytes | None = field(default=None, repr=False)  # rendered once per change, not per request

    def add(self, chart: str, version: str, **extra: object) -> None:
        entry: dict[str, object] = {
            "apiVersion": "v2",
            "name": chart,
            "version": version,
            "appVersion": extra.pop("appVersion", version),
            "created": "2026-01-01T00:00:00Z",
            "digest": hashlib.sha256(f"{chart}-{version}".encode()).hexdigest(),
            "urls": [f"{chart}-{version}.tgz"],
        }
        entry.update(extra)
        self.charts.setdefault(chart, []).insert(0, entry)
        self._rendered = None

    def index(self) -> bytes:
        if self._rendered is None:
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
            document = {"apiVersion": "v1", "entries": self.charts, "generated": "2026-01-01T00:00:00Z"}
            self._rendered = yaml.dump(document, Dumper=dumper, sort_keys=True).encode()
        return self._rendered


class ChartServer:
    """Serves `/<repo>/index.yaml` for each named repository."""

    def __init__(self) -> None:
        self.repos: dict[str, ChartRepo] = {}
        self.seen: list[Seen] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def repo(self, name: str, charts: Mapping[str, Iterable[str]] | None = None) -> ChartRepo:
        repo = self.repos.setdefault(name, ChartRepo())
        for chart, versions in (charts or {}).items():
            for version in versions:
                repo.add(chart, version)
        return repo

    def repo_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/{repo}/index.yaml", self._index)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, request: web.Request) -> web.Response:
        repo = self.repos.get(request.match_info["repo"])
        conditional = request.headers.get("If-None-Match")
        if repo is None or repo.broken:
            status = 404 if repo is None else 500
            self.seen.append(Seen(request.path, conditional, status))
            return web.Response(status=status, text="broken repository" if repo else "no such repository")
        body = repo.index()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if conditional == etag:
            self.seen.append(Seen(request.path, conditional, 304))
            return web.Response(status=304, headers={"ETag": etag})
        self.seen.append(Seen(request.path, conditional, 200))
        return web.Response(body=body, content_type="application/x-yaml", headers={"ETag": etag})
