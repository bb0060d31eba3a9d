"""Read a packaged Helm chart (a .tgz) in memory, within hard limits, into the parts the risk analysis needs. Pure.

Called by `sources.charts` with the bytes of a chart it downloaded (an HTTP repository's tarball or an OCI chart
layer); the result goes to `checking.risk`. Nothing is written to disk and nothing is extracted: the archive is
streamed member by member out of a size-capped gzip reader.

Hard limits (a chart is a hostile input: anyone can publish one):

* compressed size `MAX_COMPRESSED`; uncompressed total `MAX_UNPACKED`, counted while inflating, so a gzip bomb
  stops at the cap instead of after it expanded;
* `MAX_MEMBERS` archive members; member paths of at most `MAX_PATH` characters; no absolute paths and no `..`;
* only regular files and directories: a symlink, hard link, device or FIFO makes the archive unreadable (Helm's
  own loader refuses links too); files read for the analysis are capped at `MAX_FILE` each.

As Helm's loader does, the first path component is the chart's directory and is stripped. Read are the top-level
chart's `Chart.yaml`, `values.yaml`, `values.schema.json` and every `.yaml`/`.yml`/`.json` file under `crds/`
(subcharts under `charts/` are skipped; their bytes still count toward the limits). YAML is read with the bounded
typed loader of `checking.safe_yaml`; every problem is a `ChartError` whose message says what is wrong.
"""

from __future__ import annotations

import functools
import io
import json
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from fluxcd_helm_upgrader.checking import helm_values, safe_yaml

MiB = 1 << 20
MAX_COMPRESSED = 20 * MiB
MAX_UNPACKED = 100 * MiB
MAX_MEMBERS = 10_000
MAX_PATH = 1024
MAX_FILE = 5 * MiB
_STEP = 1 * MiB  # the most inflated at once


class ChartError(ValueError):
    """The bytes are not a readable Helm chart within the limits; the message says why."""


@dataclass(frozen=True)
class CrdFile:
    """One file under crds/: its path in the chart and its documents (YAML or JSON)."""

    path: str
    documents: tuple[Any, ...]


@dataclass(frozen=True)
class Chart:
    """What the risk analysis reads from one chart version."""

    name: str
    version: str
    kube_version: str | None = None  # Chart.yaml kubeVersion: a Masterminds constraint
    deprecated: bool = False
    values: Mapping[str, Any] = field(default_factory=dict)  # values.yaml (the chart's defaults)
    schema: Mapping[str, Any] | None = None  # values.schema.json
    crds: tuple[CrdFile, ...] = ()
    problems: tuple[str, ...] = ()  # files that could not be read (the analysis says so instead of guessing)

    @functools.cached_property
    def leaves(self) -> dict[tuple[str, ...], Any]:
        """The defaults as `helm_values.leaves`, computed once per chart (charts are cached by digest)."""
        return helm_values.leaves(self.values)


def read(data: bytes) -> Chart:
    """Read a packaged chart. Raises `ChartError`."""
    if len(data) > MAX_COMPRESSED:
        raise ChartError(f"the chart archive is {len(data)} bytes, over the {MAX_COMPRESSED}-byte limit")
    files = _members(data)
    if "Chart.yaml" not in files:
        raise ChartError("the archive holds no <chart>/Chart.yaml")
    metadata = _yaml_mapping(files["Chart.yaml"], "Chart.yaml")
    if metadata is None:
        raise ChartError("Chart.yaml is not a YAML mapping")
    problems: list[str] = []
    values: Mapping[str, Any] = {}
    if "values.yaml" in files:
        loaded = _yaml_mapping(files["values.yaml"], "values.yaml", problems, empty_ok=True)
        values = loaded if loaded is not None else {}
    schema = _schema(files.get("values.schema.json"), problems)
    crds = []
    for path in sorted(p for p in files if p.startswith("crds/")):
        documents = _documents(files[path], path, problems)
        if documents is not None:
            crds.append(CrdFile(path, documents))
    kube_version = metadata.get("kubeVersion")
    return Chart(
        name=str(metadata.get("name") or ""),
        version=str(metadata.get("version") or ""),
        kube_version=str(kube_version).strip() if kube_version not in (None, "") else None,
        deprecated=metadata.get("deprecated") is True,
        values=values,
        schema=schema,
        crds=tuple(crds),
        problems=tuple(problems),
    )


def _wanted(path: str) -> bool:
    if path in ("Chart.yaml", "values.yaml", "values.schema.json"):
        return True
    return path.startswith("crds/") and path.endswith((".yaml", ".yml", ".json"))


