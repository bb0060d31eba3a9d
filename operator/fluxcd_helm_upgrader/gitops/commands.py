"""GitPython, isolated: the repository objects and git commands of one credential session, each command with a
timeout, a process-group kill, masked output and a classified error.

Used by `gitops.repos.Workspace`, which runs its operations in a worker thread (GitPython blocks) through
`in_thread`. Reading goes through GitPython's object model (`Runner.repo`: refs, commits, trees, the remote's URL);
every git process, the network ones included, is `repo.git.<command>` run by a `Runner`: in its own process group
(a timeout or a cancelled task kills ssh and git-remote-https with it), with the session's environment, its argv
recorded (it never holds a secret: credentials travel in files, see `gitops.credentials`) and what it prints masked
(`logs.redact`) before it reaches a `GitError`, whose `kind` tells the worker what happened.

What GitPython would otherwise let in, and how it is kept out:
* Its children start from `os.environ` (no way to remove a variable per call): `isolate_process_environment`,
  called when a Workspace is created, removes GIT_*, SSH_ASKPASS and SSH_AUTH_SOCK from the operator's own
  environment (GitPython's `Repo()` reads GIT_DIR, GIT_WORK_TREE, GIT_OBJECT_DIRECTORY and GIT_COMMON_DIR too), and
  each command gets the session's variables on top (private GIT_CONFIG_GLOBAL, GIT_CONFIG_NOSYSTEM, strict ssh...).
* Its own process calls (the persistent `cat-file` behind object reads) get the same session variables
  (`Git.update_environment`), so no git child ever reads ~/.gitconfig or the system config.
* GIT_PYTHON_GIT_EXECUTABLE and GIT_PYTHON_TRACE are pinned: `git` from PATH, no command or output logged by
  GitPython. Its `kill_after_timeout` is not used: it kills the children it finds with pgrep/ps (absent from the
  image), not the process group.
* Only the repository's own config is read by GitPython (`config_reader("repository")`, through `Remote.url`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import git

from fluxcd_helm_upgrader import logs
from fluxcd_helm_upgrader.gitops import credentials

logger = logging.getLogger(__name__)
T = TypeVar("T")


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


def isolate_process_environment() -> list[str]:
    """Remove the variables that would change what git, ssh or GitPython do behind our back from this process's
    environment (tracing that prints Authorization headers, GIT_DIR, GIT_CONFIG_*, an author override, another
    askpass, an ssh agent with other keys); return their names. Idempotent; called at Workspace creation."""
    dropped = sorted(k for k in os.environ if k.startswith(credentials.DROPPED_PREFIXES))
    for name in dropped:
        os.environ.pop(name, None)
    if dropped:
        logger.warning("Removed %s from the operator's environment: git runs only with its own settings.",
                       ", ".join(dropped))  # fmt: skip
    return dropped


class _Git(git.Git):
    """GitPython's command wrapper with every git process in its own process group."""

    GIT_PYTHON_GIT_EXECUTABLE = "git"  # from PATH, never from $GIT_PYTHON_GIT_EXECUTABLE
    GIT_PYTHON_TRACE = False  # never from $GIT_PYTHON_TRACE: it would log commands and their output

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        # Passed on to subprocess.Popen: a timeout or a cancellation kills the whole group (ssh, remote-https).
        kwargs.setdefault("start_new_session", True)
        return super().execute(*args, **kwargs)


class _Repo(git.Repo):
    GitCommandWrapperType = _Git


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
    """Runs GitPython's git commands for one session, from a worker thread; `cancel` (any thread) kills the one
    running and refuses the next."""

    def __init__(
        self,
        session: Session,
        *,
        log: collections.deque[tuple[str, ...]],
        network_timeout: float,
        local_timeout: float,
    ) -> None:
        self._session = session
        self._log = log
        self._network_timeout = network_timeout
        self._local_timeout = local_timeout
        self._guard = threading.Lock()
        self._current: subprocess.Popen[bytes] | None = None
        self._cancelled = False

    def wrapper(self, cwd: Path) -> git.Git:
        """A command wrapper for a directory that is not (yet) a repository (`git clone`)."""
        return _Git(cwd)

    @contextlib.contextmanager
    def repo(self, path: Path) -> Iterator[git.Repo]:
        """The repository at `path`, its own processes in this session's environment; closed on exit.

        Raises GitError(CORRUPT) when `path` is no usable repository."""
        try:
            repo = _Repo(path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError, OSError, ValueError) as error:
            message = f"{path.name} is not a usable repository ({type(error).__name__})"
            raise GitError(message, ErrorKind.CORRUPT) from None
        try:
            repo.git.update_environment(**self._session.env)
            yield repo
        finally:
            repo.close()

    def __call__(
        self,
        g: git.Git,
        command: str,
        *args: str,
        options: Mapping[str, Any] | None = None,
        check: bool = True,
        network: bool = False,
        stdin: bytes | None = None,
    ) -> Result:
        """`g.<command>(*args)`, e.g. `run(repo.git, "fetch", "--quiet", network=True)`; `options` are git's own
        (before the command), in GitPython's spelling: `{"c": ["user.name=x"], "literal_pathspecs": True}`."""
        timeout = self._network_timeout if network else self._local_timeout
        with self._guard:
            if self._cancelled:
                raise GitError(f"git {command}: cancelled before it started", ErrorKind.OTHER)
            wrapper = g(**options) if options else g
            handle = getattr(wrapper, command.replace("-", "_"))(
                *args, as_process=True, env=self._session.env, istream=subprocess.PIPE if stdin is not None else None
            )
            proc: subprocess.Popen[bytes] = handle.proc
            self._current = proc
        argv = tuple(str(a) for a in handle.args)
        self._log.append(argv)
        shown = logs.redact(" ".join(argv), self._session.secrets)
        logger.debug("Running %s", shown)
        try:
            out, err = proc.communicate(stdin, timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise GitError(f"{shown}: timed out after {timeout:g}s", ErrorKind.TIMEOUT) from None
        finally:
            with self._guard:
                self._current = None
        if self._cancelled:
            raise GitError(f"{shown}: cancelled", ErrorKind.OTHER)
        stderr = err.decode("utf-8", "replace")
        returncode = proc.returncode if proc.returncode is not None else -1
        if check and returncode != 0:
            # push --porcelain reports rejections on stdout.
            detail = "\n".join(
                line
                for line in (stderr + "\n" + out.decode("utf-8", "replace")).splitlines()
                if line.strip() and not line.startswith("hint:")
            )[-2000:]
            safe = logs.redact(detail, self._session.secrets)
            raise GitError(f"{shown} failed (exit {returncode}): {safe}", _classify(detail))
        return Result(returncode, out, stderr)

    def cancel(self) -> None:
        """Kill the running command's process group; every later command refuses to start."""
        with self._guard:
            self._cancelled = True
            proc = self._current
        if proc is not None:
            _kill_group(proc)


async def in_thread(runner: Runner, work: Callable[[Runner], T]) -> T:
    """Run `work(runner)` in a worker thread. A cancelled caller kills the git command it runs and waits until the
    thread is done (a clone is never touched by two operations at once), then the cancellation goes on."""
    task = asyncio.ensure_future(asyncio.to_thread(work, runner))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        runner.cancel()
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the thread's "cancelled" GitError is expected
        raise


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()  # the group is the process's own (start_new_session); this only covers a failed killpg
