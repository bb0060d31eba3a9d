"""Refs, names and paths of a clone, read without running git: the helpers of `gitops.repos.Workspace`.

Every function here runs in the Workspace's worker thread, with the clone's lock held (or touches no clone at all:
`check_ref_name` and `safe_relpath` check what the operator is about to hand to git).
"""

from __future__ import annotations

import posixpath

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
    try:
        target = git.Reference(r, ref).object
        while target.type == "tag":
            target = target.object
    except (ValueError, OSError, TypeError):
        return None
    return str(target.hexsha) if target.type == "commit" else None


def ref_sha(r: git.Repo, ref: str) -> str:
    """The sha a ref names, read from the ref files alone ("" when there is no such ref): our remote-tracking
    branches name commits, and the lease compares shas."""
    try:
        return str(git.SymbolicReference.dereference_recursive(r, ref))
    except (ValueError, OSError, TypeError):
        return ""


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
