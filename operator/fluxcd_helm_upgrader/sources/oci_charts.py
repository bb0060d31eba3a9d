"""Chart metadata out of a Helm OCI artifact's blobs: the config JSON or the chart tarball.

Called by `sources.oci.OciClient.chart_metadata` with blob bytes it has already size-capped and
digest-checked. Helm (3.8+) pushes a chart as an OCI manifest whose config blob
(`application/vnd.cncf.helm.config.v1+json`) is Chart.yaml as JSON, and whose one layer
(`application/vnd.cncf.helm.chart.content.v1.tar+gzip`) is the packaged chart, a tarball holding
`<chart>/Chart.yaml`. The config is tiny, so it is read first; the tarball is the fallback for artifacts whose
config is empty.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from typing import Any

import yaml

from fluxcd_helm_upgrader.checking import safe_yaml

HELM_CONFIG_MEDIA_TYPE = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
# Helm 3.0-3.7's experimental OCI support used this layer type.
LEGACY_CHART_MEDIA_TYPES = ("application/tar+gzip",)
# Chart.yaml is small; a huge one is a broken or hostile artifact.
MAX_CHART_YAML_BYTES = 1 << 20
# Guards against a gzip bomb: stop decompressing after this much, Chart.yaml comes first anyway.
MAX_UNPACKED_BYTES = 64 << 20


class ChartFormatError(ValueError):
    """The blob is not a readable Helm chart config or tarball."""


def metadata_from_config(blob: bytes) -> dict[str, Any] | None:
    """Chart.yaml fields from Helm's config blob; None when it lacks a name and version."""
    try:
        loaded = json.loads(blob)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ChartFormatError("the Helm config blob is not JSON (or nests too deeply)") from None
    if not isinstance(loaded, dict):
        raise ChartFormatError("the Helm config blob is not a JSON object")
    if not loaded.get("name") or not loaded.get("version"):
        return None
    return loaded


def metadata_from_tarball(blob: bytes) -> dict[str, Any]:
    """Chart.yaml of a packaged chart (`<chart>/Chart.yaml` at depth one), parsed with the bounded loader."""
    reader = _CappedReader(gzip.GzipFile(fileobj=io.BytesIO(blob)), MAX_UNPACKED_BYTES)
    try:
        # Stream mode ("r|"): members are read in order and Helm writes Chart.yaml first, so a
        # normal chart is never decompressed past its first file.
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            for member in tar:
                parts = member.name.removeprefix("./").split("/")
                if len(parts) != 2 or parts[1] != "Chart.yaml" or not member.isfile():
                    continue
                if member.size > MAX_CHART_YAML_BYTES:
                    raise ChartFormatError(f"{member.name} is larger than {MAX_CHART_YAML_BYTES} bytes")
                extracted = tar.extractfile(member)
                if extracted is None:
                    break
                return _parse_chart_yaml(extracted.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ChartFormatError(f"the chart layer is not a readable tar.gz ({exc})") from None
    raise ChartFormatError("the chart layer holds no <chart>/Chart.yaml")


def _parse_chart_yaml(raw: bytes) -> dict[str, Any]:
    try:
        loaded = safe_yaml.load(raw)
    except safe_yaml.UnsafeYAML as exc:
        raise ChartFormatError(f"Chart.yaml is refused: {exc}") from None
    except yaml.YAMLError:
        raise ChartFormatError("Chart.yaml is not valid YAML") from None
    if not isinstance(loaded, dict):
        raise ChartFormatError("Chart.yaml is not a mapping")
    return loaded


class _CappedReader(io.RawIOBase):
    """A read-only stream that fails once more than `limit` bytes have come out of `inner`."""

    def __init__(self, inner: gzip.GzipFile, limit: int) -> None:
        self._inner = inner
        self._left = limit

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise ChartFormatError(f"the chart layer unpacks to more than {MAX_UNPACKED_BYTES} bytes")
        return data
