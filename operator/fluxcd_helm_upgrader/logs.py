"""Logging setup: plain text or one JSON object per line, with secrets redacted on every handler.

`configure()` is called once by the CLI before Kopf starts. The redaction filter is attached to every root
handler (Kopf's included), so a token that reaches a log call by mistake is still masked. Values read from
Secrets at run time are registered with `remember_secret()` and masked verbatim as well; every URL is shown as
`structs.urls.sanitize` shows it (no userinfo, no query). `redact` is the one redactor of the package: log lines,
events, status messages, and the Git and forge errors (which pass the secrets of one command or one client).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

from fluxcd_helm_upgrader.structs import urls

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(bearer|basic|token)\s+[^\s'\",]+"), r"\1\2 ***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), "***"),
    (
        re.compile(r"(?i)\b(password|passwd|token|secret|bearerToken|apikey|api_key)(\s*[=:]\s*)[^\s,;'\"]+"),
        r"\1\2***",
    ),
)
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)

_known_lock = threading.Lock()
_known: set[str] = set()


def remember_secret(value: str | bytes | None) -> None:
    """Mask this exact value in every later log line (called whenever a Secret value is read)."""
    if value is None:
        return
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    text = text.strip()
    if len(text) >= 6:  # shorter values would mask ordinary words
        with _known_lock:
            _known.add(text)
            for line in text.splitlines():
                # Each line of a multi-line secret (a key's base64 body) on its own; PEM armour is no secret.
                if len(line.strip()) >= 12 and not line.startswith("-----"):
                    _known.add(line.strip())


def redact(text: str, secrets: Iterable[str] = (), *, min_length: int = 3) -> str:
    """Mask secrets in a string: known secret values, URL userinfo and queries, tokens, passwords, private keys.

    `secrets` are the values of the caller's own command or client (a Git password, a forge token), masked with the
    values `remember_secret` registered; those shorter than `min_length` are left, as they would mask ordinary words.
    """
    text = _PEM.sub("***PRIVATE KEY***", text)  # whole blocks first, before known lines cut them apart
    with _known_lock:
        known = set(_known)
    text = _mask(text, _pieces(secrets, min_length) | _pieces(known, 1))
    text = urls.sanitize_text(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _pieces(secrets: Iterable[str], min_length: int) -> set[str]:
    """Each secret value, and each line of a multi-line one (a PEM key), except PEM armour lines and pieces shorter
    than `min_length`."""
    pieces: set[str] = set()
    for secret in secrets:
        for piece in (secret, *secret.splitlines()):
            piece = piece.strip()
            if len(piece) >= min_length and "-----" not in piece:
                pieces.add(piece)
    return pieces


def _mask(text: str, pieces: set[str]) -> str:
    """Replace each piece in `text` by `***`, longest first (a secret that contains another is masked whole)."""
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (with its args merged) through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with Kopf's object reference and our structured fields when present."""

    FIELDS = ("config", "release", "proposal", "repository", "chart")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        k8s = getattr(record, "k8s_ref", None)
        if isinstance(k8s, dict):
            entry["object"] = {k: k8s.get(k) for k in ("kind", "namespace", "name") if k8s.get(k)}
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, sort_keys=False)


def configure(*, verbose: bool = False, json_logs: bool = False) -> None:
    """Set up the root logger once: level, format, and the redaction filter on every handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if json_logs else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    install_filter()
    for noisy in ("aiohttp.access", "git.cmd", "urllib3", "hishel", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def install_filter() -> None:
    """Attach the redaction filter to every handler of the root logger (idempotent)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
