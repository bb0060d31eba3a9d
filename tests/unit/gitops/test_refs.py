"""gitops.refs: a ref read from the ref files gives what `git rev-parse` gives, loose or packed, as git changes them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from fluxcd_helm_upgrader.gitops import refs
from tests.support import remotes


def _git(cwd: Path, *args: str) -> str:
    return remotes.git(cwd, "-c", "init.defaultBranch=main", *args)


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    _git(tmp_path, "init", "-q")
    for n in range(3):
        (tmp_path / "f.yaml").write_text(f"v: {n}\n")
        _git(tmp_path, "add", "-A")
        _git(tmp_path, "commit", "-qm", f"c{n}")
        _git(tmp_path, "update-ref", f"refs/remotes/origin/helm-upgrader/apps/app{n}", "HEAD")
    _git(tmp_path, "tag", "-a", "-m", "annotated", "v1", "HEAD~1")
    return git.Repo(tmp_path)


def _rev_parse(repo: git.Repo, ref: str) -> str | None:
    try:
        return _git(Path(repo.git_dir).parent, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except subprocess.CalledProcessError:
        return None


REFS = [*(f"refs/remotes/origin/helm-upgrader/apps/app{n}" for n in range(3)), "refs/heads/main", "refs/tags/v1",
        "refs/remotes/origin/helm-upgrader/apps/gone", "refs/remotes/origin/helm-upgrader"]  # fmt: skip


def test_loose_and_packed_refs_read_as_git_reads_them(repo: git.Repo) -> None:
    loose = {ref: refs.commit_of(repo, ref) for ref in REFS}
    assert loose == {ref: _rev_parse(repo, ref) for ref in REFS}
    assert loose["refs/remotes/origin/helm-upgrader/apps/gone"] is None
    _git(Path(repo.git_dir).parent, "pack-refs", "--all")
    assert not (Path(repo.git_dir) / "refs/remotes/origin/helm-upgrader/apps/app0").exists()
    assert {ref: refs.commit_of(repo, ref) for ref in REFS} == loose  # the same answers, from packed-refs
    assert refs.ref_sha(repo, "refs/tags/v1") != loose["refs/tags/v1"]  # the tag object itself, peeled by commit_of


def test_a_changed_packed_refs_file_is_read_again_and_a_loose_ref_wins(repo: git.Repo) -> None:
    root = Path(repo.git_dir).parent
    ref = "refs/remotes/origin/helm-upgrader/apps/app0"
    _git(root, "pack-refs", "--all")
    packed = refs.ref_sha(repo, ref)
    _git(root, "update-ref", ref, "HEAD")  # a push or fetch moves it: git writes it loose
    assert refs.ref_sha(repo, ref) == _git(root, "rev-parse", "HEAD") != packed
    _git(root, "pack-refs", "--all")  # packed again: the cached packed-refs would be stale
    assert refs.ref_sha(repo, ref) == _git(root, "rev-parse", "HEAD")
    _git(root, "update-ref", "-d", ref)  # deleted: gone from packed-refs too
    assert refs.ref_sha(repo, ref) == "" and refs.commit_of(repo, ref) is None


def test_symbolic_refs_are_followed_and_names_outside_refs_are_not_read(repo: git.Repo) -> None:
    root = Path(repo.git_dir).parent
    _git(root, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/helm-upgrader/apps/app2")
    assert refs.commit_of(repo, "refs/remotes/origin/HEAD") == _rev_parse(repo, "refs/remotes/origin/HEAD")
    assert refs.ref_sha(repo, "HEAD") == ""  # only refs/... names: this is never a path to anything else
    assert refs.ref_sha(repo, "refs/../config") == ""
