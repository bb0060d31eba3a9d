"""A local Helm chart repository server: serves a generated index.yaml and the chart tarballs on 127.0.0.1.

Used by the offline demo and the e2e tests. It records every request (path and conditional headers) so tests can
assert what the operator sent, and it can be told to fail (HTTP 500) to show one broken repository does not stop
the others. Each index entry's `urls` holds a relative `<chart>-<version>.tgz`, served as a real packaged chart:
the files given to `ChartRepo.add(files=...)` (values.yaml, values.schema.json, crds/...), or a minimal chart
(Chart.yaml and an empty values.yaml) built on first request. `package` builds such a tarball for any test.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
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


def package(
    chart: str, version: str, files: Mapping[str, str | bytes] | None = None, *, app_version: str | None = None,
    kube_version: str | None = None,
) -> bytes:
    """A packaged chart (.tgz) as `helm package` lays it out: `<chart>/Chart.yaml` first, then `files` (paths
    relative to the chart directory, e.g. "values.yaml", "crds/widgets.yaml")."""
    metadata: dict[str, object] = {"apiVersion": "v2", "name": chart, "version": version,
                                   "appVersion": app_version or version}  # fmt: skip
    if kube_version:
        metadata["kubeVersion"] = kube_version
    members: dict[str, str | bytes] = {"Chart.yaml": yaml.safe_dump(metadata, sort_keys=False)}
    members.update(files or {"values.yaml": "{}\n"})
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for path, content in members.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"{chart}/{path}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class ChartRepo:
    """One repository: chart name -> versions (with optional per-version extras such as appVersion)."""

    charts: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    broken: bool = False
    tarballs: dict[str, bytes] = field(default_factory=dict, repr=False)  # file name -> packaged chart
    _rendered: bytes | None = field(default=None, repr=False)  # rendered once per change, not per request

    def add(
        self, chart: str, version: str, *, files: Mapping[str, str | bytes] | None = None,
        kube_version: str | None = None, **extra: object,
    ) -> None:
        """Add (or replace) a version; with `files` (or `kube_version`), its tarball is built now and the index
        digest is the tarball's, as `helm repo index` writes it."""
        app_version = extra.pop("appVersion", version)
        name = f"{chart}-{version}.tgz"
        digest = hashlib.sha256(f"{chart}-{version}".encode()).hexdigest()
        self.tarballs.pop(name, None)
        if files is not None or kube_version:
            self.tarballs[name] = package(chart, version, files, app_version=str(app_version),
                                          kube_version=kube_version)  # fmt: skip
            digest = hashlib.sha256(self.tarballs[name]).hexdigest()
        entry: dict[str, object] = {
            "apiVersion": "v2",
            "name": chart,
            "version": version,
            "appVersion": app_version,
            "created": "2026-01-01T00:00:00Z",
            "digest": digest,
            "urls": [name],
        }
        if kube_version:
            entry["kubeVersion"] = kube_version
        entry.update(extra)
        entries = [e for e in self.charts.get(chart, []) if e["version"] != version]
        self.charts[chart] = [entry, *entries]
        self._rendered = None

    def tarball(self, name: str) -> bytes | None:
        """The packaged chart for a `urls` file name; a minimal one for versions added without files."""
        if name not in self.tarballs:
            entry = next((e for entries in self.charts.values() for e in entries if e["urls"] == [name]), None)
            if entry is None:
                return None
            self.tarballs[name] = package(str(entry["name"]), str(entry["version"]),
                                          app_version=str(entry["appVersion"]))  # fmt: skip
        return self.tarballs[name]

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
        app.router.add_get("/{repo}/{name}", self._tarball)
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

    async def _tarball(self, request: web.Request) -> web.Response:
        repo = self.repos.get(request.match_info["repo"])
        body = repo.tarball(request.match_info["name"]) if repo is not None and not repo.broken else None
        self.seen.append(Seen(request.path, None, 404 if body is None else 200))
        if body is None:
            return web.Response(status=404, text="no such chart")
        return web.Response(body=body, content_type="application/gzip")
