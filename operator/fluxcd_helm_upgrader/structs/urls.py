"""URLs as the operator stores and shows them, and where credentials may travel. Pure.

The one place that decides what a URL looks like once it leaves the code that uses it: `sanitize` is the form
written into a proposal's spec and status, events, PR text, log lines and metric labels; `sanitize_text` applies
it to every URL inside a message (a git error, an exception text). Both drop the userinfo (`user:password@`, or a
token as user name), the query (`?token=...`, pre-signed signatures) and the fragment; scheme, host, port and path
stay, so users still see which repository is meant. Helm and Flux accept credentials in a HelmRepository URL, so
the code that fetches keeps the URL as written (it moves the userinfo into a header); only what is stored or shown
goes through here.

`is_loopback` and `sends_in_clear` say where credentials may go: never over plain http, except to a loopback
address (127.0.0.0/8, ::1, localhost), which is what tests, demos and sidecar proxies use.

Callers: `logs.redact`, `gitops.urls.GitUrl.redacted`, `sources.helm_http`,
`sources.oci`, `cycles.resolving` (a proposal's spec.source.url) and `forges.texts` (the PR body).
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

# A URL inside free text: a scheme, "://", then anything up to whitespace or a quote/bracket that ends it.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
# Punctuation that usually ends a sentence rather than a URL: kept outside the sanitized part.
_TRAILING = ".,;:!)]}"
# The first path segment holds an "@" after some text: the tail of userinfo whose password contained "/".
_PASSWORD_IN_PATH = re.compile(r"^/?[^/@]+@")
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def sanitize(url: str) -> str:
    """`url` without userinfo, query and fragment: the only form that is stored or shown.

    A string that is not `scheme://...` (an scp-like `git@host:path`, a bare name) has no userinfo to drop and is
    returned unchanged, except that anything after "?" or "#" is dropped. When the authority cannot be read (a
    password holding "/" makes the rest look like a path), everything after the scheme is hidden.
    """
    text = url.strip()
    if "://" not in text:
        return re.split(r"[?#]", text, maxsplit=1)[0]
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:
        return text.split("://", 1)[0] + "://***"
    netloc = parts.netloc.rpartition("@")[2]
    hostport = netloc.rsplit("]", 1)[-1]
    port = hostport.rpartition(":")[2] if ":" in hostport else ""
    if (port and not port.isdigit()) or _PASSWORD_IN_PATH.match(parts.path):
        # "https://user:pa/ss@host/": a "/" in the password makes its tail look like a path.
        return f"{parts.scheme}://***"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def sanitize_text(text: str) -> str:
    """`text` with every `scheme://...` URL in it sanitized (see `sanitize`)."""

    def one(match: re.Match[str]) -> str:
        found = match.group(0)
        core = found.rstrip(_TRAILING)
        return sanitize(core) + found[len(core) :]

    return _URL_IN_TEXT.sub(one, text)


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def sends_in_clear(url: str) -> bool:
    """Whether credentials sent to `url` would cross the network unencrypted: plain http to a non-loopback host.

    Any other scheme (https, oci with TLS, ssh) answers False; callers decide about those themselves.
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return True
    return parts.scheme.lower() == "http" and not is_loopback(host)


def https_required(what: str, url: str) -> str:
    """The message shown when credentials would go over plain http (one wording for every caller)."""
    host = urllib.parse.urlsplit(url.strip()).hostname or "?"
    return (
        f"{what}: https is required to send credentials; {sanitize(url)} is plain http to {host} "
        "(plain http is allowed only to loopback addresses)"
    )