def _members(data: bytes) -> dict[str, bytes]:
    """The wanted files of the archive, keyed by their path below the chart's directory."""
    reader = _CappedGzip(data, MAX_UNPACKED)
    files: dict[str, bytes] = {}
    count = 0
    try:
        with tarfile.open(fileobj=reader, mode="r|") as archive:
            for member in archive:
                count += 1
                if count > MAX_MEMBERS:
                    raise ChartError(f"the archive has more than {MAX_MEMBERS} members")
                path = _checked_path(member)
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ChartError(f"the archive holds a link or special file: {member.name[:200]!r}")
                if path is None or not _wanted(path):
                    continue
                if member.size > MAX_FILE:
                    raise ChartError(f"{path} is {member.size} bytes, over the {MAX_FILE}-byte limit")
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files[path] = extracted.read()
    except ChartError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise ChartError(f"not a readable .tgz chart archive ({error})") from None
    return files


def _checked_path(member: tarfile.TarInfo) -> str | None:
    """The member's path below the chart directory (None for the directory itself); refuses unsafe names."""
    name = member.name
    if len(name) > MAX_PATH:
        raise ChartError(f"an archive path is longer than {MAX_PATH} characters")
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if name.startswith(("/", "\\")) or ".." in parts:
        raise ChartError(f"the archive holds a path outside the chart: {name[:200]!r}")
    return "/".join(parts[1:]) or None


def _yaml_mapping(
    raw: bytes, path: str, problems: list[str] | None = None, *, empty_ok: bool = False
) -> dict[str, Any] | None:
    documents = _documents(raw, path, problems)
    if documents is None:
        return None
    first = documents[0] if documents else None
    if first is None and empty_ok:
        return {}
    if not isinstance(first, dict):
        if problems is not None:
            problems.append(f"{path} is not a YAML mapping")
        return None
    return first


def _documents(raw: bytes, path: str, problems: list[str] | None) -> tuple[Any, ...] | None:
    try:
        text = raw.decode("utf-8-sig")
        if path.endswith(".json"):
            return (_plain(json.loads(text)),)
        return tuple(_plain(doc) for doc in safe_yaml.load_typed(text))
    except (UnicodeDecodeError, ValueError, RecursionError, yaml.YAMLError) as error:
        problem = getattr(error, "problem", None) or str(error).splitlines()[0][:200]
        message = f"{path} could not be read: {problem}"
        if problems is None:
            raise ChartError(message) from None
        problems.append(message)
        return None


def _schema(raw: bytes | None, problems: list[str]) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    documents = _documents(raw.replace(b"\r\n", b"\n"), "values.schema.json", problems)
    if documents is None:
        return None
    if not isinstance(documents[0], dict):
        problems.append("values.schema.json is not a JSON object")
        return None
    return documents[0]


def _plain(value: Any, depth: int = 0) -> Any:
    """Keys as strings (Helm reads values through JSON, whose keys are strings); bounded depth."""
    if depth > 200:
        raise ValueError("nesting deeper than 200 levels")
    if isinstance(value, dict):
        return {str(k).lower() if isinstance(k, bool) else str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, depth + 1) for v in value]
    return value


class _CappedGzip(io.RawIOBase):
    """A read-only stream of the inflated bytes that fails once more than `limit` came out."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._inflater = zlib.decompressobj(wbits=47)  # a gzip (or zlib) header, detected
        self._input = data
        self._chunk = b""
        self._offset = 0
        self._left = limit

    def readable(self) -> bool:
        return True

    def _refill(self, wanted: int) -> bool:
        """Inflate at most `wanted` more bytes (never much more than asked: a bomb stops at the cap)."""
        while True:
            source = self._inflater.unconsumed_tail or self._input
            if not source:
                return False
            if source is self._input:
                self._input = b""
            chunk = self._inflater.decompress(source, min(max(wanted, _STEP // 16), _STEP))
            if self._inflater.eof and self._inflater.unused_data.startswith(b"\x1f\x8b"):
                self._input = self._inflater.unused_data  # concatenated gzip members are valid gzip
                self._inflater = zlib.decompressobj(wbits=47)
            if chunk:
                self._left -= len(chunk)
                if self._left < 0:
                    raise ChartError(f"the chart unpacks to more than {MAX_UNPACKED} bytes")
                self._chunk, self._offset = chunk, 0
                return True

    def readinto(self, target: Any) -> int:
        if self._offset >= len(self._chunk) and not self._refill(len(target)):
            return 0
        size = min(len(target), len(self._chunk) - self._offset)
        target[:size] = self._chunk[self._offset : self._offset + size]
        self._offset += size
        return size
