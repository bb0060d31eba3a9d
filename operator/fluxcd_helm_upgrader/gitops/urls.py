"""Git remote URLs, parsed and checked before anything is cloned.

`parse` accepts the forms Flux users put in a GitRepository: `ssh://[user@]host[:port]/path`,
scp-like `[user@]host:path`, `https://` / `http://` (user name allowed, password refused: it belongs
in a Secret), `git://` (git daemon) and `file:///path` (tests and demos). It is pure: `config.parse`
calls it for `spec.git.url`, and the Git and forge code use `GitUrl.github_repository()` and
`GitUrl.redacted()` (the only form that may appear in logs, events and status messages).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from fluxcd_helm_upgrader.structs import urls as structs_urls

_HINT = "use ssh://, https://, file:// or git@host:path"
_SCHEMES = ("ssh", "https", "http", "git", "file")
# scp-like syntax as Git reads it: no "://", and a colon before the first slash.
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:\[\]]+|\[[0-9A-Fa-f:.]+\]):(?P<path>.*)$")


@dataclass(frozen=True, repr=False)
class GitUrl:
    """A parsed Git remote URL. `original` is what the user wrote and is what `git` is given."""

    scheme: str  # ssh (also for scp-like), https, http, git or file
    host: str  # lower-case; "" for file://
    port: int | None
    user: str | None
    path: str  # as written: "/acme/fleet.git" for URLs, "acme/fleet.git" for scp-like
    original: str

    def github_repository(self) -> str | None:
        """Return "owner/name" when the path is exactly owner/name (".git" optional), else None.

        Any host qualifies (GitHub Enterprise has its own); file:// URLs have no forge repository.
        """
        if self.scheme == "file" or not self.host:
            return None
        parts = self.path.strip("/").split("/")
        if len(parts) != 2:
            return None
        owner, name = parts
        name = name.removesuffix(".git")
        if not owner or not name or not re.fullmatch(r"[A-Za-z0-9_.-]+", owner + name):
            return None
        return f"{owner}/{name}"

    def redacted(self) -> str:
        """The URL as `structs.urls.sanitize` shows it (no user name, which may be a token): safe to print.

        The scp-like form (`git@host:path`) is kept as written: it cannot carry a password."""
        return structs_urls.sanitize(self.original)

    def __str__(self) -> str:
        return self.redacted()

    def __repr__(self) -> str:
        return f"GitUrl({self.redacted()!r})"


def parse(text: str) -> GitUrl:
    """Parse a Git remote URL; raise ValueError with a message that says how to write it instead."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{_quote(text)} is not a Git URL; {_HINT}")
    if text != text.strip() or any(c.isspace() for c in text):
        raise ValueError(f"{_quote(text)} is not a Git URL: it contains whitespace; {_HINT}")
    if "://" in text:
        return _parse_url(text)
    scp = _SCP_LIKE.match(text)
    if scp and scp.group("host").lower() in _SCHEMES:
        # "file:path" or "https:host/x" would reach Git as scp-like SSH to a host named "file".
        raise ValueError(f"{_quote(text)} is not a Git URL: write {scp.group('host')}://...; {_HINT}")
    if scp and scp.group("path") and len(scp.group("host")) > 1:
        # A one-letter "host" is a Windows drive (C:\repo), which Git reads as a local path too.
        return GitUrl(
            scheme="ssh",
            host=scp.group("host").strip("[]").lower(),
            port=None,
            user=scp.group("user"),
            path=scp.group("path"),
            original=text,
        )
    raise ValueError(f"{_quote(text)} is not a Git URL; {_HINT}")


def _parse_url(text: str) -> GitUrl:
    split = urllib.parse.urlsplit(text)
    scheme = split.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"{_quote(text)}: unsupported scheme {scheme!r}; {_HINT}")
    if split.password is not None:
        # Never echo the URL here: it holds the password.
        raise ValueError(
            "the URL contains a password; remove it from the URL and put the credentials in a Secret"
            " (keys username and password, or bearerToken) named by spec.git.secretRef"
        )
    if split.query or split.fragment:
        raise ValueError(f"{_quote(text)}: a Git URL has no ?query or #fragment; {_HINT}")
    try:
        port = split.port
    except ValueError:
        hint = " (for the scp-like form drop ssh://: git@host:owner/repo.git)" if scheme == "ssh" else ""
        raise ValueError(f"{_quote(text)}: the port is not a number from 1 to 65535{hint}") from None
    host = (split.hostname or "").lower()
    if scheme == "file":
        if host not in ("", "localhost") or not split.path.startswith("/"):
            raise ValueError(f"{_quote(text)}: write local repositories as file:///absolute/path")
        return GitUrl("file", "", None, None, split.path, text)
    if not host:
        raise ValueError(f"{_quote(text)}: the host is missing; {_HINT}")
    if port == 0:
        raise ValueError(f"{_quote(text)}: the port is not a number from 1 to 65535")
    path = split.path
    if not path.strip("/"):
        raise ValueError(f"{_quote(text)}: the repository path is missing (host/owner/repo.git)")
    user = urllib.parse.unquote(split.username) if split.username is not None else None
    return GitUrl(scheme, host, port, user, path, text)


def _quote(text: object) -> str:
    """Quote a user's value for an error message, with any userinfo redacted."""
    return repr(structs_urls.sanitize_text(text) if isinstance(text, str) else text)
