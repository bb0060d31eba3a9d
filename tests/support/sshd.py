"""A throwaway OpenSSH server on 127.0.0.1 for Git-over-SSH tests.

Used by the sshd fixtures in tests/e2e/conftest.py. Runs Debian's `/usr/sbin/sshd -D` as the current
user on an ephemeral port with a generated host key and one generated deploy key in authorized_keys;
the login shell then runs git-upload-pack/git-receive-pack like any Git host over SSH.
"""

from __future__ import annotations

import contextlib
import getpass
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")  # sshd refuses to start without it, even on a high port


class SshdUnavailable(Exception):
    """sshd cannot run here; tests should skip with this message."""


@dataclass(frozen=True)
class SshServer:
    """A running sshd: where it listens, the known_hosts line that pins it, the key that logs in."""

    port: int
    user: str
    known_hosts: bytes = field(repr=False)
    client_key: bytes = field(repr=False)
    client_key_pub: bytes = field(repr=False)

    def url(self, path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"


def keygen(path: Path, *, passphrase: str = "") -> tuple[bytes, bytes]:
    """A fresh ed25519 key pair (OpenSSH format) at `path` and `path`.pub."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "test", "-f", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path.read_bytes(), path.with_name(path.name + ".pub").read_bytes()


def known_hosts_line(port: int, host_public_key: bytes) -> bytes:
    """known_hosts syntax for a non-default port: `[host]:port keytype key`."""
    keytype, key = host_public_key.split()[:2]
    return b"[127.0.0.1]:%d %s %s\n" % (port, keytype, key)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_banner(port: int, proc: subprocess.Popen[bytes], deadline: float) -> bool:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            if conn.recv(64).startswith(b"SSH-2.0"):
                return True
        time.sleep(0.02)
    return False


def _config(workdir: Path, user: str, host_key: Path) -> Path:
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join([
            "ListenAddress 127.0.0.1",
            f"HostKey {host_key}",
            f"PidFile {workdir / 'sshd.pid'}",
            f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
            "StrictModes no",  # the temp dir is not owned/moded the way ~/.ssh would be
            "UsePAM no",
            "PermitRootLogin prohibit-password",  # tests run as root here; keys only
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            f"AllowUsers {user}",
            "LogLevel INFO",
            "",
        ])
    )  # fmt: skip
    return config


@contextlib.contextmanager
def running_sshd(workdir: Path) -> Iterator[SshServer]:
    """Start sshd for the current user; stop it (by its own pid) on exit. Raises SshdUnavailable."""
    if not SSHD.exists():
        raise SshdUnavailable(f"{SSHD} not found: apt-get install -y openssh-server")
    try:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    except OSError as exc:
        raise SshdUnavailable(f"sshd needs {PRIVSEP_DIR} and it cannot be created: {exc}") from None
    workdir.mkdir(parents=True, exist_ok=True)
    user = getpass.getuser()
    _, host_pub = keygen(workdir / "host_ed25519")
    client_key, client_pub = keygen(workdir / "deploy_ed25519")
    (workdir / "authorized_keys").write_bytes(client_pub)
    config = _config(workdir, user, workdir / "host_ed25519")
    log = (workdir / "sshd.log").open("wb")
    for _attempt in range(3):  # the port may be taken between choosing and binding it
        port = _free_port()
        proc = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config), "-p", str(port)], stdout=log, stderr=log
        )
        if _wait_for_banner(port, proc, time.monotonic() + 10):
            break
        proc.kill()
        proc.wait()
    else:
        log.close()
        raise SshdUnavailable("sshd did not start: " + (workdir / "sshd.log").read_text()[-500:])
    try:
        yield SshServer(
            port=port,
            user=user,
            known_hosts=known_hosts_line(port, host_pub),
            client_key=client_key,
            client_key_pub=client_pub,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()  # sshd.log stays in workdir (a tmp_path) for debugging failures
