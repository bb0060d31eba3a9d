"""A local Helm chart repository server: serves a generated index.yaml and the chart tarballs on 127.0.0.1.

Used by the offline demo and the e2e tests. It records every request (path and conditional headers) so tests can
assert what the operator sent, and it can be told to fail (HTTP 500, `broken`) or to hang or trickle its index
(`outage`) to show one broken repository does not stop the others. Each index entry's `urls` holds a relative
`<chart>-<version>.tgz`, served as a real packaged chart (the upgrade risk reads it): the files given to
`ChartRepo.add(files=...)` (values.yaml, values.schema.json, crds/...), or a minimal chart (Chart.yaml and an
empty values.yaml). `package` builds such a tarball for any test.

A repository can also be backed by a directory (`ChartRepo.publish_to`), the way `helm repo index` builds a
repository from a directory of chart archives: every version is written there as `<chart>-<version>.tgz`, and an
archive someone drops in (even an empty file made with `touch`) is published on the next index request and served
as it is. That is how `demo --serve` lets a user publish a new chart version.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip
import hashlib
import io
import re
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from aiohttp import web


@dataclass(frozen=True)
class Seen:
    """One request the server answered."""

    path: str
    if_none_match: str | None
    status: int


OUTAGES = ("hang", "trickle")
"""How a repository can misbehave besides `broken` (HTTP 500): never answer, or send its index a byte at a time."""

# `<chart>-<version>.tgz`: the version starts at the first "-<digit>" (chart names may contain dashes).
ARCHIVE_NAME = re.compile(r"^(?P<chart>.+?)-(?P<version>v?\d+\.\d+\.\d+[^/]*)\.tgz$")


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
    outage: str | None = None  # index requests: "hang" (no answer), "trickle" (a few bytes a second); see OUTAGES
    directory: Path | None = None  # see publish_to()
    tarballs: dict[str, bytes] = field(default_factory=dict, repr=False)  # file name -> packaged chart
    _rendered: bytes | None = field(default=None, repr=False)  # rendered once per change, not per request
    _seen_files: set[str] = field(default_factory=set, repr=False)

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
            "created": extra.pop("created", "2026-01-01T00:00:00Z"),
            "digest": extra.pop("digest", digest),
            "urls": [name],
        }
        if kube_version:
            entry["kubeVersion"] = kube_version
        entry.update(extra)
        entries = [e for e in self.charts.get(chart, []) if e["version"] != version]
        self.charts[chart] = [entry, *entries]
        self._rendered = None
        if self.directory is not None:
            self._write_archive(chart, version, str(entry["appVersion"]))

    def tarball(self, name: str) -> bytes | None:
        """The packaged chart for a `urls` file name: the archive in the directory when there is one, else the
        files given to `add`, else a minimal chart built on first request."""
        if self.directory is not None and (self.directory / name).is_file():
            return (self.directory / name).read_bytes()
        if name not in self.tarballs:
            entry = next((e for entries in self.charts.values() for e in entries if e["urls"] == [name]), None)
            if entry is None:
                return None
            self.tarballs[name] = package(str(entry["name"]), str(entry["version"]),
                                          app_version=str(entry["appVersion"]))  # fmt: skip
        return self.tarballs[name]

    def publish_to(self, directory: Path) -> Path:
        """Keep this repository in `directory` from now on: existing versions are written there as archives,
        and archives added to it later are published (see `refresh()`)."""
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        for chart, entries in self.charts.items():
            for entry in entries:
                self._write_archive(chart, str(entry["version"]), str(entry["appVersion"]))
        return directory

    def _write_archive(self, chart: str, version: str, app_version: str) -> None:
        assert self.directory is not None
        name = f"{chart}-{version}.tgz"
        self._seen_files.add(name)
        target = self.directory / name
        if target.exists():
            return
        target.write_bytes(self.tarballs.get(name) or package(chart, version, app_version=app_version))

    def refresh(self) -> None:
        """Publish archives that appeared in the directory: Chart.yaml when readable, else the file name."""
        if self.directory is None or not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.tgz")):
            if path.name in self._seen_files:
                continue
            self._seen_files.add(path.name)
            found = _chart_yaml(path) or _from_file_name(path.name)
            if found is None:
                continue
            chart, version, app_version = found
            created = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
            self.add(
                chart,
                version,
                appVersion=app_version,
                created=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                digest=hashlib.sha256(path.read_bytes()).hexdigest(),
            )

    def index(self) -> bytes:
        if self._rendered is None:
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
            document = {"apiVersion": "v1", "entries": self.charts, "generated": "2026-01-01T00:00:00Z"}
            self._rendered = yaml.dump(document, Dumper=dumper, sort_keys=True).encode()
        return self._rendered


def _from_file_name(name: str) -> tuple[str, str, str] | None:
    match = ARCHIVE_NAME.match(name)
    return None if match is None else (match["chart"], match["version"], match["version"])


def _chart_yaml(path: Path) -> tuple[str, str, str] | None:
    """(name, version, appVersion) from the archive's <chart>/Chart.yaml, or None for an empty or odd file."""
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            members = archive.getmembers()
            member = next(m for m in members if m.name.count("/") == 1 and m.name.endswith("/Chart.yaml"))
            handle = archive.extractfile(member)
            meta = yaml.safe_load(handle.read()) if handle is not None else None
    except (OSError, tarfile.TarError, StopIteration, yaml.YAMLError):
        return None
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        return None
    return str(meta["name"]), str(meta["version"]), str(meta.get("appVersion") or meta["version"])


class ChartServer:
    """Serves `/<repo>/index.yaml` for each named repository."""

    def __init__(self) -> None:
        self.repos: dict[str, ChartRepo] = {}
        self.seen: list[Seen] = []
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()  # ends the requests an outage holds, so stop() never waits on them
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
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, request: web.Request) -> web.StreamResponse:
        repo = self.repos.get(request.match_info["repo"])
        if repo is not None:
            repo.refresh()
        conditional = request.headers.get("If-None-Match")
        if repo is not None and repo.outage is not None:
            self.seen.append(Seen(request.path, conditional, 200 if repo.outage == "trickle" else 0))
            return await self._misbehave(request, repo)
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

    async def _misbehave(self, request: web.Request, repo: ChartRepo) -> web.StreamResponse:
        """An outage: hold the request without an answer, or answer 200 and send the index 8 bytes a second;
        either until the client gives up or the server stops."""
        if repo.outage == "hang":
            await self._stopping.wait()
            return web.Response(status=503, text="stopping")
        response = web.StreamResponse(headers={"Content-Type": "application/x-yaml"})
        await response.prepare(request)
        body = repo.index()
        for start in range(0, len(body), 8):
            if self._stopping.is_set():
                break
            await response.write(body[start : start + 8])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 1.0)
        return response

    async def _tarball(self, request: web.Request) -> web.Response:
        repo = self.repos.get(request.match_info["repo"])
        body = repo.tarball(request.match_info["name"]) if repo is not None and not repo.broken else None
        self.seen.append(Seen(request.path, None, 404 if body is None else 200))
        if body is None:
            return web.Response(status=404, text="no such chart")
        return web.Response(body=body, content_type="application/gzip")
