"""Turn a streamed Helm index response body into plain bytes, within a size cap.

Called only by `sources.helm_http.IndexFetcher`, one `BodyReader` per download; pure (no I/O), so
the byte-level rules are easy to test. HTTP Content-Encoding (gzip/deflate) is already decoded by
aiohttp; this handles what is left:

* a body that is itself gzip (an `index.yaml.gz` served as application/gzip, or any body starting
  with the gzip magic), including concatenated gzip members;
* the size cap, counted on the decompressed bytes while streaming. Inflation happens in steps of
  at most `STEP` output bytes, so a decompression bomb is stopped at the cap, not after it has
  expanded in memory;
* a leading UTF-8 byte order mark, which YAML parsers handle inconsistently.
"""

from __future__ import annotations

import zlib
from typing import Any

MiB = 1024 * 1024
STEP = 1 * MiB  # largest piece inflated at once
GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"


class BodyError(ValueError):
    """The body is too large or is broken gzip. The caller adds the URL."""


class BodyReader:
    """Feed chunks with `feed`, get the plain body from `finish`.

    `received` counts the bytes fed (the body as transferred, after Content-Encoding decoding);
    `size` counts the plain bytes produced. Both are held to `max_bytes`.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.received = 0
        self.size = 0
        self._parts: list[bytes] = []
        self._head = b""  # the first bytes, until there are enough to recognise gzip
        self._decided = False
        self._inflater: Any = None  # zlib's Decompress type is not importable for annotations

    def _too_large(self) -> BodyError:
        return BodyError(f"index larger than {self.max_bytes / MiB:g} MiB")

    def _append(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise self._too_large()
        if data:
            self._parts.append(data)

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk. Raises BodyError as soon as the cap is passed."""
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise self._too_large()
        if not self._decided:
            self._head += chunk
            if len(self._head) < len(GZIP_MAGIC):
                return
            self._decided = True
            chunk, self._head = self._head, b""
            if chunk.startswith(GZIP_MAGIC):
                self._inflater = zlib.decompressobj(wbits=31)
        if self._inflater is None:
            self._append(chunk)
        else:
            self._inflate(chunk)

    def _inflate(self, data: bytes) -> None:
        while data:
            self._append(self._inflater.decompress(data, STEP))
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:
                rest = self._inflater.unused_data
                # Concatenated gzip members are valid gzip; trailing padding after the end is ignored.
                if not rest.startswith(GZIP_MAGIC):
                    return
                self._inflater = zlib.decompressobj(wbits=31)
                data = rest

    def finish(self) -> bytes:
        """The whole plain body, BOM stripped. Raises BodyError for a truncated gzip body."""
        if not self._decided:
            self._append(self._head)
        elif self._inflater is not None and not self._inflater.eof:
            raise BodyError("index body is truncated gzip")
        body = b"".join(self._parts)
        self._parts = []
        return body[len(BOM) :] if body.startswith(BOM) else body
