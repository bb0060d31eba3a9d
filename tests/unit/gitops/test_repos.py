"""Workspace against a real bare remote over file://: clone/fetch/re-clone, commit and leased push."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fluxcd_helm_upgrader.gitops import commands, credentials, repos
from tests.support import remotes
from tests.support.remotes import Remote, git

RELEASE = b"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
spec:
  chart:
    spec:
      chart: podinfo
      version: 6.5.0 # pinned
"""
PREFIX = "helm-upgrader/"
AUTHOR = {"author_name": "Helm Upgrader", "author_email": "upgrader@example.test"}


def make_remote(root: Path, default_branch: str = "main") -> Remote:
    return remotes.make_remote(root, {"apps/release.yaml": RELEASE, "README.md": b"fleet\n"}, default_branch)


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return make_remote(tmp_path)


@pytest.fixture
def workspace(tmp_path: Path) -> repos.Workspace:
    return repos.Workspace(tmp_path / "cache", network_timeout=30, local_timeout=30, allow_file_urls=True)


ANON = credentials.Anonymous()


async def test_first_prepare_clones_the_remote_head_branch(
    remote: Remote, workspace: repos.Workspace
) -> None:
    repo = await workspace.prepare(remote.url, None, ANON)
    assert repo.base_branch == "main"
    assert repo.base_sha == remote.sha("main")
    assert (repo.path / "apps" / "release.yaml").read_bytes() == RELEASE
    assert repo.path.parent == workspace.cache_dir


async def test_default_branch_is_whatever_the_remote_head_names(tmp_path: Path) -> None:
    remote = make_remote(tmp_path, default_branch="trunk")
    repo = await repos.Workspace(tmp_path / "cache", allow_file_urls=True).prepare(remote.url, None, ANON)
    assert (repo.base_branch, repo.base_sha) == ("trunk", remote.sha("trunk"))


async def test_second_prepare_fetches_into_the_same_clone_and_cleans_it(
    remote: Remote, workspace: repos.Workspace
) -> None:
    first = await workspace.prepare(remote.url, "main", ANON)
    marker = first.path / ".git" / "marker-from-test"
    marker.write_text("kept")
    (first.path / "README.md").write_text("local edit\n")
    (first.path / "stray.txt").write_text("untracked\n")

    second = await workspace.prepare(remote.url, "main", ANON)

    assert second.path == first.path
    assert marker.exists(), "the clone was replaced instead of fetched"
    assert (second.path / "README.md").read_text() == "fleet\n"
    assert not (second.path / "stray.txt").exists()
    assert not any(cmd[1] == "clone" for cmd in list(workspace.commands)[1:])


async def test_prepare_sees_what_someone_else_pushed_to_the_base(
    remote: Remote, workspace: repos.Workspace
) -> None:
    before = await workspace.prepare(remote.url, "main", ANON)
    pushed = remote.push_change("main", "apps/release.yaml", RELEASE.replace(b"6.5.0", b"6.6.0"))
    after = await workspace.prepare(remote.url, "main", ANON)
    assert before.base_sha != after.base_sha == pushed
    assert b"6.6.0" in (after.path / "apps" / "release.yaml").read_bytes()
    assert b"6.6.0" in await workspace.read_file(after, "apps/release.yaml")


def _delete_head(path: Path) -> None:
    (path / ".git" / "HEAD").unlink()


def _garbage_objects(path: Path) -> None:
    for obj in (path / ".git" / "objects").rglob("*"):
        if obj.is_file() and obj.parent.name != "info":
            obj.chmod(0o644)
            obj.write_bytes(b"garbage")


def _other_remote(path: Path) -> None:
    git(path, "remote", "set-url", "origin", "file:///nowhere/else.git")


def _no_git_dir(path: Path) -> None:
    shutil.rmtree(path / ".git")


@pytest.mark.parametrize("damage", [_delete_head, _garbage_objects, _other_remote, _no_git_dir])
async def test_a_broken_clone_is_cloned_again(
    remote: Remote, workspace: repos.Workspace, damage: Callable[[Path], None]
) -> None:
    first = await workspace.prepare(remote.url, "main", ANON)
    (first.path / ".git" / "marker-from-test").write_text("old clone")
    damage(first.path)

    again = await workspace.prepare(remote.url, "main", ANON)

    assert not (again.path / ".git" / "marker-from-test").exists()
    assert again.base_sha == remote.sha("main")
    assert (again.path / "apps" / "release.yaml").read_bytes() == RELEASE
    assert [c[1] for c in workspace.commands].count("clone") == 2


