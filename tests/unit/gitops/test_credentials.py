"""Flux Secret -> credentials -> git environment; HTTP auth proven against a local smart-HTTP git server."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from fluxcd_helm_upgrader import logs
from fluxcd_helm_upgrader.gitops import credentials, repos

CANARY = "canary-7f3a9c-DO-NOT-LEAK"
SSH_URL = "ssh://git@github.com/acme/fleet.git"
HTTPS_URL = "https://github.com/acme/fleet.git"


def _openssh_key(password: bytes | None = None) -> bytes:
    key = ed25519.Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def _token() -> str:
    return CANARY


# -- reading the Secret ---------------------------------------------------------------------------


def test_ssh_secret_gives_key_and_known_hosts() -> None:
    creds = credentials.from_secret(
        {"identity": b"KEY", "identity.pub": b"PUB", "known_hosts": b"github.com ssh-ed25519 AAAA"},
        secret_name="flux-system", url=SSH_URL,
    )  # fmt: skip
    assert creds == credentials.SshKey(identity=b"KEY", known_hosts=b"github.com ssh-ed25519 AAAA",
                                       identity_pub=b"PUB")  # fmt: skip
    assert "KEY" not in repr(creds)


@pytest.mark.parametrize("url", [SSH_URL, "git@github.com:acme/fleet.git", "ssh://git@host:2222/x.git"])
def test_ssh_without_known_hosts_is_refused_with_a_fix(url: str) -> None:
    with pytest.raises(credentials.CredentialError) as err:
        credentials.from_secret({"identity": b"KEY"}, secret_name="flux-system", url=url)
    assert str(err.value) == (
        "secret flux-system has no known_hosts; add the host key (ssh-keyscan HOST > known_hosts) — "
        "strict host key checking is always on"
    )


def test_ssh_without_identity_is_refused() -> None:
    with pytest.raises(credentials.CredentialError, match="secret fleet-key has no identity"):
        credentials.from_secret({"known_hosts": b"x"}, secret_name="fleet-key", url=SSH_URL)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"username": b"bot", "password": CANARY.encode()}, credentials.BasicAuth("bot", CANARY)),
        ({"bearerToken": CANARY.encode() + b"\n"}, credentials.BearerToken(CANARY)),
        ({"ca.crt": b"..."}, credentials.Anonymous()),
        ({}, credentials.Anonymous()),
    ],
)
def test_https_secret_keys(data: dict[str, bytes], expected: credentials.Credentials) -> None:
    creds = credentials.from_secret(data, secret_name="s", url=HTTPS_URL)
    assert creds == expected
    assert CANARY not in repr(creds)


def test_github_app_secret_needs_a_token_provider() -> None:
    data = {"githubAppID": b"123", "githubAppInstallationID": b"456", "githubAppPrivateKey": b"PEM",
            "githubAppBaseURL": b"https://ghe.example.test/api/v3"}  # fmt: skip
    creds = credentials.from_secret(data, secret_name="app", url=HTTPS_URL, token_provider=_token)
    assert isinstance(creds, credentials.GitHubApp)
    assert (creds.app_id, creds.installation_id, creds.base_url) == (
        "123", "456", "https://ghe.example.test/api/v3")  # fmt: skip
    with pytest.raises(credentials.CredentialError, match="no token provider"):
        credentials.from_secret(data, secret_name="app", url=HTTPS_URL)
    with pytest.raises(credentials.CredentialError, match="githubAppInstallationID"):
        credentials.from_secret({"githubAppID": b"1"}, secret_name="a", url=HTTPS_URL, token_provider=_token)


@pytest.mark.parametrize(
    "data", [{"username": b"bot"}, {"password": b"pw"}, {"bearerToken": b"a\nInjected: header"}]
)
def test_incomplete_or_multiline_http_secrets_are_refused(data: dict[str, bytes]) -> None:
    with pytest.raises(credentials.CredentialError) as err:
        credentials.from_secret(data, secret_name="s", url=HTTPS_URL)
    assert "Injected" not in str(err.value)


def test_file_urls_ignore_the_secret() -> None:
    creds = credentials.from_secret({"username": b"u", "password": b"p"}, secret_name="s", url="file:///r.git")
    assert creds == credentials.Anonymous()


# -- resolving and the environment ----------------------------------------------------------------


async def test_resolve_turns_a_github_app_into_an_access_token_login() -> None:
    app = credentials.GitHubApp("1", "2", b"PEM", token_provider=_token)
    assert await credentials.resolve(app) == credentials.BasicAuth("x-access-token", CANARY)


async def test_resolve_decrypts_a_passphrase_protected_key() -> None:
    encrypted = _openssh_key(b"correct horse")
    creds = credentials.SshKey(identity=encrypted, known_hosts=b"kh", passphrase=b"correct horse")
    plain = await credentials.resolve(creds)
    assert isinstance(plain, credentials.SshKey) and plain.passphrase is None
    serialization.load_ssh_private_key(plain.identity, password=None)  # loads without a password

    with pytest.raises(credentials.CredentialError) as err:
        await credentials.resolve(credentials.SshKey(encrypted, b"kh", passphrase=b"wrong-pass"))
    assert "wrong-pass" not in str(err.value)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ssh_env_uses_private_files_and_strict_host_checking() -> None:
    creds = credentials.SshKey(identity=b"-----KEY-----", known_hosts=b"[h]:22 ssh-ed25519 AAAA\n")
    with credentials.git_env(creds, url=SSH_URL) as env:
        command = env["GIT_SSH_COMMAND"]
        key = Path(command.split(" -i ")[1].split(" ")[0])
        tmp = key.parent
        assert key.read_bytes() == b"-----KEY-----\n"
        assert (_mode(tmp), _mode(key), _mode(tmp / "known_hosts")) == (0o700, 0o600, 0o600)
        for option in ("IdentitiesOnly=yes", f"UserKnownHostsFile={tmp / 'known_hosts'}",
                       "StrictHostKeyChecking=yes", "BatchMode=yes", "-F /dev/null"):  # fmt: skip
            assert option in command
        assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert not tmp.exists()


@pytest.mark.parametrize(
    ("creds", "header"),
    [
        (credentials.BasicAuth("bot", CANARY), "Basic " + _b64(f"bot:{CANARY}")),
        (credentials.BearerToken(CANARY), f"Bearer {CANARY}"),
    ],
)
def test_http_env_keeps_the_secret_in_a_private_file_scoped_to_the_origin(
    creds: credentials.Credentials, header: str
) -> None:
    with credentials.git_env(creds, url="https://Git.Example.test:8443/acme/fleet.git") as env:
        assert not any(CANARY in v or header in v for v in env.values())
        config = Path(env["GIT_CONFIG_GLOBAL"])
        assert _mode(config) == 0o600 and _mode(config.parent) == 0o700
        text = config.read_text()
        assert '[http "https://git.example.test:8443/"]' in text
        assert f"Authorization: {header}" in text
    assert not config.exists()


def test_plain_http_credentials_only_go_to_loopback() -> None:
    creds = credentials.BearerToken(CANARY)
    with (
        pytest.raises(credentials.CredentialError, match="plain http"),
        credentials.git_env(creds, url="http://git.example.test/x.git"),
    ):
        pass


def test_unresolved_credentials_are_refused_by_git_env() -> None:
    app = credentials.GitHubApp("1", "2", b"k", token_provider=_token)
    with pytest.raises(credentials.CredentialError, match="resolve"), credentials.git_env(app, url=HTTPS_URL):
        pass


def test_redact_strips_userinfo_and_secrets() -> None:
    text = f"fatal: unable to access 'https://bot:{CANARY}@h/x.git/': token {CANARY} rejected"
    expected = "fatal: unable to access 'https://h/x.git/': token *** rejected"
    assert logs.redact(text, (CANARY,)) == expected


# -- against a real smart-HTTP server -------------------------------------------------------------


@dataclass
class GitHttpServer:
    """git http-backend behind aiohttp on 127.0.0.1; demands one Authorization value, records all."""

    root: Path
    accepted: str
    url: str = ""
    seen: list[str | None] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        self.seen.append(auth)
        if auth != self.accepted:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="git"'})
        body = await request.read()  # aiohttp already undid Content-Encoding: gzip
        env = {
            "PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
            "REQUEST_METHOD": request.method, "PATH_INFO": request.path,
            "QUERY_STRING": request.query_string, "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)), "REMOTE_USER": "tester", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
        }  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            "git", "http-backend", env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        stdout, _ = await proc.communicate(body)
        assert proc.returncode == 0
        head, _, payload = stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers[name] = value
        return web.Response(status=status, body=payload, headers=headers)


def _bare_remote(root: Path) -> Path:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    bare, work = root / "fleet.git", root / "seed"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True, env=env)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True, env=env)
    (work / "release.yaml").write_text("version: 1.0.0\n")
    for args in (["add", "."], ["-c", "user.name=s", "-c", "user.email=s@e", "commit", "-qm", "init"],
                 ["push", "-q", str(bare), "main"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=work, check=True, env=env)
    return bare


async def _serve(tmp_path: Path, accepted: str) -> AsyncIterator[GitHttpServer]:
    server = GitHttpServer(root=_bare_remote(tmp_path).parent, accepted=accepted)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/fleet.git"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
async def basic_server(tmp_path: Path) -> AsyncIterator[GitHttpServer]:
    accepted = "Basic " + _b64(f"x-access-token:{CANARY}")
    async for server in _serve(tmp_path, accepted):
        yield server


@pytest.fixture
async def bearer_server(tmp_path: Path) -> AsyncIterator[GitHttpServer]:
    async for server in _serve(tmp_path, f"Bearer {CANARY}"):
        yield server


def _assert_no_canary_anywhere(workspace: repos.Workspace, repo_path: Path) -> None:
    for file in (repo_path / ".git").rglob("*"):
        if file.is_file():
            assert CANARY.encode() not in file.read_bytes(), f"token leaked into {file}"
    assert not any(CANARY in arg for argv in workspace.commands for arg in argv)


@pytest.mark.parametrize(
    "creds",
    [credentials.BasicAuth("x-access-token", CANARY),
     credentials.GitHubApp("1", "2", b"PEM", token_provider=_token)],
    ids=["basic", "github-app"],
)  # fmt: skip
async def test_basic_auth_clones_and_pushes_over_http_without_leaking(
    basic_server: GitHttpServer, tmp_path: Path, creds: credentials.Credentials
) -> None:
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=30)
    repo = await workspace.prepare(basic_server.url, None, creds)
    assert basic_server.accepted in basic_server.seen
    sha = await workspace.commit_and_push(
        repo, branch="helm-upgrader/x", files={"release.yaml": b"version: 1.1.0\n"}, message="bump",
        author_name="u", author_email="u@e", allowed_prefix="helm-upgrader/",
    )  # fmt: skip
    assert await workspace.remote_branch_sha(repo, "helm-upgrader/x") == sha
    _assert_no_canary_anywhere(workspace, repo.path)


async def test_bearer_token_is_sent_as_bearer(bearer_server: GitHttpServer, tmp_path: Path) -> None:
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=30)
    repo = await workspace.prepare(bearer_server.url, "main", credentials.BearerToken(CANARY))
    assert bearer_server.seen and set(bearer_server.seen) == {f"Bearer {CANARY}"}
    assert await workspace.read_file(repo, "release.yaml") == b"version: 1.0.0\n"
    _assert_no_canary_anywhere(workspace, repo.path)


@pytest.mark.parametrize(
    "creds",
    [credentials.BasicAuth("x-access-token", CANARY + "-wrong"), credentials.BearerToken(CANARY + "-wrong"),
     credentials.Anonymous()],
    ids=["wrong-basic", "wrong-bearer", "none"],
)  # fmt: skip
async def test_rejected_credentials_are_an_auth_error_without_the_secret(
    basic_server: GitHttpServer, tmp_path: Path, creds: credentials.Credentials
) -> None:
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=30)
    with pytest.raises(repos.GitError) as err:
        await workspace.prepare(basic_server.url, None, creds)
    assert err.value.kind == repos.ErrorKind.AUTH
    assert CANARY not in str(err.value)
    assert "127.0.0.1" in str(err.value)
