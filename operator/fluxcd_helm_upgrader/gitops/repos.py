"""Persistent working clones of GitOps repositories: prepare, commit one change, push our own branch.

Called by the serialized PR worker (proposals/): `Workspace.prepare` before locating/editing,
`commit_and_push` to publish the one-line edit, `remote_branch_sha`/`read_file`/`branch_diff` for
checks and the demo's diff print.

Every git command runs through `asyncio.create_subprocess_exec` with a timeout (the whole process group
is killed on expiry), the environment from `gitops.credentials` and captured output; failures raise
`GitError` with a `kind` the worker can act on and a message redacted of URL userinfo and secrets.
Clones live in `cache_dir/<hash of url+branch>/` and are reused: fetch + hard reset + clean instead of
a new clone; a clone that is broken (no .git, unreadable objects, another remote URL) is re-cloned.
One asyncio.Lock per clone directory: two callers never touch one clone at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import hashlib
import logging
import os
import pathlib
import posixpath
import shutil
import signal
import uuid
from collections.abc import AsyncIterator, Mapping
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
class PreparedRepo:
    """A clone reset to the tip of its base branch, ready for reading and one commit."""

    path: Path
    url: str
    base_branch: str
    base_sha: str
    creds: credentials.Credentials = field(repr=False, compare=False)


@dataclass(frozen=True)
class _Session:
    env: dict[str, str] = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True)
class _Result:
    returncode: int
    stdout: bytes
    stderr: str


class Workspace:
    """Owns `cache_dir`: one persistent clone per (url, base branch)."""

    def __init__(self, cache_dir: Path, *, network_timeout: float = 300.0, local_timeout: float = 60.0) -> None:
        self.cache_dir = Path(cache_dir)
        self.network_timeout = network_timeout
        self.local_timeout = local_timeout
        # The argv of recent git commands (never holds secrets: they travel in 0600 files only).
        self.commands: collections.deque[tuple[str, ...]] = collections.deque(maxlen=500)
        self._locks: dict[Path, asyncio.Lock] = {}

    def path_for(self, url: str, branch: str | None) -> Path:
        digest = hashlib.sha256(f"{url}\0{branch or ''}".encode()).hexdigest()[:24]
        return self.cache_dir / digest

    async def prepare(self, url: str, branch: str | None, creds: credentials.Credentials) -> PreparedRepo:
        """Clone `url` or refresh the existing clone; check out the tip of `branch` (None: remote HEAD)."""
        credentials.transport(url)  # rejects unsupported schemes and remote-helper URLs early
        if branch is not None:
            _check_ref_name(branch)
        path = self.path_for(url, branch)
        async with self._lock(path), self._session(creds, url) as session:
            if await self._is_our_clone(path, url, session):
                try:
                    return await self._refresh(path, url, branch, creds, session, fetch=True)
                except GitError as exc:
                    if exc.kind not in (ErrorKind.CORRUPT, ErrorKind.OTHER):
                        raise  # auth/network/...: a new clone would fail the same way; keep the cache
                    logger.warning("Clone %s is unusable (%s); cloning again.", path.name, exc)
            await self._clone(path, url, branch, session)
            return await self._refresh(path, url, branch, creds, session, fetch=False)

    async def commit_and_push(
        self,
        repo: PreparedRepo,
        *,
        branch: str,
        files: Mapping[str, bytes],
        message: str,
        author_name: str,
        author_email: str,
        allowed_prefix: str,
    ) -> str:
        """Commit `files` (path -> new content) on `branch`, fresh from the base, and push it with a lease.

        The lease expects the branch where our last fetch/push saw it (absent: must not exist), so a
        commit someone else pushed to the branch since then is never overwritten (GitError "lease").
        If the remote branch already holds the identical commit content, nothing is pushed.
        Returns the sha now at the tip of the remote branch.
        """
        _check_ref_name(branch)
        if not allowed_prefix or not branch.startswith(allowed_prefix) or branch == allowed_prefix:
            raise GitError(
                f"refusing to push branch {branch!r}: not under prefix {allowed_prefix!r}", ErrorKind.REFUSED
            )
        if branch == repo.base_branch:
            raise GitError(f"refusing to push to the base branch {branch!r}", ErrorKind.REFUSED)
        if not files:
            raise GitError("no files to commit", ErrorKind.EMPTY)
        for value in (author_name, author_email):
            if not value.strip() or any(c in value for c in "\n\r<>"):
                raise GitError(f"invalid commit author {value!r}", ErrorKind.REFUSED)
        paths = [_safe_relpath(p) for p in files]
        async with self._lock(repo.path), self._session(repo.creds, repo.url) as session:
            run = self._runner(repo.path, session)
            await run("checkout", "--quiet", "--force", "-B", branch, repo.base_sha)
            await run("clean", "-ffdqx")
            await asyncio.to_thread(_write_files, repo.path, dict(zip(paths, files.values(), strict=True)))
            await run("--literal-pathspecs", "add", "--", *paths)
            if (await run("diff", "--cached", "--quiet", check=False)).returncode == 0:
                changed = ", ".join(paths)
                raise GitError(f"{changed} already match the base: nothing to commit", ErrorKind.EMPTY)
            identity = ("-c", f"user.name={author_name}", "-c", f"user.email={author_email}")
            await run(*identity, "-c", "commit.gpgSign=false", "-c", "core.hooksPath=/dev/null",
                      "commit", "--quiet", "--no-verify", "--no-gpg-sign", "--cleanup=whitespace", "--file=-",
                      stdin=message.encode())  # fmt: skip
            new_sha = (await run("rev-parse", "HEAD")).stdout.decode().strip()
            tracking_ref = f"refs/remotes/origin/{branch}"
            tracking = await run("rev-parse", "--verify", "--quiet", tracking_ref, check=False)
            expected = tracking.stdout.decode().strip() if tracking.returncode == 0 else ""
            if expected and await self._same_commit(run, expected, new_sha):
                await run("reset", "--quiet", "--hard", expected)
                logger.info("Branch %s already holds this change; not pushing.", branch)
                return expected
            await run("-c", "core.hooksPath=/dev/null", "push", "--porcelain", "--no-verify",
                      f"--force-with-lease=refs/heads/{branch}:{expected}",
                      "origin", f"{new_sha}:refs/heads/{branch}", network=True)  # fmt: skip
            return new_sha

    async def remote_branch_sha(self, repo: PreparedRepo, branch: str) -> str | None:
        """The sha of `branch` on the remote right now (git ls-remote), or None when it does not exist."""
        _check_ref_name(branch)
        async with self._lock(repo.path), self._session(repo.creds, repo.url) as session:
            ref = f"refs/heads/{branch}"
            out = await self._runner(repo.path, session)("ls-remote", "--heads", "origin", ref, network=True)
        for line in out.stdout.decode().splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        return None

    async def read_file(self, repo: PreparedRepo, path: str) -> bytes:
        """The content of `path` at the prepared base commit; FileNotFoundError if it is not there."""
        relpath = _safe_relpath(path)
        async with self._lock(repo.path), self._session(credentials.Anonymous(), repo.url) as session:
            result = await self._runner(repo.path, session)(
                "cat-file", "blob", f"{repo.base_sha}:{relpath}", check=False
            )
        if result.returncode != 0:
            raise FileNotFoundError(f"{relpath} not found at {repo.base_branch} ({repo.base_sha[:12]})")
        return result.stdout

    async def branch_diff(self, repo: PreparedRepo, branch: str) -> str:
        """`git diff` of `branch` (as last pushed/fetched, else local) against its merge base."""
        _check_ref_name(branch)
        async with self._lock(repo.path), self._session(credentials.Anonymous(), repo.url) as session:
            run = self._runner(repo.path, session)
            ref = f"refs/remotes/origin/{branch}"
            if (await run("rev-parse", "--verify", "--quiet", ref, check=False)).returncode != 0:
                ref = f"refs/heads/{branch}"
            out = await run("diff", "--no-color", "--no-ext-diff", f"{repo.base_sha}...{ref}")
        return out.stdout.decode("utf-8", "replace")

    # -- internals -------------------------------------------------------------------------------

    def _lock(self, path: Path) -> asyncio.Lock:
        return self._locks.setdefault(path, asyncio.Lock())

    @contextlib.asynccontextmanager
    async def _session(self, creds: credentials.Credentials, url: str) -> AsyncIterator[_Session]:
        resolved = await credentials.resolve(creds)
        with credentials.git_env(resolved, url=url) as overlay:
            # The ceiling stops a broken clone from silently using a repository above the cache.
            overlay = {**overlay, "GIT_CEILING_DIRECTORIES": str(self.cache_dir.resolve())}
            yield _Session(credentials.child_env(overlay), credentials.secrets_of(resolved))

    def _runner(self, cwd: Path, session: _Session) -> _Runner:
        return _Runner(self, cwd, session)

    async def _is_our_clone(self, path: Path, url: str, session: _Session) -> bool:
        if not (path / ".git").is_dir():
            return False
        run = self._runner(path, session)
        result = await run("config", "--get", "remote.origin.url", check=False)
        if result.returncode != 0 or result.stdout.decode().strip() != url:
            logger.warning("Clone %s is broken or points elsewhere; cloning again.", path.name)
            return False
        # Unreadable packs or loose objects do not make fetch/reset fail (git just re-downloads what it
        # cannot read), so ask fsck. Walking commits and trees only keeps it to ~100 ms for a fleet repo.
        fsck = await run("fsck", "--connectivity-only", "--no-dangling", "--no-progress", check=False)
        if fsck.returncode != 0:
            logger.warning("Clone %s has broken objects; cloning again.", path.name)
            return False
        return True

    async def _clone(self, path: Path, url: str, branch: str | None, session: _Session) -> None:
        await asyncio.to_thread(self.cache_dir.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.rmtree, path, ignore_errors=True)
        # Clone beside the target and rename: an interrupted clone never looks like a valid cache.
        staging = self.cache_dir / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
        args = ["clone", "--quiet", "--no-tags", *(["--branch", branch] if branch else []), "--", url,
                str(staging)]  # fmt: skip
        try:
            await self._runner(self.cache_dir, session)(*args, network=True)
            await asyncio.to_thread(os.rename, staging, path)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, ignore_errors=True)

    async def _refresh(
        self,
        path: Path,
        url: str,
        branch: str | None,
        creds: credentials.Credentials,
        session: _Session,
        *,
        fetch: bool,
    ) -> PreparedRepo:
        run = self._runner(path, session)
        if fetch:
            await run("fetch", "--quiet", "--prune", "--no-tags", "origin", network=True)
        base = branch
        if base is None:
            if fetch:  # a fresh clone already recorded the remote's HEAD
                await run("remote", "set-head", "origin", "--auto", network=True)
            head = await run("symbolic-ref", "--short", "refs/remotes/origin/HEAD")
            base = head.stdout.decode().strip().removeprefix("origin/")
        tracking = f"refs/remotes/origin/{base}"
        if (await run("rev-parse", "--verify", "--quiet", f"{tracking}^{{commit}}", check=False)).returncode:
            raise GitError(f"branch {base!r} not found in {credentials.redact(url)}", ErrorKind.NOT_FOUND)
        await run("checkout", "--quiet", "--force", "-B", base, tracking)
        await run("reset", "--quiet", "--hard", tracking)
        await run("clean", "-ffdqx")
        sha = (await run("rev-parse", "HEAD")).stdout.decode().strip()
        return PreparedRepo(path=path, url=url, base_branch=base, base_sha=sha, creds=creds)

    @staticmethod
    async def _same_commit(run: _Runner, old: str, new: str) -> bool:
        # Same tree, parents, author and message: pushing would only churn the PR.
        fmt = "--format=%T%n%P%n%an%n%ae%n%B"
        a = await run("log", "-1", fmt, old, check=False)
        b = await run("log", "-1", fmt, new)
        return a.returncode == 0 and a.stdout == b.stdout


class _Runner:
    """Runs git in one directory with one session's environment, timeouts and redaction."""

    def __init__(self, workspace: Workspace, cwd: Path, session: _Session) -> None:
        self._ws = workspace
        self._cwd = cwd
        self._session = session

    async def __call__(
        self, *args: str, check: bool = True, network: bool = False, stdin: bytes | None = None
    ) -> _Result:
        argv = ("git", *args)
        self._ws.commands.append(argv)
        timeout = self._ws.network_timeout if network else self._ws.local_timeout
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
        return _Result(returncode, out, stderr)


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _check_ref_name(name: str) -> None:
    """Reject names git would refuse or that could be read as options, without running git."""
    bad = (
        not name
        or name.startswith(("-", "/", "."))
        or name.endswith(("/", ".", ".lock"))
        or ".." in name
        or "//" in name
        or "@{" in name
        or name == "@"
        or any(c in name for c in " ~^:?*[\\\x7f")
        or any(ord(c) < 32 for c in name)
        or any(part.startswith(".") for part in name.split("/"))
    )
    if bad:
        raise GitError(f"invalid branch name {name!r}", ErrorKind.REFUSED)


def _safe_relpath(path: str) -> str:
    """A normalized repo-relative POSIX path; refuses absolute paths, `..` escapes and `.git`."""
    norm = posixpath.normpath(path.replace("\\", "/").removeprefix("./"))
    parts = norm.split("/")
    if not path or posixpath.isabs(norm) or norm in (".", "") or ".." in parts or ".git" in parts:
        raise GitError(f"refusing to write {path!r}: not a path inside the repository", ErrorKind.REFUSED)
    return norm


def _write_files(root: Path, files: Mapping[str, bytes]) -> None:
    for relpath, content in files.items():
        target = root / pathlib.PurePosixPath(relpath)
        # A symlinked directory in the repo must not lead the write outside the clone.
        if not target.parent.resolve().is_relative_to(root.resolve()) or target.is_symlink():
            raise GitError(f"refusing to write {relpath!r}: it leaves the repository", ErrorKind.REFUSED)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
