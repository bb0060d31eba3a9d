"""Key material (SSH keys, auth header config, TLS client keys) is written only to a memory-backed directory, and
what a killed process left there is removed at start-up (issue 10, item 10)."""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

import pytest

from fluxcd_helm_upgrader import keyfiles
from fluxcd_helm_upgrader.gitops import credentials

KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAKEYFILES\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "shm"
    directory.mkdir()
    previous = keyfiles.configure(directory)
    yield directory
    keyfiles.configure(previous)


def test_git_key_material_lives_in_the_key_dir_and_is_gone_afterwards(key_dir: Path) -> None:
    creds = credentials.SshKey(identity=KEY, known_hosts=b"host ssh-ed25519 AAAA\n")
    with credentials.git_env(creds, url="ssh://git@example.test/acme/fleet.git") as env:
        config = Path(env["GIT_CONFIG_GLOBAL"])
        assert key_dir in config.parents
        assert (config.parent / "identity").read_bytes() == KEY
        assert oct(config.parent.stat().st_mode & 0o777) == "0o700"
        assert oct((config.parent / "identity").stat().st_mode & 0o777) == "0o600"
    assert not config.parent.exists()
    assert [p.name for p in key_dir.rglob("*") if p.is_file()] == [keyfiles.LOCK]  # only this process's lock


def test_header_config_lives_in_the_key_dir(key_dir: Path) -> None:
    creds = credentials.BearerToken("token-keyfiles-0123456789")
    with credentials.git_env(creds, url="https://example.test/acme/fleet.git") as env:
        config = Path(env["GIT_CONFIG_GLOBAL"])
        assert key_dir in config.parents and b"token-keyfiles" in config.read_bytes()


def test_leftovers_of_a_killed_process_are_removed_at_start_up(key_dir: Path) -> None:
    dead = key_dir / f"{keyfiles.PREFIX}dead1234"  # its process died: nobody holds its lock
    (dead / "tmpabc").mkdir(parents=True)
    (dead / keyfiles.LOCK).touch()
    (dead / "tmpabc" / "identity").write_bytes(KEY)
    alive = key_dir / f"{keyfiles.PREFIX}alive567"  # another live operator on the same host
    alive.mkdir()
    holder = os.open(alive / keyfiles.LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    someone_elses = key_dir / "not-ours"
    someone_elses.mkdir()
    try:
        assert keyfiles.remove_leftovers() == 1
    finally:
        os.close(holder)
    assert not dead.exists() and alive.exists() and someone_elses.exists()


def test_without_a_memory_backed_directory_the_fallback_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    chosen = keyfiles.default_dir(shm=tmp_path / "no-such-shm")
    assert chosen.exists() and os.access(chosen, os.W_OK)
    assert "not memory-backed" in caplog.text and "UPGRADER_KEY_DIR" in caplog.text


def test_a_clean_shutdown_leaves_nothing_behind(key_dir: Path) -> None:
    with keyfiles.private_dir() as directory:
        assert directory.parent.parent == key_dir
    keyfiles.end_session()
    assert list(key_dir.iterdir()) == []
