"""Where key material is written: private directories on a memory-backed filesystem, cleaned at start-up.

Git needs an SSH key and known_hosts, or an `Authorization` header, in files (`gitops.credentials.git_env`);
OpenSSL reads a TLS client key only from a file (`sources.auth`). Each use gets its own 0700 directory holding
0600 files, removed when the command ends. The base directory is `UPGRADER_KEY_DIR` (deploy/ mounts an emptyDir
with `medium: Memory` there), else /dev/shm when it is writable, else the system temporary directory, with a
warning: on disk, a key may outlive the process on the node.

Every process keeps its directories inside one session directory (`fluxcd-helm-upgrader-keys-*`) whose `.lock`
file it holds an flock on for its whole life. A process killed mid-command leaves its session behind; at start-up
`remove_leftovers` (called by `services.Services.create`) removes every session whose lock nobody holds: the
dead process's keys go, a live neighbour's (another operator on the same host, a test run) stay. A restarted
container keeps its emptyDir, so this is what keeps old keys from piling up there.

Called by `gitops.credentials`, `sources.auth` and `services` (`configure` and `remove_leftovers` at start-up,
`end_session` at shutdown). Process-wide state: `configure` sets the base.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)
PREFIX = "fluxcd-helm-upgrader-keys-"
LOCK = ".lock"
SHM = Path("/dev/shm")

_base: Path | None = None
_session: Path | None = None
_lock_fd: int | None = None


def default_dir(shm: Path = SHM) -> Path:
    """/dev/shm when it is a writable directory, else the system temporary directory (logged)."""
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return shm
    fallback = Path(tempfile.gettempdir())
    logger.warning(
        "%s is not available: key material goes to %s, which is not memory-backed; set UPGRADER_KEY_DIR to a "
        "memory-backed directory (an emptyDir with medium: Memory)", shm, fallback,
    )  # fmt: skip
    return fallback


def configure(directory: Path | None) -> Path | None:
    """Use `directory` as the base from now on (None: decide on first use); returns the previous setting."""
    global _base
    end_session()
    previous, _base = _base, directory
    return previous


def end_session() -> None:
    """Remove this process's session directory (at shutdown; a later use starts a new one)."""
    global _session, _lock_fd
    if _session is not None:
        shutil.rmtree(_session, ignore_errors=True)
    if _lock_fd is not None:
        os.close(_lock_fd)
    _session, _lock_fd = None, None


def base() -> Path:
    global _base
    if _base is None:
        _base = default_dir()
    return _base


def _session_dir() -> Path:
    global _session, _lock_fd
    if _session is None:
        session = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base()))
        fd = os.open(session / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _session, _lock_fd = session, fd
    return _session


@contextlib.contextmanager
def private_dir() -> Iterator[Path]:
    """A fresh 0700 directory in this process's session, removed with everything in it when the block ends."""
    path = Path(tempfile.mkdtemp(dir=_session_dir()))
    try:
        os.chmod(path, 0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_private(path: Path, content: bytes) -> Path:
    """Write `content` to a new 0600 file (the mode is set again in case the file pre-existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    os.chmod(path, 0o600)
    return path


def _abandoned(session: Path) -> bool:
    """True when no live process holds the session's lock (or it has none)."""
    try:
        fd = os.open(session / LOCK, os.O_RDWR)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def remove_leftovers() -> int:
    """Remove the sessions dead processes left under the base; return how many."""
    removed = 0
    directory = base()
    with contextlib.suppress(OSError):
        for entry in directory.iterdir():
            if not entry.name.startswith(PREFIX) or entry == _session or entry.is_symlink() or not entry.is_dir():
                continue
            if _abandoned(entry):
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    if removed:
        logger.info("Removed %d key directories left in %s by processes that ended.", removed, directory)
    return removed
