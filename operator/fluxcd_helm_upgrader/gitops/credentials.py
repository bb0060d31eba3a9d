"""Git credentials from Flux GitRepository-format Secrets, and the environment that hands them to git.

Called by the PR worker (which reads the Secret named by `spec.git.secretRef` and calls `from_secret`)
and by `gitops.repos` (which calls `resolve` and `git_env` around every git operation).

The Secret keys are Flux's, reused unchanged: `identity` (+ `identity.pub`, `password` for an encrypted
key) and `known_hosts` for SSH; `username`/`password`, `bearerToken`, or the GitHub App keys
(`githubAppID`, `githubAppInstallationID`, `githubAppPrivateKey`, optional `githubAppBaseURL`) for HTTPS.
The App token itself is minted by a caller-supplied `TokenProvider` (see forges/app_tokens.py) and sent
as the password of user `x-access-token`, as GitHub documents.

How secrets reach git (`git_env`): key material goes to 0600 files inside a private 0700 directory on a
memory-backed filesystem (`keyfiles`), removed on exit. SSH gets a `GIT_SSH_COMMAND` with strict host key
checking that is never relaxed. HTTP(S) gets an `Authorization` header through `http.<origin>.extraHeader` in a
0600 config file named by `GIT_CONFIG_GLOBAL` -- chosen over `GIT_ASKPASS` because:
  * one mechanism covers Basic, Bearer (Flux's `bearerToken`) and App tokens; askpass can only answer
    a username/password prompt, and git 2.39 has no way to send `Bearer` from a credential helper;
  * the secret is never in argv, never in an environment variable (readable in /proc/<pid>/environ),
    never in a URL and never in `.git/config`: the file lives only as long as the command runs;
  * the header is scoped to the remote's origin (scheme://host:port/), so a redirect or a submodule on
    another host never receives it; no helper script or /bin/sh is needed in the image.
The same private config file also replaces the user's global config and the system config is skipped,
so git behaves the same on every machine (no stray credential helpers, signing or hooks settings).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shlex
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fluxcd_helm_upgrader import keyfiles
from fluxcd_helm_upgrader.structs import urls

TokenProvider = Callable[[], Awaitable[str]]

# The username GitHub expects with an installation access token.
APP_TOKEN_USERNAME = "x-access-token"

# Inherited variables that would change what git or ssh does behind our back: tracing (GIT_TRACE_CURL
# prints Authorization headers), an author override, another askpass, an ssh agent with other keys.
# `gitops.commands.isolate_process_environment` removes them from the operator's environment.
DROPPED_PREFIXES = ("GIT_", "SSH_ASKPASS", "SSH_AUTH_SOCK")


class CredentialError(Exception):
    """The Secret cannot be turned into usable credentials. The message never contains secret values."""


@dataclass(frozen=True)
class Anonymous:
    """No credentials: public HTTPS, file:// remotes, or an ssh remote that will then fail to log in."""


