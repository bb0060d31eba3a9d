"""Write a commit's objects in-process: the base tree with a few files replaced, and the commit on top of it.

Called by `gitops.repos.Workspace.commit_and_push` (in its worker thread, with the clone's lock held). Before
issue 17 each proposal checked its branch out, cleaned the tree, wrote, added and committed with five git commands
(~0.3 s on a fleet repository, more as it grows); now the blobs, the trees on the changed paths and the commit are
written with GitPython's object database (loose objects) and only `git push` runs. The working tree is never touched,
so a batch of proposals keeps reading one checkout of the base commit.

A path whose directory is a symlink, a submodule or a file in the base tree, or whose file is a symlink, is refused
(never written through): the same rule the old working-tree write enforced. The message gets git's
`--cleanup=whitespace` treatment; the author is also the committer; no hook runs and nothing is signed. When the
repository has .gitattributes, the caller stores blobs with `git hash-object --path` (eol conversion and clean
filters as `git add` applies them).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping

import git
from gitdb import IStream  # type: ignore[import-untyped]  # GitPython's object database (its own dependency)
from gitdb.db import LooseObjectDB  # type: ignore[import-untyped]

from fluxcd_helm_upgrader.gitops import commands

TREE, BLOB = 0o040000, 0o100644
Entry = tuple[bytes, int, str]  # (binsha, mode, name), as git.objects.fun.tree_to_stream takes them


def _store(r: git.Repo, kind: str, data: bytes) -> bytes:
    # gitdb's loose-object writer, in-process: GitPython's own `store` starts a `git hash-object` per object.
    binsha: bytes = LooseObjectDB.store(r.odb, IStream(kind, len(data), io.BytesIO(data))).binsha
    return binsha


# Trees and commits never change for a given sha: the base trees a batch reads are kept, so only the first commit
# of a batch asks git for them (bounded: cleared when full).
_TREES: dict[tuple[str, bytes], list[Entry]] = {}
_COMMIT_TREES: dict[tuple[str, str], bytes] = {}
_CACHED = 20_000


def _entries(r: git.Repo, binsha: bytes | None) -> list[Entry]:
    if binsha is None:
        return []
    key = (str(r.git_dir), binsha)
    if key not in _TREES:
        if len(_TREES) >= _CACHED:
            _TREES.clear()
        _TREES[key] = [(item.binsha, item.mode, item.name) for item in git.Tree(r, binsha, TREE, "")]
    return _TREES[key]


def _base_tree(r: git.Repo, base_sha: str) -> bytes:
    key = (str(r.git_dir), base_sha)
    if key not in _COMMIT_TREES:
        if len(_COMMIT_TREES) >= _CACHED:
            _COMMIT_TREES.clear()
        _COMMIT_TREES[key] = r.commit(base_sha).tree.binsha
    return _COMMIT_TREES[key]


def _sort_key(entry: Entry) -> bytes:
    """git's tree order: names as bytes, a tree's name compared as if it ended with '/'."""
    return entry[2].encode() + (b"/" if entry[1] == TREE else b"")


Blob = Callable[[str, bytes], bytes]  # (path, content) -> binsha of the stored blob


def _write(
    r: git.Repo, binsha: bytes | None, changes: Mapping[tuple[str, ...], bytes], where: str, blob: Blob | None
) -> bytes:
    entries = {e[2]: e for e in _entries(r, binsha)}
    below: dict[str, dict[tuple[str, ...], bytes]] = {}
    for parts, data in changes.items():
        name = parts[0]
        if len(parts) > 1:
            below.setdefault(name, {})[parts[1:]] = data
            continue
        old = entries.get(name)
        if old is not None and old[1] not in (BLOB, 0o100755):
            raise commands.GitError(
                f"refusing to write {where}{name}: it is a symlink or not a file", commands.ErrorKind.REFUSED
            )
        stored = blob(f"{where}{name}", data) if blob is not None else _store(r, "blob", data)
        entries[name] = (stored, old[1] if old else BLOB, name)
    for name, sub in below.items():
        old = entries.get(name)
        if old is not None and old[1] != TREE:
            raise commands.GitError(
                f"refusing to write below {where}{name}: it is not a directory (a symlink leaves the repository)",
                commands.ErrorKind.REFUSED,
            )
        entries[name] = (_write(r, old[0] if old else None, sub, f"{where}{name}/", blob), TREE, name)
    stream = io.BytesIO()
    git.objects.fun.tree_to_stream(sorted(entries.values(), key=_sort_key), stream.write)
    return _store(r, "tree", stream.getvalue())


def tree_with(r: git.Repo, base_sha: str, files: Mapping[str, bytes], blob: Blob | None = None) -> str | None:
    """The hexsha of the base commit's tree with `files` (normalized relative paths) replaced or added; None when
    that is the base tree itself (nothing to commit). `blob` stores a file's content (e.g. through git's filters);
    None: as it is."""
    base_tree = _base_tree(r, base_sha)
    changes = {tuple(path.split("/")): data for path, data in files.items()}
    binsha = _write(r, base_tree, changes, "", blob)
    return None if binsha == base_tree else binsha.hex()


def cleanup(message: str) -> str:
    """git commit --cleanup=whitespace: trailing spaces and repeated or surrounding blank lines go."""
    lines: list[str] = []
    for line in message.splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def commit(r: git.Repo, tree: str, parent: str, message: str, name: str, email: str) -> str:
    """Write the commit of `tree` on `parent`; the author is also the committer. Returns its hexsha."""
    who = git.Actor(name, email)
    # Objects made from their shas are not read: the commit only names them (no `git cat-file` to start).
    tree_object = git.Tree(r, bytes.fromhex(tree), TREE, "")
    parent_object = git.Commit(r, bytes.fromhex(parent))
    created = git.Commit.create_from_tree(
        r, tree_object, cleanup(message), parent_commits=[parent_object], head=False, author=who, committer=who
    )
    return str(created.hexsha)
