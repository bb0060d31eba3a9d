"""The Git layer runs git only with its own settings, whatever the operator's process inherited: GIT_* variables
(GitPython's Repo() reads GIT_DIR and friends, and its children start from the process environment) and the user's
~/.gitconfig change nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fluxcd_helm_upgrader.gitops import credentials, repos
from tests.support import remotes

ANON = credentials.Anonymous()
PREFIX = "helm-upgrader/"


async def _publish(workspace: repos.Workspace, remote: remotes.Remote) -> str:
    repo = await workspace.prepare(remote.url, None, ANON)
    return await workspace.commit_and_push(
        repo, branch=PREFIX + "apps/podinfo", files={"release.yaml": b"version: 2.0.0\n"}, message="Update",
        author_name="Helm Upgrader", author_email="upgrader@example.test", allowed_prefix=PREFIX,
    )  # fmt: skip


async def test_inherited_git_variables_are_dropped_before_gitpython_sees_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = remotes.make_remote(tmp_path, {"release.yaml": b"version: 1.0.0\n"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    trace = tmp_path / "trace.log"
    inherited = {
        "GIT_DIR": str(elsewhere / ".git"),  # GitPython's Repo() and git would use this repository instead
        "GIT_WORK_TREE": str(elsewhere),
        "GIT_TRACE": str(trace),  # GIT_TRACE_CURL would print Authorization headers
        "GIT_CONFIG_COUNT": "1",  # config injected through the environment
        "GIT_CONFIG_KEY_0": f"url.{(tmp_path / 'nowhere.git').as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": remote.url,
        "GIT_AUTHOR_NAME": "Someone Else",
        "SSH_AUTH_SOCK": str(tmp_path / "agent.sock"),
    }
    for name, value in inherited.items():
        monkeypatch.setenv(name, value)
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=30, allow_file_urls=True)
    assert not set(inherited) & set(os.environ)
    sha = await _publish(workspace, remote)
    assert remote.sha(PREFIX + "apps/podinfo") == sha
    author = remotes.git(remote.bare, "log", "-1", "--format=%an <%ae>", sha)
    assert author == "Helm Upgrader <upgrader@example.test>"
    assert not trace.exists() and not list(elsewhere.iterdir())


async def test_the_users_git_config_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = remotes.make_remote(tmp_path, {"release.yaml": b"version: 1.0.0\n"})
    home = tmp_path / "home"
    hooks = home / "hooks"
    hooks.mkdir(parents=True)
    marker = tmp_path / "hook-ran"
    for hook in ("pre-commit", "commit-msg", "pre-push", "post-checkout"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / hook).chmod(0o755)
    hostile = (f'[url "{(tmp_path / "nowhere.git").as_uri()}"]\n\tinsteadOf = {remote.url}\n'
               f"[core]\n\thooksPath = {hooks}\n"
               "[user]\n\tname = Someone Else\n[commit]\n\tgpgSign = true\n")  # fmt: skip
    (home / ".gitconfig").write_text(hostile)
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".config" / "git" / "config").write_text(hostile)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=30, allow_file_urls=True)
    sha = await _publish(workspace, remote)
    again = await workspace.prepare(remote.url, None, ANON)  # the fetch path, GitPython's object reads
    assert await workspace.read_file(again, "release.yaml") == b"version: 1.0.0\n"
    assert remotes.git(remote.bare, "log", "-1", "--format=%an|%G?", sha) == "Helm Upgrader|N"
    assert not marker.exists(), "a hook from the user's config ran"