async def test_missing_base_branch_is_not_found(remote: Remote, workspace: repos.Workspace) -> None:
    with pytest.raises(repos.GitError) as err:
        await workspace.prepare(remote.url, "release-9", ANON)
    assert err.value.kind == repos.ErrorKind.NOT_FOUND
    assert "release-9" in str(err.value)


async def test_a_clone_that_fails_the_same_way_says_the_same_thing(tmp_path: Path, workspace: repos.Workspace) -> None:
    """The message names the cache path, never the random staging directory: a proposal retried every cycle keeps
    the status it has (issue 11: a quiet cycle writes nothing)."""
    url = (tmp_path / "nowhere.git").as_uri()
    messages = []
    for _ in range(2):
        with pytest.raises(repos.GitError) as err:
            await workspace.prepare(url, "main", ANON)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert ".tmp" not in messages[0] and str(workspace.path_for(url, "main")) in messages[0]


async def test_base_branch_deleted_upstream_is_not_found_and_keeps_the_clone(
    remote: Remote, workspace: repos.Workspace
) -> None:
    remote.push_change("release-1", "NOTES.md", b"release branch\n")
    first = await workspace.prepare(remote.url, "release-1", ANON)
    (first.path / ".git" / "marker-from-test").write_text("kept")
    git(remote.bare, "branch", "-D", "release-1")
    with pytest.raises(repos.GitError) as err:
        await workspace.prepare(remote.url, "release-1", ANON)
    assert err.value.kind == repos.ErrorKind.NOT_FOUND
    assert (first.path / ".git" / "marker-from-test").exists()


