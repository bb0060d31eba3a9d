"""JSON payloads shaped like GitHub's REST answers; used by ``testkit.github`` only.

githubkit validates every response against pydantic models generated from GitHub's OpenAPI
description (``githubkit_schemas``), and many fields are required, so each builder fills every
required field of: SimpleUser, Repository/FullRepository, Label, PullRequest/PullRequestSimple,
Issue and InstallationToken. ``tests/unit/forges`` validates these payloads against the models
directly, so a githubkit upgrade that adds a required field fails there first.
"""

from __future__ import annotations

import dataclasses
import datetime
import zlib
from typing import Any

_EPOCH = "2024-01-01T00:00:00Z"

_USER_URLS = (
    "followers",
    "following",
    "gists",
    "starred",
    "subscriptions",
    "organizations",
    "repos",
    "events",
    "received_events",
)
_REPO_URLS = (
    "archive",
    "assignees",
    "blobs",
    "branches",
    "collaborators",
    "comments",
    "commits",
    "compare",
    "contents",
    "contributors",
    "deployments",
    "downloads",
    "events",
    "forks",
    "git_commits",
    "git_refs",
    "git_tags",
    "issue_comment",
    "issue_events",
    "issues",
    "keys",
    "labels",
    "languages",
    "merges",
    "milestones",
    "notifications",
    "pulls",
    "releases",
    "stargazers",
    "statuses",
    "subscribers",
    "subscription",
    "tags",
    "teams",
    "trees",
    "hooks",
)


@dataclasses.dataclass
class Urls:
    """Where the stand-in lives: ``api`` (with ``/api/v3`` for Enterprise) and ``html`` (browser)."""

    api: str
    html: str


@dataclasses.dataclass
class PullState:
    """One pull request held by the stand-in (mutable: users merge and close it)."""

    number: int
    id: int
    title: str
    body: str | None
    head: str
    base: str
    draft: bool
    state: str = "open"  # "open" | "closed"
    merged: bool = False
    labels: list[str] = dataclasses.field(default_factory=list)
    assignees: list[str] = dataclasses.field(default_factory=list)
    reviewers: list[str] = dataclasses.field(default_factory=list)
    team_reviewers: list[str] = dataclasses.field(default_factory=list)
    created_at: str = _EPOCH
    updated_at: str = _EPOCH
    closed_at: str | None = None
    merged_at: str | None = None
    comments: list[str] = dataclasses.field(default_factory=list)  # the bodies of its conversation's comments


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(urls: Urls, login: str, user_id: int = 1) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "login": login,
        "id": user_id,
        "node_id": f"U_{user_id}",
        "gravatar_id": "",
        "avatar_url": f"{urls.html}/avatars/{login}",
        "url": f"{urls.api}/users/{login}",
        "html_url": f"{urls.html}/{login}",
        "type": "User",
        "site_admin": False,
    }
    for name in _USER_URLS:
        payload[f"{name}_url"] = f"{urls.api}/users/{login}/{name}"
    return payload


def repository(urls: Urls, owner: str, name: str, repo_id: int = 1, default_branch: str = "main") -> dict[str, Any]:
    """Satisfies both ``Repository`` (inside pull requests) and ``FullRepository`` (GET /repos)."""
    api = f"{urls.api}/repos/{owner}/{name}"
    payload: dict[str, Any] = {
        "id": repo_id,
        "node_id": f"R_{repo_id}",
        "name": name,
        "full_name": f"{owner}/{name}",
        "license": None,
        "owner": user(urls, owner),
        "private": True,
        "description": None,
        "fork": False,
        "url": api,
        "html_url": f"{urls.html}/{owner}/{name}",
        "git_url": f"git://stand-in/{owner}/{name}.git",
        "ssh_url": f"git@stand-in:{owner}/{name}.git",
        "clone_url": f"{urls.html}/{owner}/{name}.git",
        "svn_url": f"{urls.html}/{owner}/{name}",
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 1,
        "default_branch": default_branch,
        "open_issues_count": 0,
        "open_issues": 0,
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "pushed_at": _EPOCH,
        "created_at": _EPOCH,
        "updated_at": _EPOCH,
        "subscribers_count": 0,
        "network_count": 0,
    }
    for url_name in _REPO_URLS:
        payload[f"{url_name}_url"] = f"{api}/{url_name}"
    return payload


def label(urls: Urls, owner: str, repo: str, name: str) -> dict[str, Any]:
    label_id = zlib.crc32(name.encode()) % 1_000_000 + 1  # stable across processes, unlike hash()
    return {
        "id": label_id,
        "node_id": f"L_{label_id}",
        "url": f"{urls.api}/repos/{owner}/{repo}/labels/{name}",
        "name": name,
        "description": None,
        "color": "ededed",
        "default": False,
        "archived_at": None,
        "archived_by": None,
    }


