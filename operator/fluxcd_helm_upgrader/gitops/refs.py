"""Refs, names and paths of a clone, read without running git: the helpers of `gitops.repos.Workspace`.

Every function here runs in the Workspace's worker thread, with the clone's lock held (or touches no clone at all:
`check_ref_name` and `safe_relpath` check what the operator is about to hand to git).
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import git

from fluxcd_helm_upgrader.gitops.commands import ErrorKind, GitError


def origin_url(r: git.Repo) -> str | None:
    """remote.origin.url from the clone's own config (GitPython reads only the repository's file here)."""
    try:
        return str(r.remote("origin").url)
    except (ValueError, KeyError, AttributeError, OSError):
        return None


def remote_head(r: git.Repo) -> str:
    """The branch refs/remotes/origin/HEAD points at: the remote's default branch."""
    try:
        target = git.SymbolicReference(r, "refs/remotes/origin/HEAD").reference.path
    except (TypeError, ValueError, OSError):
        message = "the remote's default branch is unknown (no refs/remotes/origin/HEAD)"
        raise GitError(message, ErrorKind.OTHER) from None
    return str(target).removeprefix("refs/remotes/origin/")


def commit_of(r: git.Repo, ref: str) -> str | None:
    """The commit `ref` names (`rev-parse --verify ref^{commit}`), or None when it names none."""
    sha = ref_sha(r, ref)
    if not sha:
        return None
    try:
        target = git.Object.new_from_sha(r, bytes.fromhex(sha))
        while target.type == "tag":
            target = target.object
    except (ValueError, OSError, TypeError):
        return None
    return str(target.hexsha) if target.type == "commit" else None


def ref_sha(r: git.Repo, ref: str, depth: int = 0) -> str:
    """The sha a ref names, read from the ref files alone ("" when there is no such ref): our remote-tracking
    branches name commits, and the lease compares shas.

    A loose ref file wins over packed-refs, as in git. packed-refs is parsed once per version of the file (its
    inode, size and mtime), not once per lookup: GitPython reads the whole file for every ref it does not find
    loose, and after git packs 10,000 pushed branches that was an eighth of the worker's time."""
    if depth > 5 or not ref.startswith("refs/") or ".." in ref.split("/"):
        return ""
    git_dir = Path(r.git_dir)
    try:
        content = (git_dir / ref).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return _packed_refs(git_dir).get(ref, "")
    except (OSError, UnicodeDecodeError):
        return ""
    if content.startswith("ref: "):
        return ref_sha(r, content[5:].strip(), depth + 1)
    return content if _SHA.fullmatch(content) else ""


_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_PACKED: dict[Path, tuple[tuple[int, int, int], dict[str, str]]] = {}


def _packed_refs(git_dir: Path) -> dict[str, str]:
    """refs/... -> sha from `git_dir`/packed-refs ({} without one); git replaces the file by rename when it
    changes, so (inode, size, mtime) names one version of it."""
    path = git_dir / "packed-refs"
    try:
        st = path.stat()
    except OSError:
        _PACKED.pop(path, None)
        return {}
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _PACKED.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    found: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    for line in text.splitlines():
        if not line or line[0] in "#^":
            continue  # the header, and the peeled sha of the tag above
        sha, _, name = line.partition(" ")
        if _SHA.fullmatch(sha) and name:
            found[name] = sha
    _PACKED[path] = (stamp, found)
    return found


def same_commit(r: git.Repo, old: str, new: str) -> bool:
    """Same tree, parents, author and message: pushing would only churn the PR."""

    def facts(sha: str) -> tuple[object, ...]:
        c = r.commit(sha)
        return (c.tree.hexsha, tuple(p.hexsha for p in c.parents), c.author.name, c.author.email, c.message)

    try:
        return facts(old) == facts(new)
    except (ValueError, OSError):
        return False


def check_ref_name(name: str) -> None:
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


def safe_relpath(path: str) -> str:
    """A normalized repo-relative POSIX path; refuses absolute paths, `..` escapes and `.git`."""
    norm = posixpath.normpath(path.replace("\\", "/").removeprefix("./"))
    parts = norm.split("/")
    if not path or posixpath.isabs(norm) or norm in (".", "") or ".." in parts or ".git" in parts:
        raise GitError(f"refusing to write {path!r}: not a path inside the repository", ErrorKind.REFUSED)
    return norm