async def test_commit_and_push_creates_our_branch_with_a_one_line_change(
    remote: Remote, workspace: repos.Workspace
) -> None:
    repo = await workspace.prepare(remote.url, None, ANON)
    new = RELEASE.replace(b"6.5.0", b"6.7.1")
    sha = await workspace.commit_and_push(
        repo, branch=PREFIX + "apps/podinfo", files={"apps/release.yaml": new},
        message="Update podinfo to 6.7.1\n\n# Changelog\n- fixes #12\n", allowed_prefix=PREFIX, **AUTHOR,
    )  # fmt: skip

    assert remote.sha(f"{PREFIX}apps/podinfo") == sha
    body = git(remote.bare, "log", "-1", "--format=%B", sha)
    assert body == "Update podinfo to 6.7.1\n\n# Changelog\n- fixes #12"
    assert git(remote.bare, "rev-parse", f"{sha}^") == repo.base_sha
    assert git(remote.bare, "diff", "--name-only", repo.base_sha, sha) == "apps/release.yaml"
    numstat = git(remote.bare, "diff", "--numstat", repo.base_sha, sha)
    assert numstat.split("\t")[:2] == ["1", "1"]
    who = git(remote.bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s|%G?", sha)
    assert who == "Helm Upgrader <upgrader@example.test>|Helm Upgrader <upgrader@example.test>|" \
        "Update podinfo to 6.7.1|N"
    assert await workspace.remote_branch_sha(repo, PREFIX + "apps/podinfo") == sha
    diff = await workspace.branch_diff(repo, PREFIX + "apps/podinfo")
    assert "-      version: 6.5.0 # pinned\n+      version: 6.7.1 # pinned" in diff


async def test_pushing_again_rewrites_our_branch_from_the_base(
    remote: Remote, workspace: repos.Workspace
) -> None:
    branch = PREFIX + "apps/podinfo"
    repo = await workspace.prepare(remote.url, "main", ANON)
    first = await workspace.commit_and_push(
        repo, branch=branch, files={"apps/release.yaml": RELEASE.replace(b"6.5.0", b"6.6.0")},
        message="to 6.6.0", allowed_prefix=PREFIX, **AUTHOR,
    )  # fmt: skip
    repo = await workspace.prepare(remote.url, "main", ANON)
    second = await workspace.commit_and_push(
        repo, branch=branch, files={"apps/release.yaml": RELEASE.replace(b"6.5.0", b"6.7.1")},
        message="to 6.7.1", allowed_prefix=PREFIX, **AUTHOR,
    )  # fmt: skip
    assert first != second == remote.sha(branch)
    assert git(remote.bare, "rev-parse", f"{second}^") == repo.base_sha  # not stacked on `first`


async def test_identical_change_is_not_pushed_twice(remote: Remote, workspace: repos.Workspace) -> None:
    branch = PREFIX + "apps/podinfo"
    change = {"apps/release.yaml": RELEASE.replace(b"6.5.0", b"6.6.0")}
    repo = await workspace.prepare(remote.url, "main", ANON)
    first = await workspace.commit_and_push(
        repo, branch=branch, files=change, message="to 6.6.0", allowed_prefix=PREFIX, **AUTHOR
    )
    repo = await workspace.prepare(remote.url, "main", ANON)
    again = await workspace.commit_and_push(
        repo, branch=branch, files=change, message="to 6.6.0", allowed_prefix=PREFIX, **AUTHOR
    )
    assert again == first == remote.sha(branch)
    pushes = [c for c in workspace.commands if "push" in c]
    assert len(pushes) == 1


async def test_lease_violation_when_someone_else_moved_our_branch(
    remote: Remote, workspace: repos.Workspace
) -> None:
    branch = PREFIX + "apps/podinfo"
    repo = await workspace.prepare(remote.url, "main", ANON)
    await workspace.commit_and_push(
        repo, branch=branch, files={"apps/release.yaml": RELEASE.replace(b"6.5.0", b"6.6.0")},
        message="to 6.6.0", allowed_prefix=PREFIX, **AUTHOR,
    )  # fmt: skip
    theirs = remote.push_change(branch, "NOTES.md", b"a human added this\n")

    with pytest.raises(repos.GitError) as err:
        await workspace.commit_and_push(
            repo, branch=branch, files={"apps/release.yaml": RELEASE.replace(b"6.5.0", b"6.7.1")},
            message="to 6.7.1", allowed_prefix=PREFIX, **AUTHOR,
        )  # fmt: skip
    assert err.value.kind == repos.ErrorKind.LEASE
    assert remote.sha(branch) == theirs


async def test_new_branch_lease_fails_if_it_appeared_meanwhile(
    remote: Remote, workspace: repos.Workspace
) -> None:
    branch = PREFIX + "apps/podinfo"
    repo = await workspace.prepare(remote.url, "main", ANON)
    theirs = remote.push_change(branch, "NOTES.md", b"created by someone else\n")
    with pytest.raises(repos.GitError) as err:
        await workspace.commit_and_push(
            repo, branch=branch, files={"apps/release.yaml": RELEASE.replace(b"6.5.0", b"6.6.0")},
            message="to 6.6.0", allowed_prefix=PREFIX, **AUTHOR,
        )  # fmt: skip
    assert err.value.kind == repos.ErrorKind.LEASE
    assert remote.sha(branch) == theirs


async def test_many_branches_go_in_one_push_and_a_lease_failure_stays_with_its_branch(
    remote: Remote, workspace: repos.Workspace
) -> None:
    repo = await workspace.prepare(remote.url, "main", ANON)
    staged = []
    for i in range(3):
        change = {"apps/release.yaml": RELEASE.replace(b"6.5.0", f"7.{i}.0".encode())}
        staged.append(await workspace.commit(
            repo, branch=f"{PREFIX}apps/app{i}", files=change, message=f"to 7.{i}.0", allowed_prefix=PREFIX, **AUTHOR
        ))  # fmt: skip
    theirs = remote.push_change(f"{PREFIX}apps/app1", "NOTES.md", b"a human was first\n")
    before = len([c for c in workspace.commands if "push" in c])
    errors = await workspace.push(repo, staged)
    assert errors[f"{PREFIX}apps/app0"] is None and errors[f"{PREFIX}apps/app2"] is None
    lease = errors[f"{PREFIX}apps/app1"]
    assert lease is not None and lease.kind == repos.ErrorKind.LEASE
    assert remote.sha(f"{PREFIX}apps/app0") == staged[0].sha and remote.sha(f"{PREFIX}apps/app2") == staged[2].sha
    assert remote.sha(f"{PREFIX}apps/app1") == theirs  # never overwritten
    assert len([c for c in workspace.commands if "push" in c]) - before == 2  # all three at once, app1 again alone
    assert git(remote.bare, "rev-parse", f"{staged[2].sha}^") == repo.base_sha


async def test_gitattributes_eol_conversion_applies_as_git_add_applies_it(tmp_path: Path) -> None:
    remote = remotes.make_remote(tmp_path, {".gitattributes": b"*.yaml text eol=crlf\n", "apps/release.yaml": RELEASE})
    workspace = repos.Workspace(tmp_path / "cache", allow_file_urls=True)
    repo = await workspace.prepare(remote.url, "main", ANON)
    checked_out = (repo.path / "apps" / "release.yaml").read_bytes()
    assert b"\r\n" in checked_out and repo.attributes  # what the locator reads and the edit keeps
    sha = await workspace.commit_and_push(
        repo, branch=PREFIX + "apps/podinfo", files={"apps/release.yaml": checked_out.replace(b"6.5.0", b"6.7.1")},
        message="to 6.7.1", allowed_prefix=PREFIX, **AUTHOR,
    )  # fmt: skip
    stored = git(remote.bare, "cat-file", "blob", f"{sha}:apps/release.yaml")
    assert "\r" not in stored and "6.7.1" in stored
    assert git(remote.bare, "diff", "--numstat", repo.base_sha, sha).split("\t")[:2] == ["1", "1"]


@pytest.mark.parametrize(
    ("branch", "prefix"),
    [("main", PREFIX), ("feature/x", PREFIX), ("helm-upgrader/", PREFIX), ("anything", ""),
     ("helm-upgrader/../main", PREFIX), ("helm-upgrader/x y", PREFIX), ("main", "ma")],
)  # fmt: skip
async def test_refuses_branches_that_are_not_ours(
    remote: Remote, workspace: repos.Workspace, branch: str, prefix: str
) -> None:
    repo = await workspace.prepare(remote.url, "main", ANON)
    before = remote.sha("main")
    with pytest.raises(repos.GitError) as err:
        await workspace.commit_and_push(
            repo, branch=branch, files={"apps/release.yaml": b"x: 1\n"}, message="m",
            allowed_prefix=prefix, **AUTHOR,
        )  # fmt: skip
    assert err.value.kind == repos.ErrorKind.REFUSED
    assert remote.sha("main") == before
    assert not any("push" in c for c in workspace.commands)


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.yaml", "apps/../../x", ".git/config", ""])
async def test_refuses_paths_outside_the_worktree(
    remote: Remote, workspace: repos.Workspace, path: str
) -> None:
    repo = await workspace.prepare(remote.url, "main", ANON)
    with pytest.raises(repos.GitError) as err:
        await workspace.commit_and_push(
            repo, branch=PREFIX + "x", files={path: b"x"}, message="m", allowed_prefix=PREFIX, **AUTHOR
        )
    assert err.value.kind == repos.ErrorKind.REFUSED


async def test_unchanged_content_is_an_empty_commit_error(remote: Remote, workspace: repos.Workspace) -> None:
    repo = await workspace.prepare(remote.url, "main", ANON)
    with pytest.raises(repos.GitError) as err:
        await workspace.commit_and_push(
            repo, branch=PREFIX + "x", files={"apps/release.yaml": RELEASE}, message="m",
            allowed_prefix=PREFIX, **AUTHOR,
        )  # fmt: skip
    assert err.value.kind == repos.ErrorKind.EMPTY
    assert not remote.has(PREFIX + "x")


async def test_read_file_and_missing_branch(remote: Remote, workspace: repos.Workspace) -> None:
    repo = await workspace.prepare(remote.url, "main", ANON)
    assert await workspace.read_file(repo, "./apps/release.yaml") == RELEASE
    with pytest.raises(FileNotFoundError):
        await workspace.read_file(repo, "apps/nope.yaml")
    assert await workspace.remote_branch_sha(repo, PREFIX + "never") is None


async def test_concurrent_prepares_share_one_clone(remote: Remote, workspace: repos.Workspace) -> None:
    results = await asyncio.gather(*(workspace.prepare(remote.url, "main", ANON) for _ in range(4)))
    assert {r.path for r in results} == {results[0].path}
    assert [c[1] for c in workspace.commands].count("clone") == 1


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP listener that accepts and never answers: git over http hangs on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


async def test_a_hanging_remote_times_out(tmp_path: Path, silent_server: int) -> None:
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=1.0, allow_file_urls=True)
    url = f"http://user:hunter2secret@127.0.0.1:{silent_server}/fleet.git"
    with pytest.raises(repos.GitError) as err:
        await workspace.prepare(url, "main", ANON)
    assert err.value.kind == repos.ErrorKind.TIMEOUT
    assert "hunter2secret" not in str(err.value)
    assert not list(workspace.cache_dir.iterdir()), "a half-done clone was left in the cache"
    assert _processes_mentioning(f"127.0.0.1:{silent_server}") == [], "git or git-remote-http survived the timeout"


