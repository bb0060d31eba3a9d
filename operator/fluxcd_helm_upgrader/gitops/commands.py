"""Running one git command: environment, timeout, process-group kill, masked output, classified errors.

Used by `gitops.repos.Workspace` for every git call. The argv never holds a secret (credentials travel in files,
see `gitops.credentials`); what git prints is masked (`credentials.redact`) before it reaches a `GitError`, whose
`kind` tells the worker what happened.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from fluxcd_helm_upgrader.gitops import credentials

logger = logging.getLogger(__name__)


class ErrorKind(enum.StrEnum):
    """Why a git operation failed; the worker maps these to proposal conditions and retries."""

    AUTH = "auth"  # rejected credentials / key
    HOST_KEY = "host-key"  # server's host key not in (or not matching) known_hosts
    NETWORK = "network"
    NOT_FOUND = "not-found"  # repository or base branch missing
    LEASE = "lease"  # someone else moved our branch since we last fetched it
    REFUSED = "refused"  # we refused: branch outside our prefix, path outside the repo, bad input
    EMPTY = "empty"  # the files are identical to the base: nothing to commit
    CORRUPT = "corrupt"  # local clone unusable
    TIMEOUT = "timeout"
    OTHER = "other"


class GitError(Exception):
    """A git operation failed. `str()` is safe to log and show: redacted of URL userinfo and secrets."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.OTHER) -> None:
        super().__init__(message)
        self.kind = kind


# First match wins, so the specific causes come before the generic "could not read from remote".
_CLASSIFIERS: tuple[tuple[ErrorKind, tuple[str, ...]], ...] = (
    (ErrorKind.HOST_KEY, ("host key verification failed", "remote host identification has changed")),
    (ErrorKind.LEASE, ("stale info",)),
    (ErrorKind.AUTH, ("authentication failed", "could not read username", "could not read password",
                      "permission denied", "error: 401", "error: 403", "invalid username or password")),
    (ErrorKind.NOT_FOUND, ("repository not found", "does not appear to be a git repository",
                           "couldn't find remote ref", "not found in upstream", "error: 404")),
    (ErrorKind.CORRUPT, ("not a git repository", "bad object", "corrupt", "loose object",
                         "unable to read", "invalid sha1 pointer", "bad signature", "index file")),
    (ErrorKind.NETWORK, ("could not resolve host", "connection refused", "connection timed out",
                         "failed to connect", "unable to access", "early eof", "connection reset",
                         "could not read from remote repository")),
)  # fmt: skip


def _classify(text: str) -> ErrorKind:
    lowered = text.lower()
    for kind, needles in _CLASSIFIERS:
        if any(n in lowered for n in needles):
            return kind
    return ErrorKind.OTHER


@dataclass(frozen=True)
class Session:
    """The environment of git commands of one credential session, and the secrets to mask in their output."""

    env: dict[str, str] = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: bytes
    stderr: str


class Runner:
    """Runs git in one directory with one session's environment, timeouts and redaction."""

    def __init__(
        self,
        cwd: Path,
        session: Session,
        *,
        log: collections.deque[tuple[str, ...]],
        network_timeout: float,
        local_timeout: float,
    ) -> None:
        self._cwd = cwd
        self._session = session
        self._log = log
        self._network_timeout = network_timeout
        self._local_timeout = local_timeout

    async def __call__(
        self, *args: str, check: bool = True, network: bool = False, stdin: bytes | None = None
    ) -> Result:
        argv = ("git", *args)
        self._log.append(argv)
        timeout = self._network_timeout if network else self._local_timeout
        shown = credentials.redact(" ".join(argv), self._session.secrets)
        logger.debug("Running %s", shown)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=self._cwd,
            env=self._session.env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: a timeout kills ssh/remote-https too
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
        except BaseException as exc:  # timeout or cancellation: never leave git running
            _kill_group(proc)
            await proc.wait()
            if isinstance(exc, TimeoutError):
                raise GitError(f"{shown}: timed out after {timeout:g}s", ErrorKind.TIMEOUT) from None
            raise
        stderr = err.decode("utf-8", "replace")
        returncode = proc.returncode if proc.returncode is not None else -1
        if check and returncode != 0:
            # push --porcelain reports rejections on stdout.
            detail = "\n".join(
                line
                for line in (stderr + "\n" + out.decode("utf-8", "replace")).splitlines()
                if line.strip() and not line.startswith("hint:")
            )[-2000:]
            safe = credentials.redact(detail, self._session.secrets)
            raise GitError(f"{shown} failed (exit {returncode}): {safe}", _classify(detail))
        return Result(returncode, out, stderr)


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
