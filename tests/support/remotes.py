"""A real Git remote for tests: a bare repository in a temporary directory, reached over file://.

`make_remote` seeds it with files on one branch and keeps a second clone for "someone else pushes"
(`Remote.push_change`); `git` runs git as that someone else would, isolated from the machine's config. Used by the
Git layer's tests (tests/unit/gitops) and the Git worker's actions (tests/unit/proposals).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def git(cwd: Path, *args: str) -> str:
    """Run git as "someone else" would, isolated from the machine's config."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Someone Else",
        "GIT_AUTHOR_EMAIL": "else@example.test",
        "GIT_COMMITTER_NAME": "Someone Else",
        "GIT_COMMITTER_EMAIL": "else@example.test",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@dataclass
class Remote:
    bare: Path
    other: Path  # a second clone, for "someone else pushes"

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def push_change(self, branch: str, path: str, content: bytes, message: str = "") -> str:
        git(self.other, "fetch", "origin")
        git(self.other, "checkout", "-B", branch, f"origin/{branch}" if self.has(branch) else "origin/main")
        target = self.other / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        git(self.other, "add", path)
        git(self.other, "commit", "-m", message or f"change {path}")
        git(self.other, "push", "--force", "origin", f"HEAD:refs/heads/{branch}")
        return git(self.other, "rev-parse", "HEAD")

    def has(self, branch: str) -> bool:
        return bool(git(self.bare, "branch", "--list", branch))

    def sha(self, ref: str) -> str:
        return git(self.bare, "rev-parse", ref)


def make_remote(root: Path, files: Mapping[str, bytes], default_branch: str = "main") -> Remote:
    """A bare repository at `root`/remote.git whose `default_branch` holds `files` (path -> content)."""
    bare = root / "remote.git"
    git(root, "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(bare))
    other = root / "other"
    git(root, "clone", "--quiet", bare.as_uri(), str(other))
    git(other, "checkout", "-b", default_branch)
    for path, content in files.items():
        (other / path).parent.mkdir(parents=True, exist_ok=True)
        (other / path).write_bytes(content)
    git(other, "add", ".")
    git(other, "commit", "-m", "initial")
    git(other, "push", "origin", f"HEAD:refs/heads/{default_branch}")
    return Remote(bare, other)