def pull(urls: Urls, owner: str, repo: str, pr: PullState) -> dict[str, Any]:
    """Satisfies both ``PullRequest`` (get, create, update) and ``PullRequestSimple`` (list)."""
    api = f"{urls.api}/repos/{owner}/{repo}"
    html = f"{urls.html}/{owner}/{repo}/pull/{pr.number}"
    repo_payload = repository(urls, owner, repo)
    author = user(urls, "fluxcd-helm-upgrader[bot]", 2)
    links = {
        "comments": f"{api}/issues/{pr.number}/comments",
        "commits": f"{api}/pulls/{pr.number}/commits",
        "statuses": f"{api}/statuses/{pr.number:040d}",
        "html": html,
        "issue": f"{api}/issues/{pr.number}",
        "review_comments": f"{api}/pulls/{pr.number}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "self": f"{api}/pulls/{pr.number}",
    }
    return {
        "url": links["self"],
        "id": pr.id,
        "node_id": f"PR_{pr.id}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": links["issue"],
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": pr.number,
        "state": pr.state,
        "locked": False,
        "title": pr.title,
        "user": author,
        "body": pr.body,
        "labels": [label(urls, owner, repo, name) for name in pr.labels],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": pr.created_at,
        "updated_at": pr.updated_at,
        "closed_at": pr.closed_at,
        "merged_at": pr.merged_at,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [user(urls, login, 10 + i) for i, login in enumerate(pr.assignees)],
        "requested_reviewers": [user(urls, login, 100 + i) for i, login in enumerate(pr.reviewers)],
        "requested_teams": [],
        "head": {
            "label": f"{owner}:{pr.head}",
            "ref": pr.head,
            "sha": f"{pr.number:040x}",
            "repo": repo_payload,
            "user": user(urls, owner),
        },
        "base": {
            "label": f"{owner}:{pr.base}",
            "ref": pr.base,
            "sha": "0" * 40,
            "repo": repo_payload,
            "user": user(urls, owner),
        },
        "_links": {key: {"href": value} for key, value in links.items()},
        "author_association": "NONE",
        "auto_merge": None,
        "draft": pr.draft,
        "merged": pr.merged,
        "mergeable": None if pr.merged else True,
        "rebaseable": None,
        "mergeable_state": "unknown" if pr.merged else "clean",
        "merged_by": user(urls, owner) if pr.merged else None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 1,
        "deletions": 1,
        "changed_files": 1,
    }


def issue(urls: Urls, owner: str, repo: str, pr: PullState) -> dict[str, Any]:
    api = f"{urls.api}/repos/{owner}/{repo}/issues/{pr.number}"
    return {
        "id": pr.id,
        "node_id": f"I_{pr.id}",
        "url": api,
        "repository_url": f"{urls.api}/repos/{owner}/{repo}",
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": f"{urls.html}/{owner}/{repo}/pull/{pr.number}",
        "number": pr.number,
        "state": pr.state,
        "title": pr.title,
        "body": pr.body,
        "user": user(urls, "fluxcd-helm-upgrader[bot]", 2),
        "labels": [label(urls, owner, repo, name) for name in pr.labels],
        "assignee": None,
        "assignees": [user(urls, login, 10 + i) for i, login in enumerate(pr.assignees)],
        "milestone": None,
        "locked": False,
        "comments": 0,
        "closed_at": pr.closed_at,
        "created_at": pr.created_at,
        "updated_at": pr.updated_at,
        "author_association": "NONE",
    }


def comment(urls: Urls, owner: str, repo: str, pr: PullState, index: int) -> dict[str, Any]:
    """The `index`-th comment of a PR's conversation (GitHub's IssueComment)."""
    comment_id = pr.id * 1000 + index
    return {
        "id": comment_id,
        "node_id": f"IC_{comment_id}",
        "url": f"{urls.api}/repos/{owner}/{repo}/issues/comments/{comment_id}",
        "html_url": f"{urls.html}/{owner}/{repo}/pull/{pr.number}#issuecomment-{comment_id}",
        "issue_url": f"{urls.api}/repos/{owner}/{repo}/issues/{pr.number}",
        "body": pr.comments[index],
        "user": user(urls, "fluxcd-helm-upgrader[bot]", 2),
        "created_at": pr.updated_at,
        "updated_at": pr.updated_at,
        "author_association": "NONE",
    }


def installation_token(token: str, expires_at: str) -> dict[str, Any]:
    return {
        "token": token,
        "expires_at": expires_at,
        "permissions": {"pull_requests": "write"},
        "repository_selection": "all",
    }


def error(message: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "documentation_url": "https://docs.github.com/rest", **extra}
