"""Persistent working clones of GitOps repositories: prepare, commit one change, push our own branch.

Called by the serialized PR worker (proposals/): `Workspace.prepare` before locating/editing,
`commit_and_push` to publish the one-line edit, `remote_branch_sha`/`read_file`/`branch_diff` for
checks and the demo's diff print.

Git is GitPython (`gitops.commands`): each operation runs in a worker thread, reads through GitPython's objects
(the remote's URL, refs, commits, files at a commit) and runs `repo.git.<command>` for the rest, every command with
a timeout (its whole process group is killed on expiry or when the caller is cancelled), the environment from
`gitops.credentials` and captured output; failures raise `GitError` with a `kind` the worker can act on and a
message redacted of URL userinfo and secrets.
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
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fluxcd_helm_upgrader import logs
from fluxcd_helm_upgrader.gitops import commands, credentials, objects, pushing, refs

logger = logging.getLogger(__name__)
T = TypeVar("T")
# Every commit the operator makes ends with this line (proposals.publishing); `foreign_commits` knows them by it.
OPERATOR_TRAILER = "Proposed by fluxcd-helm-upgrader ("
# Re-exported: callers catch `repos.GitError` and read `repos.ErrorKind`.
ErrorKind = commands.ErrorKind
GitError = commands.GitError
Runner = commands.Runner
Staged = pushing.Staged  # re-exported: `Workspace.commit` returns it, `Workspace.push` takes it


@dataclass(frozen=True)
class PreparedRepo:
    """A clone reset to the tip of its base branch, ready for reading and one commit."""

    path: Path
    url: str
    base_branch: str
    base_sha: str
    creds: credentials.Credentials = field(repr=False, compare=False)
    # The base has .gitattributes (or the clone info/attributes): new blobs go through `git hash-object --path`, so
    # eol conversion and clean filters apply as `git add` applies them; without, they are stored as they are.
    attributes: bool = False


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
        commands.isolate_process_environment()

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
            refs.check_ref_name(branch)
        path = self.path_for(url, branch, owner)

        def work(run: Runner) -> PreparedRepo:
            if self._is_our_clone(run, path, url):
                try:
                    return self._refresh(run, path, url, branch, creds, fetch=True)
                except GitError as exc:
                    if exc.kind not in (ErrorKind.CORRUPT, ErrorKind.OTHER):
                        raise  # auth/network/...: a new clone would fail the same way; keep the cache
                    logger.warning("Clone %s is unusable (%s); cloning again.", path.name, exc)
            self._clone(run, path, url, branch)
            return self._refresh(run, path, url, branch, creds, fetch=False)

        return await self._run(path, creds, url, work)

    async def commit_and_push(self, repo: PreparedRepo, **commit: Any) -> str:
        """Commit files on a branch, fresh from the base, and push it with a lease (keywords as `commit`).

        The lease expects the branch where our last fetch/push saw it (absent: must not exist), so a
        commit someone else pushed to the branch since then is never overwritten (GitError "lease").
        If the remote branch already holds the identical commit content, nothing is pushed.
        Returns the sha now at the tip of the remote branch.
        """
        staged = await self.commit(repo, **commit)
        error = (await self.push(repo, [staged])).get(staged.branch)
        if error is not None:
            raise error
        return staged.sha

    async def commit(
        self,
        repo: PreparedRepo,
        *,
        branch: str,
        files: Mapping[str, bytes],
        message: str,
        author_name: str,
        author_email: str,
        allowed_prefix: str,
    ) -> Staged:
        """The commit of `commit_and_push`, not pushed yet (`push` pushes many in one git command)."""
        refs.check_ref_name(branch)
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
        paths = [refs.safe_relpath(p) for p in files]

        def work(run: Runner) -> Staged:
            with run.repo(repo.path) as r:
                # Objects are written in-process (`gitops.objects`): the working tree stays at the base commit,
                # so a batch of proposals keeps reading one checkout, and many commits go in one `git push`.
                def filtered(path: str, data: bytes) -> bytes:
                    out = run(r.git, "hash-object", "-w", f"--path={path}", "--stdin", stdin=data).stdout
                    return bytes.fromhex(out.decode().strip())

                contents = dict(zip(paths, files.values(), strict=True))
                tree = objects.tree_with(r, repo.base_sha, contents, filtered if repo.attributes else None)
                if tree is None:
                    changed = ", ".join(paths)
                    raise GitError(f"{changed} already match the base: nothing to commit", ErrorKind.EMPTY)
                new_sha = objects.commit(r, tree, repo.base_sha, message, author_name, author_email)
                expected = refs.ref_sha(r, f"refs/remotes/origin/{branch}")
                if expected and refs.same_commit(r, expected, new_sha):
                    logger.info("Branch %s already holds this change; not pushing.", branch)
                    return Staged(branch, expected, expected, pushed=True)
                return Staged(branch, new_sha, expected)

        return await self._run(repo.path, repo.creds, repo.url, work)

    async def push(self, repo: PreparedRepo, commits: Sequence[Staged]) -> dict[str, GitError | None]:
        """Push staged commits with their leases (`gitops.pushing`); per branch, None or the error."""

        def run(work: Callable[[Runner], set[str]]) -> Awaitable[set[str]]:
            return self._run(repo.path, repo.creds, repo.url, work)

        return await pushing.push(run, repo.path, commits)

    async def foreign_commits(self, repo: PreparedRepo, branch: str, author_email: str) -> list[str]:
        """The commits of `branch` (as last fetched) that are not on the base and that `author_email` did not both
        author and commit, newest first, each as "<short sha> by <author name>"; [] when the branch does not exist.
        A commit carrying the operator's own trailer (`OPERATOR_TRAILER`: another cluster's operator, with its own
        author, made the same edit on a shared branch) is not foreign: the joining rules decide about it.

        Like Renovate's "modified branch" check: a person's commit (or GitHub's "Update branch" merge) on the
        operator's branch means it must not be force-pushed over."""
        refs.check_ref_name(branch)

        def work(run: Runner) -> list[str]:
            with run.repo(repo.path) as r:
                tip = refs.commit_of(r, f"refs/remotes/origin/{branch}")
                if tip is None:
                    return []
                # One record per commit (-z), its fields split by \x01; the message last, whole.
                span = f"{repo.base_sha}..{tip}"
                log = run(r.git, "log", "-z", "--format=%H%x01%ae%x01%ce%x01%an%x01%B", span).stdout
            found = []
            for record in log.decode("utf-8", "replace").split("\0"):
                if not record:
                    continue
                sha, author, committer, name, message = [*record.split("\x01", 4), "", "", "", ""][:5]
                if OPERATOR_TRAILER not in message and (author != author_email or committer != author_email):
                    found.append(f"{sha[:12]} by {name}")
            return found

        return await self._run(repo.path, credentials.Anonymous(), repo.url, work)

    async def remote_branch_sha(self, repo: PreparedRepo, branch: str) -> str | None:
        """The sha of `branch` on the remote right now (git ls-remote), or None when it does not exist."""
        refs.check_ref_name(branch)
        ref = f"refs/heads/{branch}"

        def work(run: Runner) -> bytes:
            with run.repo(repo.path) as r:
                return run(r.git, "ls-remote", "--heads", "origin", ref, network=True).stdout

        for line in (await self._run(repo.path, repo.creds, repo.url, work)).decode().splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        return None

    async def read_file(self, repo: PreparedRepo, path: str) -> bytes:
        """The content of `path` at the prepared base commit; FileNotFoundError if it is not there."""
        relpath = refs.safe_relpath(path)

        def work(run: Runner) -> bytes | None:
            with run.repo(repo.path) as r:
                try:
                    item = r.commit(repo.base_sha).tree / relpath
                except (KeyError, ValueError):
                    return None
                return item.data_stream.read() if item.type == "blob" else None

        data = await self._run(repo.path, credentials.Anonymous(), repo.url, work)
        if data is None:
            raise FileNotFoundError(f"{relpath} not found at {repo.base_branch} ({repo.base_sha[:12]})")
        return data

    async def read_branch_file(self, repo: PreparedRepo, branch: str, path: str) -> bytes | None:
        """The content of `path` on the remote `branch` as the last fetch saw it; None when either is absent."""
        refs.check_ref_name(branch)
        relpath = refs.safe_relpath(path)

        def work(run: Runner) -> bytes | None:
            with run.repo(repo.path) as r:
                sha = refs.commit_of(r, f"refs/remotes/origin/{branch}")
                if sha is None:
                    return None
                try:
                    item = r.commit(sha).tree / relpath
                except (KeyError, ValueError):
                    return None
                return item.data_stream.read() if item.type == "blob" else None

        return await self._run(repo.path, credentials.Anonymous(), repo.url, work)

    async def changed_paths(self, repo: PreparedRepo, since: str) -> list[str]:
        """The paths that differ between commit `since` and the prepared base (`git diff --name-only`): what a
        manifest index of `since` must read again (`gitops.index.ManifestIndex.refresh`)."""

        def work(run: Runner) -> bytes:
            with run.repo(repo.path) as r:
                return run(r.git, "diff", "--name-only", "--no-renames", "-z", since, repo.base_sha, "--").stdout

        out = await self._run(repo.path, credentials.Anonymous(), repo.url, work)
        return [path for path in out.decode("utf-8", "surrogateescape").split("\0") if path]

    async def branch_diff(self, repo: PreparedRepo, branch: str) -> str:
        """`git diff` of `branch` (as last pushed/fetched, else local) against its merge base."""
        refs.check_ref_name(branch)

        def work(run: Runner) -> bytes:
            with run.repo(repo.path) as r:
                ref = f"refs/remotes/origin/{branch}"
                if refs.commit_of(r, ref) is None:
                    ref = f"refs/heads/{branch}"
                return run(r.git, "diff", "--no-color", "--no-ext-diff", f"{repo.base_sha}...{ref}").stdout

        return (await self._run(repo.path, credentials.Anonymous(), repo.url, work)).decode("utf-8", "replace")

    # -- internals -------------------------------------------------------------------------------

    def _lock(self, path: Path) -> asyncio.Lock:
        return self._locks.setdefault(path, asyncio.Lock())

    async def _run(self, path: Path, creds: credentials.Credentials, url: str, work: Callable[[Runner], T]) -> T:
        """`work` with the clone's lock held, in a credential session, in a worker thread."""
        async with self._lock(path), self._session(creds, url) as session:
            runner = Runner(session, log=self.commands, network_timeout=self.network_timeout,
                            local_timeout=self.local_timeout)  # fmt: skip
            return await commands.in_thread(runner, work)

    @contextlib.asynccontextmanager
    async def _session(self, creds: credentials.Credentials, url: str) -> AsyncIterator[commands.Session]:
        resolved = await credentials.resolve(creds)
        with credentials.git_env(resolved, url=url, allow_file=self.allow_file_urls) as overlay:
            # The ceiling stops a broken clone from silently using a repository above the cache.
            overlay = {**overlay, "GIT_CEILING_DIRECTORIES": str(self.cache_dir.resolve())}
            yield commands.Session(overlay, credentials.secrets_of(resolved))

    def _is_our_clone(self, run: Runner, path: Path, url: str) -> bool:
        if not (path / ".git").is_dir():
            return False
        try:
            with run.repo(path) as r:
                if refs.origin_url(r) != url:
                    logger.warning("Clone %s is broken or points elsewhere; cloning again.", path.name)
                    return False
                # Unreadable packs or loose objects do not make fetch/reset fail (git just re-downloads what it
                # cannot read), so ask fsck. Walking commits and trees only keeps it to ~100 ms for a fleet repo.
                fsck = run(r.git, "fsck", "--connectivity-only", "--no-dangling", "--no-progress", check=False)
        except GitError:
            logger.warning("Clone %s is broken or points elsewhere; cloning again.", path.name)
            return False
        if fsck.returncode != 0:
            logger.warning("Clone %s has broken objects; cloning again.", path.name)
            return False
        return True

    def _clone(self, run: Runner, path: Path, url: str, branch: str | None) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(path, ignore_errors=True)
        # Clone beside the target and rename: an interrupted clone never looks like a valid cache.
        staging = self.cache_dir / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
        args = ["--quiet", "--no-tags", *(["--branch", branch] if branch else []), "--", url, str(staging)]
        try:
            run(run.wrapper(self.cache_dir), "clone", *args, network=True)
            os.rename(staging, path)
        except GitError as error:  # name the cache path, not the random staging one: the same failure, the same text
            raise GitError(str(error).replace(str(staging), str(path)), error.kind) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _refresh(
        self,
        run: Runner,
        path: Path,
        url: str,
        branch: str | None,
        creds: credentials.Credentials,
        *,
        fetch: bool,
    ) -> PreparedRepo:
        with run.repo(path) as r:
            if fetch:
                run(r.git, "fetch", "--quiet", "--prune", "--no-tags", "origin", network=True)
            base = branch
            if base is None:
                if fetch:  # a fresh clone already recorded the remote's HEAD
                    run(r.git, "remote", "set-head", "origin", "--auto", network=True)
                base = refs.remote_head(r)
            tracking = f"refs/remotes/origin/{base}"
            if refs.commit_of(r, tracking) is None:
                raise GitError(f"branch {base!r} not found in {logs.redact(url)}", ErrorKind.NOT_FOUND)
            run(r.git, "checkout", "--quiet", "--force", "-B", base, tracking)
            run(r.git, "reset", "--quiet", "--hard", tracking)
            run(r.git, "clean", "-ffdqx")
            sha = str(r.head.commit.hexsha)
            listed = run(r.git, "ls-files", "-z", "--", ":(glob)**/.gitattributes").stdout
            attributes = bool(listed.strip(b"\0")) or (path / ".git" / "info" / "attributes").is_file()
        return PreparedRepo(path=path, url=url, base_branch=base, base_sha=sha, creds=creds, attributes=attributes)