@dataclass(frozen=True)
class SshKey:
    """A deploy key plus the known_hosts that pins the server's host key."""

    identity: bytes = field(repr=False)
    known_hosts: bytes = field(repr=False)
    passphrase: bytes | None = field(default=None, repr=False)
    identity_pub: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class BasicAuth:
    """HTTP Basic credentials (also used for a GitHub App token under `x-access-token`)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class BearerToken:
    """An HTTP bearer token, sent as `Authorization: Bearer ...` (Flux's `bearerToken` key)."""

    token: str = field(repr=False)


@dataclass(frozen=True)
class GitHubApp:
    """GitHub App identity; `resolve` exchanges it for an installation token via `token_provider`."""

    app_id: str
    installation_id: str
    private_key: bytes = field(repr=False)
    token_provider: TokenProvider = field(repr=False, compare=False)
    base_url: str | None = None


Credentials = Anonymous | SshKey | BasicAuth | BearerToken | GitHubApp


def transport(url: str) -> str:
    """Classify a git URL: "ssh" (ssh:// or scp-like user@host:path), "https", "http", "file" or "local"."""
    if "::" in url.split("/", 1)[0]:
        # <transport>::<address> runs a remote helper (ext:: would run any command): never allowed.
        raise CredentialError("git remote-helper URLs (<transport>::...) are not supported")
    if "://" in url:
        scheme = url.split("://", 1)[0].lower()
        if scheme in ("ssh", "git+ssh", "ssh+git"):
            return "ssh"
        if scheme in ("https", "http", "file"):
            return scheme
        raise CredentialError(f"unsupported git URL scheme {scheme!r}")
    # scp-like syntax: the part before the first colon has no slash (git's own rule).
    head, colon, _ = url.partition(":")
    if colon and "/" not in head and head:
        return "ssh"
    return "local"


def from_secret(
    data: Mapping[str, bytes],
    *,
    secret_name: str,
    url: str,
    token_provider: TokenProvider | None = None,
) -> Credentials:
    """Read a Flux GitRepository-format Secret's decoded data into credentials for `url`.

    Which keys count depends on the URL's transport, as in Flux: SSH keys for ssh URLs, the HTTP ones
    for https. Raises CredentialError naming the Secret and the missing key, never a value.
    """
    kind = transport(url)
    if kind == "ssh":
        return _ssh_from_secret(data, secret_name)
    if kind in ("https", "http"):
        return _http_from_secret(data, secret_name, token_provider)
    return Anonymous()


def _text(data: Mapping[str, bytes], key: str, secret_name: str) -> str | None:
    raw = data.get(key)
    if raw is None:
        return None
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CredentialError(f"secret {secret_name}: key {key} is not UTF-8 text") from None
    if not value:
        return None
    if "\n" in value or "\r" in value:
        # A newline would let the value inject extra headers or config lines.
        raise CredentialError(f"secret {secret_name}: key {key} must be a single line")
    return value


def _ssh_from_secret(data: Mapping[str, bytes], secret_name: str) -> SshKey:
    identity = data.get("identity")
    if not identity or not identity.strip():
        raise CredentialError(f"secret {secret_name} has no identity (the SSH private key) for an ssh URL")
    known_hosts = data.get("known_hosts")
    if not known_hosts or not known_hosts.strip():
        raise CredentialError(
            f"secret {secret_name} has no known_hosts; add the host key "
            "(ssh-keyscan HOST > known_hosts) — strict host key checking is always on"
        )
    passphrase = data.get("password") or None
    return SshKey(
        identity=identity,
        known_hosts=known_hosts,
        passphrase=passphrase,
        identity_pub=data.get("identity.pub") or None,
    )


def _http_from_secret(data: Mapping[str, bytes], secret_name: str, token_provider: TokenProvider | None) -> Credentials:
    app_id = _text(data, "githubAppID", secret_name)
    if app_id is not None:
        installation_id = _text(data, "githubAppInstallationID", secret_name)
        private_key = data.get("githubAppPrivateKey")
        if installation_id is None or not private_key:
            raise CredentialError(
                f"secret {secret_name}: githubAppID needs githubAppInstallationID and githubAppPrivateKey"
            )
        if token_provider is None:
            raise CredentialError(f"secret {secret_name} holds a GitHub App but no token provider is set up")
        return GitHubApp(
            app_id=app_id,
            installation_id=installation_id,
            private_key=private_key,
            token_provider=token_provider,
            base_url=_text(data, "githubAppBaseURL", secret_name),
        )
    bearer = _text(data, "bearerToken", secret_name)
    if bearer is not None:
        return BearerToken(bearer)
    username = _text(data, "username", secret_name)
    password = _text(data, "password", secret_name)
    if username is not None and password is not None:
        return BasicAuth(username, password)
    if username is not None or password is not None:
        raise CredentialError(f"secret {secret_name}: username and password must be set together")
    return Anonymous()


async def resolve(creds: Credentials) -> Credentials:
    """Turn credentials into the static form `git_env` writes: mint the App token, decrypt the SSH key.

    Kept apart from `git_env` because both steps may be slow (an API call; bcrypt rounds), so they run
    awaited / off the event loop, while `git_env` only writes a few small files.
    """
    if isinstance(creds, GitHubApp):
        token = (await creds.token_provider()).strip()
        if not token or "\n" in token:
            raise CredentialError("the GitHub App token provider returned an empty or malformed token")
        return BasicAuth(APP_TOKEN_USERNAME, token)
    if isinstance(creds, SshKey) and creds.passphrase is not None:
        plain = await asyncio.to_thread(_decrypt_identity, creds.identity, creds.passphrase)
        return SshKey(identity=plain, known_hosts=creds.known_hosts, identity_pub=creds.identity_pub)
    return creds


def _decrypt_identity(identity: bytes, passphrase: bytes) -> bytes:
    """Decrypt a passphrase-protected key to unencrypted OpenSSH format (ssh runs with BatchMode=yes,
    which never prompts for a passphrase)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import types

    key: types.PrivateKeyTypes
    try:
        if b"OPENSSH PRIVATE KEY" in identity:
            key = serialization.load_ssh_private_key(identity, password=passphrase)
        else:
            key = serialization.load_pem_private_key(identity, password=passphrase)
    except ValueError:
        raise CredentialError("cannot decrypt the SSH identity: wrong password or unsupported key") from None
    except Exception as exc:
        # e.g. bcrypt missing (needed for encrypted OpenSSH-format keys); never echo the library's text.
        raise CredentialError(f"cannot decrypt the SSH identity ({type(exc).__name__})") from None
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.OpenSSH,
        encryption_algorithm=serialization.NoEncryption(),
    )


def secrets_of(creds: Credentials) -> tuple[str, ...]:
    """Every string that must never be shown, for redacting git's output (includes header encodings)."""
    if isinstance(creds, BasicAuth):
        pair = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        return (creds.password, pair)
    if isinstance(creds, BearerToken):
        return (creds.token,)
    if isinstance(creds, SshKey) and creds.passphrase:
        return (creds.passphrase.decode("utf-8", "replace"),)
    return ()


@contextlib.contextmanager
def git_env(creds: Credentials, *, url: str, allow_file: bool = False) -> Iterator[dict[str, str]]:
    """Write key material to a private directory (`keyfiles`) and yield the env vars that make git use it.

    `creds` must be resolved (`resolve`): an App or an encrypted key raises CredentialError. The dir
    and everything in it are removed on exit. `gitops.commands` sets these variables on every git process, on top
    of an environment without inherited GIT_*/ssh-agent variables.
    `allow_file`: git may use the file:// transport (only when the operator allows file:// Git URLs).
    """
    if isinstance(creds, GitHubApp) or (isinstance(creds, SshKey) and creds.passphrase is not None):
        raise CredentialError("credentials must be resolved before use (App token / key passphrase)")
    with keyfiles.private_dir() as tmp:
        config = _write_private(tmp / "gitconfig", b"")
        env = {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",  # empty: never fall back to SSH_ASKPASS or a GUI prompt
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(config),
            "LC_ALL": "C",  # English messages: GitError classification reads them
            "GIT_SSH_VARIANT": "ssh",
            # Belt and braces against ext:: and friends; file:// only when the operator allows it.
            "GIT_ALLOW_PROTOCOL": "ssh:https:http" + (":file" if allow_file else ""),
        }
        if isinstance(creds, SshKey):
            env["GIT_SSH_COMMAND"] = _ssh_command(tmp, creds)
        elif isinstance(creds, BasicAuth | BearerToken):
            _write_private(config, _auth_config(creds, url))
        else:
            # Still strict: an ssh remote without a key must not trust an unknown host either.
            env["GIT_SSH_COMMAND"] = _ssh_command(tmp, None)
        yield env


_write_private = keyfiles.write_private


def _ssh_command(tmp: Path, creds: SshKey | None) -> str:
    parts = ["ssh"]
    if creds is not None:
        identity = creds.identity if creds.identity.endswith(b"\n") else creds.identity + b"\n"
        key = _write_private(tmp / "identity", identity)
        known_hosts = _write_private(tmp / "known_hosts", creds.known_hosts)
        parts += ["-i", str(key), "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={known_hosts}"]
    else:
        parts += ["-o", "UserKnownHostsFile=/dev/null"]
    parts += [
        "-o", "GlobalKnownHostsFile=/dev/null",  # only the Secret's known_hosts may vouch for a host
        "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=30",
        "-F", "/dev/null",
    ]  # fmt: skip
    # git runs GIT_SSH_COMMAND through the shell; the port comes from the URL (ssh://host:port/).
    return " ".join(shlex.quote(p) for p in parts)


def _auth_config(creds: BasicAuth | BearerToken, url: str) -> bytes:
    origin = _origin(url)
    if isinstance(creds, BasicAuth):
        pair = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        header = f"Authorization: Basic {pair}"
    else:
        header = f"Authorization: Bearer {creds.token}"
    escaped = header.replace("\\", "\\\\").replace('"', '\\"')
    return f'[http "{origin}"]\n\textraHeader = "{escaped}"\n'.encode()


def _origin(url: str) -> str:
    """scheme://host[:port]/ of an http(s) URL; refuses to send credentials in clear to a remote host."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise CredentialError("HTTP credentials need an http(s) URL with a host")
    if scheme == "http" and not urls.is_loopback(host):
        raise CredentialError(f"refusing to send credentials over plain http to {host}; use https")
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return f"{scheme}://{netloc}/"