async def test_a_cancelled_operation_kills_its_git_and_finishes_before_the_lock_is_free(
    tmp_path: Path, silent_server: int
) -> None:
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=60, allow_file_urls=True)
    url = f"http://127.0.0.1:{silent_server}/fleet.git"
    task = asyncio.create_task(workspace.prepare(url, "main", ANON))
    for _ in range(100):  # until git and its git-remote-http child are running
        await asyncio.sleep(0.05)
        if len(_processes_mentioning(f"127.0.0.1:{silent_server}")) >= 2:
            break
    assert _processes_mentioning(f"127.0.0.1:{silent_server}"), "git never started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    assert _processes_mentioning(f"127.0.0.1:{silent_server}") == []
    assert not list(workspace.cache_dir.iterdir()), "the interrupted clone was cleaned up before the task ended"


async def test_errors_never_show_url_userinfo(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workspace = repos.Workspace(tmp_path / "cache", network_timeout=10, allow_file_urls=True)
    with pytest.raises(repos.GitError) as err:
        await workspace.prepare(f"http://bob:s3cr3t-pw@127.0.0.1:{port}/fleet.git", None, ANON)
    assert err.value.kind == repos.ErrorKind.NETWORK
    assert "s3cr3t-pw" not in str(err.value)
    assert "127.0.0.1" in str(err.value)


@pytest.mark.parametrize("url", ["ext::sh -c touch% /tmp/pwned", "ftp://example.test/x.git"])
async def test_unsupported_urls_are_rejected(workspace: repos.Workspace, url: str) -> None:
    with pytest.raises(credentials.CredentialError):
        await workspace.prepare(url, None, ANON)


async def test_two_configs_never_share_a_working_copy(remote: Remote, workspace: repos.Workspace) -> None:
    # Same repository and branch, two UpgraderConfigs (two tenants): two clones, keyed by the config's uid.
    a = await workspace.prepare(remote.url, "main", ANON, owner="uid-of-config-a")
    b = await workspace.prepare(remote.url, "main", ANON, owner="uid-of-config-b")
    assert a.path != b.path
    assert a.path.parent == b.path.parent == workspace.cache_dir
    again = await workspace.prepare(remote.url, "main", ANON, owner="uid-of-config-a")
    assert again.path == a.path


async def test_file_urls_are_refused_unless_the_operator_allows_them(remote: Remote, tmp_path: Path) -> None:
    strict = repos.Workspace(tmp_path / "strict-cache")
    with pytest.raises(repos.GitError) as caught:
        await strict.prepare(remote.url, "main", ANON)
    assert caught.value.kind == repos.ErrorKind.REFUSED
    assert "UPGRADER_ALLOW_FILE_GIT_URLS" in str(caught.value)
    assert not strict.cache_dir.exists() or not any(strict.cache_dir.iterdir())


@pytest.mark.parametrize(
    "stderr",
    [
        " ! [rejected]        abc -> helm-upgrader/x (stale info)",
        # Two clusters' operators pushing the same new branch at the same moment (file://, git daemon, ssh).
        "remote: error: cannot lock ref 'refs/heads/helm-upgrader/x': reference already exists",
    ],
    ids=["stale-info", "ref-lock"],
)
def test_a_push_another_writer_won_is_a_lost_lease(stderr: str) -> None:
    """The worker fetches and decides again on a lost lease (`proposals.publishing`), so both must read as one."""
    assert commands._classify(stderr) is commands.ErrorKind.LEASE
