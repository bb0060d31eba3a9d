"""Git over SSH against a real sshd on 127.0.0.1: deploy key from a Flux-format Secret, strict known_hosts.

Skips when /usr/sbin/sshd is absent (`apt-get install -y openssh-server`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fluxcd_helm_upgrader.gitops import credentials, repos
from tests.support import sshd

PREFIX = "helm-upgrader/"


def _bare_remote(root: Path) -> Path:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    bare, work = root / "fleet.git", root / "seed"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True, env=env)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True, env=env)
    (work / "release.yaml").write_text("spec:\n  chart:\n    spec:\n      version: 1.0.0\n")
    for args in (["add", "."], ["-c", "user.name=s", "-c", "user.email=s@e", "commit", "-qm", "init"],
                 ["push", "-q", str(bare), "main"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=work, check=True, env=env)
    return bare


def _rev_parse(bare: Path, ref: str) -> str:
    argv = ["git", "-C", str(bare), "rev-parse", ref]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _encrypted(key: bytes, path: Path, passphrase: bytes) -> bytes:
    """The same (authorized) deploy key, re-encrypted with a passphrase by ssh-keygen."""
    path.write_bytes(key)
    path.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-N", passphrase.decode(), "-P", "", "-f", str(path)],
                   check=True, capture_output=True)  # fmt: skip
    return path.read_bytes()


def _secret(server: sshd.SshServer, **overrides: bytes) -> dict[str, bytes]:
    data = {"identity": server.client_key, "identity.pub": server.client_key_pub,
            "known_hosts": server.known_hosts}  # fmt: skip
    data.update(overrides)
    return {k: v for k, v in data.items() if v}


async def test_clone_commit_and_push_over_ssh(ssh_server: sshd.SshServer, tmp_path: Path) -> None:
    bare = _bare_remote(tmp_path)
    url = ssh_server.url(bare)
    creds = credentials.from_secret(_secret(ssh_server), secret_name="flux-system", url=url)
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=30)

    repo = await workspace.prepare(url, None, creds)
    assert repo.base_branch == "main"
    sha = await workspace.commit_and_push(
        repo, branch=PREFIX + "apps/podinfo", message="Update podinfo to 1.1.0",
        files={"release.yaml": b"spec:\n  chart:\n    spec:\n      version: 1.1.0\n"},
        author_name="Upgrader", author_email="upgrader@example.test", allowed_prefix=PREFIX,
    )  # fmt: skip

    assert _rev_parse(bare, PREFIX + "apps/podinfo") == sha
    assert await workspace.remote_branch_sha(repo, PREFIX + "apps/podinfo") == sha
    again = await workspace.prepare(url, None, creds)  # the fetch path over ssh
    assert again.base_sha == repo.base_sha
    key_text = ssh_server.client_key.decode()
    assert not any(key_text in arg for argv in workspace.commands for arg in argv)


async def test_wrong_known_hosts_is_a_host_key_error(ssh_server: sshd.SshServer, tmp_path: Path) -> None:
    _, impostor_pub = sshd.keygen(tmp_path / "impostor")
    secret = _secret(ssh_server, known_hosts=sshd.known_hosts_line(ssh_server.port, impostor_pub))
    url = ssh_server.url(_bare_remote(tmp_path))
    creds = credentials.from_secret(secret, secret_name="flux-system", url=url)
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=30)
    with pytest.raises(repos.GitError) as err:
        await workspace.prepare(url, None, creds)
    assert err.value.kind == repos.ErrorKind.HOST_KEY


def test_missing_known_hosts_is_a_credential_error(ssh_server: sshd.SshServer, tmp_path: Path) -> None:
    url = ssh_server.url(tmp_path / "fleet.git")
    with pytest.raises(credentials.CredentialError, match="has no known_hosts"):
        credentials.from_secret(_secret(ssh_server, known_hosts=b""), secret_name="flux-system", url=url)


async def test_a_key_the_server_does_not_know_is_an_auth_error(ssh_server: sshd.SshServer, tmp_path: Path) -> None:
    stranger, stranger_pub = sshd.keygen(tmp_path / "stranger")
    url = ssh_server.url(_bare_remote(tmp_path))
    secret = _secret(ssh_server, identity=stranger, **{"identity.pub": stranger_pub})
    creds = credentials.from_secret(secret, secret_name="flux-system", url=url)
    with pytest.raises(repos.GitError) as err:
        await repos.Workspace(tmp_path / "cache", network_timeout=30).prepare(url, None, creds)
    assert err.value.kind == repos.ErrorKind.AUTH


async def test_passphrase_protected_deploy_key(ssh_server: sshd.SshServer, tmp_path: Path) -> None:
    url = ssh_server.url(_bare_remote(tmp_path))
    encrypted = _encrypted(ssh_server.client_key, tmp_path / "encrypted", b"open sesame")
    assert encrypted != ssh_server.client_key
    secret = _secret(ssh_server, identity=encrypted, password=b"open sesame")
    creds = credentials.from_secret(secret, secret_name="flux-system", url=url)
    repo = await repos.Workspace(tmp_path / "cache", network_timeout=30).prepare(url, "main", creds)
    assert (repo.path / "release.yaml").exists()
