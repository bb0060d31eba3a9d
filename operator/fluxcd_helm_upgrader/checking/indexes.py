"""Reading Helm repository index files (index.yaml) into chart versions, fast and safely.

Called by the check cycle with the bytes that `sources/` fetched; returns plain values. Pure.

Indexes are big (Bitnami's is 26 MB, Artifactory ones exceed 100 MB) and a release needs one or
two charts of them, so `read_charts` first tries `checking.index_scanning` (byte search for the
wanted charts' blocks, libyaml on those blocks only) and falls back to a full parse with the
bounded loader of `checking.safe_yaml` whenever the fast path is not sure. Both paths feed the
same raw values through the same extraction, and the tests prove they agree on real indexes.

Conventions (both paths):

- A chart not in the index is absent from `IndexRead.charts`; ``chart: null`` reads as ``()``;
  a chart whose value is not a list is absent and counts as one invalid entry.
- An entry that is not a mapping or has no string ``version`` is skipped and counted in
  `IndexRead.invalid_entries` (counted for the requested charts only).
- Scalars are read as strings as Helm does (``version: 1.10`` is "1.10"); ``deprecated`` is true
  only for a YAML boolean true.
- ``artifacthub.io/changes`` is a YAML string: a list of ``{kind, description, links}`` or of plain
  strings. Unparsable or oversized changelogs read as ``()``; bad items are dropped; ``kind`` is
  lower-cased (real charts write ``Added`` as well as ``added``).
- ``apiVersion`` is not required (Helm requires it; being lenient costs nothing here).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from fluxcd_helm_upgrader.checking import index_scanning, safe_yaml

CHANGES_ANNOTATION = "artifacthub.io/changes"
MAX_CHANGES_CHARS = 256 * 1024
MAX_FIELD_CHARS = 4096


class InvalidIndex(ValueError):
    """The bytes are not a Helm index: not YAML, not a mapping, no ``entries``, or unsafe YAML."""


@dataclass(frozen=True)
class Link:
    name: str | None
    url: str


@dataclass(frozen=True)
class ChangelogEntry:
    """One changelog line of a chart version (Artifact Hub ``kind``: added, changed, fixed...)."""

    description: str
    kind: str | None = None
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class ChartVersion:
    name: str
    version: str  # as written in the index
    app_version: str | None = None
    created: str | None = None
    deprecated: bool = False
    digest: str | None = None
    urls: tuple[str, ...] = ()
    changes: tuple[ChangelogEntry, ...] = ()


@dataclass(frozen=True)
class IndexRead:
    charts: Mapping[str, tuple[ChartVersion, ...]]
    invalid_entries: int
    used_fast_path: bool


def read_charts(data: bytes, names: Collection[str]) -> IndexRead:
    """Read the versions of `names` from an index.yaml. Raises `InvalidIndex`."""
    found = index_scanning.find_charts(data, names)
    if found is not None:
        raw_charts: Mapping[str, Any] = found.charts
        fast = True
    else:
        wanted = set(names)
        raw_charts = {name: value for name, value in full_entries(data).items() if name in wanted}
        fast = False
    charts: dict[str, tuple[ChartVersion, ...]] = {}
    invalid = 0
    for name, raw in raw_charts.items():
        chart_versions, bad = chart_versions_from_raw(name, raw)
        invalid += bad
        if chart_versions is not None:
            charts[name] = chart_versions
    return IndexRead(charts=charts, invalid_entries=invalid, used_fast_path=fast)


def full_entries(data: bytes) -> Mapping[Any, Any]:
    """Parse the whole document with the bounded loader; return its ``entries`` mapping."""
    try:
        document = safe_yaml.load(data)
    except safe_yaml.UnsafeYAML as error:
        raise InvalidIndex(f"index refused: {error}") from error
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InvalidIndex(f"index is not valid YAML: {problem}") from error
    except UnicodeDecodeError as error:
        raise InvalidIndex("index is not UTF-8 text") from error
    if not isinstance(document, dict):
        raise InvalidIndex(f"index is not a YAML mapping (got {type(document).__name__})")
    if "entries" not in document:
        raise InvalidIndex("index has no 'entries' key")
    entries = document["entries"]
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        raise InvalidIndex(f"index 'entries' is not a mapping (got {type(entries).__name__})")
    return entries


def chart_versions_from_raw(name: str, raw: Any) -> tuple[tuple[ChartVersion, ...] | None, int]:
    """The versions of one chart from its parsed YAML value, and how many entries were invalid."""
    if raw is None:
        return (), 0
    if not isinstance(raw, list):
        return None, 1
    result = []
    invalid = 0
    for entry in raw:
        parsed = _chart_version(name, entry)
        if parsed is None:
            invalid += 1
        else:
            result.append(parsed)
    return tuple(result), invalid


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value)
        return text if len(text) <= MAX_FIELD_CHARS else None
    return None


def _chart_version(name: str, entry: Any) -> ChartVersion | None:
    if not isinstance(entry, dict):
        return None
    version = _text(entry.get("version"))
    if not version:
        return None
    urls = entry.get("urls")
    annotations = entry.get("annotations")
    changes_text = annotations.get(CHANGES_ANNOTATION) if isinstance(annotations, dict) else None
    return ChartVersion(
        name=name,
        version=version,
        app_version=_text(entry.get("appVersion")) or None,
        created=_text(entry.get("created")) or None,
        deprecated=entry.get("deprecated") is True,
        digest=_text(entry.get("digest")) or None,
        urls=tuple(u for u in urls if isinstance(u, str)) if isinstance(urls, list) else (),
        changes=parse_changes(changes_text) if isinstance(changes_text, str) else (),
    )


def parse_changes(text: str) -> tuple[ChangelogEntry, ...]:
    """Parse an ``artifacthub.io/changes`` annotation value; ``()`` when it is not usable."""
    if len(text) > MAX_CHANGES_CHARS:
        return ()
    try:
        items = safe_yaml.load(text)
    except yaml.YAMLError:
        return ()
    if not isinstance(items, list):
        return ()
    changes = []
    for item in items:
        if isinstance(item, str) and item.strip():
            changes.append(ChangelogEntry(description=item))
        elif isinstance(item, dict) and isinstance(item.get("description"), str):
            kind = item.get("kind")
            links = item.get("links")
            changes.append(
                ChangelogEntry(
                    description=item["description"],
                    kind=kind.strip().lower() or None if isinstance(kind, str) else None,
                    links=tuple(
                        Link(name=link["name"] if isinstance(link.get("name"), str) else None, url=link["url"])
                        for link in (links if isinstance(links, list) else ())
                        if isinstance(link, dict) and isinstance(link.get("url"), str)
                    ),
                )
            )
    return tuple(changes)


def resolve_url(repo_url: str, chart_url: str) -> str:
    """The absolute download URL of a chart, as Helm resolves relative ``urls`` in an index.

    Absolute URLs are returned as they are. A relative one is resolved against the repository
    URL taken as a directory (a trailing ``/`` is added), keeping the repository URL's query.
    """
    if urllib.parse.urlsplit(chart_url).scheme:
        return chart_url
    base = urllib.parse.urlsplit(repo_url)
    directory = base._replace(path=base.path.rstrip("/") + "/", query="", fragment="")
    resolved = urllib.parse.urlsplit(urllib.parse.urljoin(urllib.parse.urlunsplit(directory), chart_url))
    return urllib.parse.urlunsplit(resolved._replace(query=base.query))
