"""In-process commits (gitops.objects): what `git` itself sees afterwards, and the paths that are refused."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import git
import pytest

from fluxcd_helm_upgrader.gitops import commands, objects


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip
    return subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    _git(tmp_path, "init", "-q")
    for path, text in {"apps/a.yaml": "v: 1\n", "apps.yaml": "x: 1\n", "apps-b/c.yaml": "y: 1\n"}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    os.symlink("apps", tmp_path / "link")
    os.symlink("/etc/passwd", tmp_path / "apps" / "passwd.yaml")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "base")
    return git.Repo(tmp_path)


def test_the_commit_changes_only_the_files_and_git_accepts_it(repo: git.Repo) -> None:
    root = Path(repo.working_tree_dir or "")
    base = _git(root, "rev-parse", "HEAD")
    tree = objects.tree_with(repo, base, {"apps/a.yaml": b"v: 2\n", "apps-b/new/d.yaml": b"z: 1\n"})
    assert tree is not None
    sha = objects.commit(repo, tree, base, "Update a  \n\n\n- to 2\n\n", "Helm Upgrader", "hu@example.test")
    assert _git(root, "diff", "--name-only", base, sha).splitlines() == ["apps-b/new/d.yaml", "apps/a.yaml"]
    assert _git(root, "show", f"{sha}:apps/a.yaml") == "v: 2"
    assert _git(root, "log", "-1", "--format=%B|%an <%ae>|%cn", sha) == "Update a\n\n- to 2\n|Helm Upgrader " \
        "<hu@example.test>|Helm Upgrader"
    _git(root, "fsck", "--strict", "--no-dangling")  # tree order and modes are what git writes
    assert _git(root, "status", "--porcelain") == ""  # the working tree is untouched
    assert _git(root, "rev-parse", "HEAD") == base


def test_unchanged_content_is_no_tree(repo: git.Repo) -> None:
    base = _git(Path(repo.working_tree_dir or ""), "rev-parse", "HEAD")
    assert objects.tree_with(repo, base, {"apps/a.yaml": b"v: 1\n"}) is None


@pytest.mark.parametrize("path", ["link/a.yaml", "apps/passwd.yaml", "apps.yaml/x.yaml"])
def test_symlinks_and_files_on_the_path_are_refused(repo: git.Repo, path: str) -> None:
    base = _git(Path(repo.working_tree_dir or ""), "rev-parse", "HEAD")
    with pytest.raises(commands.GitError) as caught:
        objects.tree_with(repo, base, {path: b"x: 1\n"})
    assert caught.value.kind == commands.ErrorKind.REFUSED
