"""Persistent working clones of GitOps repositories: prepare, commit one change, push our own branch.

Called by the serialized PR worker (proposals/): `Workspace.prepare` before locating/editing,
`commit_and_push` to publish the one-line edit, `remote_branch_sha`/`read_file`/`branch_diff` for
checks and the demo's diff print.

Every git command runs through `asyncio.create_subprocess_exec` with a timeout (the whole process group
is killed on expiry), the environment from `gitops.credentials` and captured output; failures raise
`GitError` with a `kind` the worker can act on and a message redacted of URL userinfo and secrets.
Clones live in `cache_dir/<hash of owner+url+branch>/` and are reused: fetch + hard reset + clean instead of
a new clone; a clone that is broken (no .git, unreadable objects, another remote URL) is re-cloned. The owner is
the UpgraderConfig's uid: two configs (two tenants) on one repository never share a working copy, so one cannot
see or leave anything in the other's. One asyncio.Lock per clone directory: two callers never touch one clone at
once. `file://` remotes (the operator's own filesystem) are refused unless the Workspace allows them
(`UPGRADER_ALLOW_FILE_GIT_URLS`, for tests and the demo).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import os
import pathlib
import posixpath
import shutil
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fluxcd_helm_upgrader.gitops import commands, credentials

logger = logging.getLogger(__name__)
# Re-exported: callers catch `repos.GitError` and read `repos.ErrorKind`.
ErrorKind = commands.ErrorKind
GitError = commands.GitError


@dataclass(frozen=True)
class PreparedRepo:
    """A clone reset to the tip of its base branch, ready for reading and one commit."""

    path: Path
    url: str
    base_branch: str
    base_sha: str
    creds: credentials.Credentials = field(repr=False, compare=False)


class Workspace:
    """Owns `cache_dir`: one persistent clone per (url, base branch)."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        network_timeout: float = 300.0,
        local_timeout: float = 60.0,
        allow_file_urls: bool = False,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.network_timeout = network_timeout
        self.local_timeout = local_timeout
        self.allow_file_urls = allow_file_urls
        # The argv of recent git commands (never holds secrets: they travel in 0600 files only).
        self.commands: collections.deque[tuple[str, ...]] = collections.deque(maxlen=500)
        self._locks: dict[Path, asyncio.Lock] = {}

    def path_for(self, url: str, branch: str | None, owner: str = "") -> Path:
        digest = hashlib.sha256(f"{owner}\0{url}\0{branch or ''}".encode()).hexdigest()[:24]
        return self.cache_dir / digest

    async def prepare(
        self, url: str, branch: str | None, creds: credentials.Credentials, *, owner: str = ""
    ) -> PreparedRepo:
        """Clone `url` or refresh the existing clone; check out the tip of `branch` (None: remote HEAD).

        `owner` (the UpgraderConfig's uid) keys the clone: each owner has its own working copy."""
        kind = credentials.transport(url)  # rejects unsupported schemes and remote-helper URLs early
        if kind in ("file", "local") and not self.allow_file_urls:
            raise GitError(
                "file:// Git URLs are refused: the operator does not read repositories from its own filesystem "
                "unless it runs with UPGRADER_ALLOW_FILE_GIT_URLS=true",
                ErrorKind.REFUSED,
            )
        if branch is not None:
            _check_ref_name(branch)
        path = self.path_for(url, branch, owner)
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
    async def _session(self, creds: credentials.Credentials, url: str) -> AsyncIterator[commands.Session]:
        resolved = await credentials.resolve(creds)
        with credentials.git_env(resolved, url=url, allow_file=self.allow_file_urls) as overlay:
            # The ceiling stops a broken clone from silently using a repository above the cache.
            overlay = {**overlay, "GIT_CEILING_DIRECTORIES": str(self.cache_dir.resolve())}
            yield commands.Session(credentials.child_env(overlay), credentials.secrets_of(resolved))

    def _runner(self, cwd: Path, session: commands.Session) -> commands.Runner:
        return commands.Runner(
            cwd, session, log=self.commands, network_timeout=self.network_timeout, local_timeout=self.local_timeout
        )

    async def _is_our_clone(self, path: Path, url: str, session: commands.Session) -> bool:
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

    async def _clone(self, path: Path, url: str, branch: str | None, session: commands.Session) -> None:
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
        session: commands.Session,
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
    async def _same_commit(run: commands.Runner, old: str, new: str) -> bool:
        # Same tree, parents, author and message: pushing would only churn the PR.
        fmt = "--format=%T%n%P%n%an%n%ae%n%B"
        a = await run("log", "-1", fmt, old, check=False)
        b = await run("log", "-1", fmt, new)
        return a.returncode == 0 and a.stdout == b.stdout


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
