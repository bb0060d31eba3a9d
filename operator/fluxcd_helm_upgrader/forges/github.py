"""GitHub (and GitHub Enterprise) pull requests through githubkit; built by the proposal worker.

``GitHubForge`` is bound to one repository. It authenticates with a token (PAT or fine-grained) or as a
GitHub App installation (githubkit mints and caches the installation token). Every response is read
through githubkit's ``.parsed_data``, which is where githubkit validates payloads against its models.

Dedupe: before creating, the forge lists OPEN pull requests whose head is ``owner:branch``; if one
exists (left by an earlier run of this operator, or by another cluster sharing the repository) it is
updated in place instead of opening a second one. A 422 "already exists" from a concurrent create is
handled the same way.

Following: ``open_pull_requests`` lists the repository's open PRs once (paginated, 100 a page) and keeps those
whose head is a branch of the repository itself under the operator's prefix; the worker reads it once per
repository per cycle instead of asking about each branch.

Labels are (re)applied on every call; assignees and reviewers only when the PR is created, so a
user who removed a reviewer is not overridden on the next update. Failures to apply them (422: an
unknown user, a reviewer who is the author) are returned as warnings: the PR exists either way.

``rate_limit_remaining`` holds the last ``x-ratelimit-remaining`` header seen (for metrics). Every response is
also recorded in the process's ``forges.rate_limits`` gate of this credential, which every call asks first: once
GitHub says the token's calls are used up, no forge of the process calls with it until the reset.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import typing
from collections.abc import AsyncIterator, Mapping
from typing import Any

import githubkit
import githubkit.cache
import httpx

from fluxcd_helm_upgrader.forges import base, rate_limits, retrying

DEFAULT_API_URL = "https://api.github.com"
USER_AGENT = "fluxcd-helm-upgrader"

PAGE_SIZE = 100  # GitHub's largest page: 1,000 open PRs are 10 calls
MAX_LIST_PAGES = 100  # bounds one listing (10,000 open PRs); beyond it the per-branch lookups still work
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclasses.dataclass(frozen=True)
class TokenCredentials:
    """A personal access token or any other bearer token accepted by the REST API."""

    token: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class AppCredentials:
    """A GitHub App installation: the app id, the installation id and the app's private key (PEM)."""

    app_id: int
    installation_id: int
    private_key_pem: str = dataclasses.field(repr=False)


Credentials = TokenCredentials | AppCredentials


def credentials_from_secret(data: Mapping[str, str]) -> Credentials:
    """Credentials from a decoded Secret's ``data``: Flux's githubApp* keys, else ``token``/``password``.

    Same keys as Flux's GitRepository secrets (``githubAppID``, ``githubAppInstallationID``,
    ``githubAppPrivateKey``), so one Secret can serve both Git pushes and the PR API.
    """
    if data.get("githubAppID") or data.get("githubAppPrivateKey"):
        app_id = data.get("githubAppID", "").strip()
        installation_id = data.get("githubAppInstallationID", "").strip()
        key = data.get("githubAppPrivateKey", "")
        if not (app_id.isdigit() and installation_id.isdigit() and key.strip()):
            raise base.ForgeError(
                "a GitHub App secret needs githubAppID and githubAppInstallationID (integers) and githubAppPrivateKey",
                "invalid",
            )
        return AppCredentials(int(app_id), int(installation_id), key)
    for key in ("token", "bearerToken", "password"):
        if data.get(key):
            return TokenCredentials(data[key])
    raise base.ForgeError("the secret has no token, bearerToken, password or githubApp* keys", "invalid")


def split_repository(repository: str) -> tuple[str, str]:
    """``"owner/name"`` -> ``("owner", "name")``; ``ForgeError(kind="invalid")`` otherwise."""
    if not _REPOSITORY.match(repository):
        raise base.ForgeError(f"repository must look like owner/name, got {repository!r}", "invalid")
    owner, name = repository.split("/")
    return owner, name


def _to_pull_request(pr: Any) -> base.PullRequest:
    """githubkit's PullRequest or PullRequestSimple -> our frozen value."""
    state: base.PullRequestState
    if pr.merged_at is not None:
        state = "merged"
    elif pr.state == "open":
        state = "open"
    else:
        state = "closed"
    return base.PullRequest(number=pr.number, url=pr.html_url, state=state, head_branch=pr.head.ref, title=pr.title)


class GitHubForge:
    """``base.Forge`` for one GitHub repository."""

    def __init__(
        self,
        repository: str,
        credentials: Credentials,
        *,
        api_url: str = DEFAULT_API_URL,
        retry: retrying.RetryPolicy | None = None,
        timeout: float = 30.0,
        limits: rate_limits.RateLimits = rate_limits.SHARED,
    ) -> None:
        self.repository = repository
        self._owner, self._name = split_repository(repository)
        self._retry = retry or retrying.RetryPolicy()
        self.rate_limit_remaining: int | None = None
        """Last ``x-ratelimit-remaining`` seen on any response (None until the first one)."""
        self._secrets: tuple[str, ...]
        counted: str  # GitHub counts an App's calls per installation, a token's per token
        auth: githubkit.TokenAuthStrategy | githubkit.AppInstallationAuthStrategy
        if isinstance(credentials, TokenCredentials):
            auth = githubkit.TokenAuthStrategy(credentials.token)
            self._secrets = (credentials.token,)
            counted = credentials.token
        else:
            auth = githubkit.AppInstallationAuthStrategy(
                credentials.app_id, credentials.private_key_pem, credentials.installation_id
            )
            self._secrets = (credentials.private_key_pem,)
            counted = f"app\0{credentials.installation_id}"
        self._limits = limits
        self._gate = limits.key(api_url, counted)
        self._github: githubkit.GitHub[Any] = githubkit.GitHub(
            auth,
            base_url=api_url,
            user_agent=USER_AGENT,
            timeout=timeout,
            # Own retry loop (see forges.retrying); no HTTP cache, so a PR closed a second ago is seen.
            auto_retry=False,
            http_cache=False,
            # A private cache: githubkit's default is process-wide, and installation tokens must not
            # leak between forges (or between tests with different stand-ins).
            cache_strategy=githubkit.cache.MemCacheStrategy(),
            async_event_hooks={"response": [self._record_rate_limit]},
        )

    async def _record_rate_limit(self, response: httpx.Response) -> None:
        self._limits.record(self._gate, response.status_code, response.headers)
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.isdigit():
            self.rate_limit_remaining = int(remaining)

    async def _call(self, what: str, operation: Any) -> Any:
        return await retrying.call(
            what, operation, self._retry, self._secrets, gate=lambda: self._limits.wait(self._gate)
        )

    async def _list(self, branch: str, state: typing.Literal["open", "all"]) -> list[base.PullRequest]:
        async def op() -> list[base.PullRequest]:
            response = await self._github.rest.pulls.async_list(
                self._owner,
                self._name,
                head=f"{self._owner}:{branch}",
                state=state,
                sort="created",
                direction="desc",
                per_page=20,
            )
            # githubkit's annotation says ``list?[...]`` (its ``list`` method shadows the builtin).
            prs = typing.cast(list[Any], response.parsed_data)
            return [_to_pull_request(pr) for pr in prs]

        result: list[base.PullRequest] = await self._call(
            f"list {state} pull requests of {self.repository} for branch {branch}", op
        )
        # GitHub filters by head already; filter again so a lax server cannot hand us another branch.
        return [pr for pr in result if pr.head_branch == branch]

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[None]:
        """One httpx client (one TLS context, pooled connections) for the calls of one operation.

        Outside ``async with`` githubkit builds a client per request, and building its TLS context
        costs tens of milliseconds. githubkit keeps the client in a ContextVar, so each task (each
        concurrent operation) gets its own; a nested operation in the same task reuses the outer one.
        """
        try:
            await self._github.__aenter__()  # type: ignore[no-untyped-call]
        except RuntimeError:  # already inside a session in this task
            yield
            return
        try:
            yield
        finally:
            await self._github.__aexit__()

    async def find_pull_request(self, branch: str) -> base.PullRequest | None:
        async with self._session():
            return await self._find(branch)

    async def _find(self, branch: str) -> base.PullRequest | None:
        open_prs = await self._list(branch, "open")
        if open_prs:
            return open_prs[0]
        every = await self._list(branch, "all")
        return every[0] if every else None

    async def open_pull_requests(self, prefix: str) -> dict[str, base.PullRequest]:
        async with self._session():
            found: dict[str, base.PullRequest] = {}
            for page in range(1, MAX_LIST_PAGES + 1):
                pulls, more = await self._open_page(page)
                for label, pr in pulls:
                    if label == f"{self._owner}:{pr.head_branch}" and pr.head_branch.startswith(prefix):
                        found.setdefault(pr.head_branch, pr)
                if not more:
                    break
            return found

    async def _open_page(self, page: int) -> tuple[list[tuple[str, base.PullRequest]], bool]:
        """One page of the open PRs, oldest first, each with its head label ("owner:branch"); whether more follow
        (GitHub's ``Link: <...>; rel="next"``)."""

        async def op() -> tuple[list[tuple[str, base.PullRequest]], bool]:
            response = await self._github.rest.pulls.async_list(
                self._owner, self._name, state="open", sort="created", direction="asc", per_page=PAGE_SIZE, page=page
            )
            prs = typing.cast(list[Any], response.parsed_data)
            return [(str(pr.head.label), _to_pull_request(pr)) for pr in prs], 'rel="next"' in response.headers.get(
                "link", ""
            )

        result: tuple[list[tuple[str, base.PullRequest]], bool] = await self._call(
            f"list open pull requests of {self.repository} (page {page})", op
        )
        return result

    async def get(self, number: int) -> base.PullRequest:
        async with self._session():
            return await self._get(number)

    async def _get(self, number: int) -> base.PullRequest:
        async def op() -> base.PullRequest:
            response = await self._github.rest.pulls.async_get(self._owner, self._name, number)
            return _to_pull_request(response.parsed_data)

        result: base.PullRequest = await self._call(f"get pull request {self.repository}#{number}", op)
        return result

    async def comment(self, number: int, body: str) -> None:
        async def op() -> None:
            response = await self._github.rest.issues.async_create_comment(self._owner, self._name, number, body=body)
            response.parsed_data  # noqa: B018 - validates the payload

        async with self._session():
            await self._call(f"comment on {self.repository}#{number}", op)

    async def open_or_update(self, request: base.PullRequestRequest) -> base.PullRequestResult:
        if request.repository != self.repository:
            raise base.ForgeError(f"this forge serves {self.repository}, not {request.repository}", "invalid")
        async with self._session():
            return await self._open_or_update(request)

    async def _open_or_update(self, request: base.PullRequestRequest) -> base.PullRequestResult:
        existing = await self._list(request.head, "open")
        if existing:
            return await self._update(existing[0].number, request)
        try:
            created = await self._create(request)
        except base.ForgeError as exc:
            # Someone (another cluster, a previous attempt whose answer was lost) opened it meanwhile.
            if exc.status == 422 and "already exists" in exc.message:
                existing = await self._list(request.head, "open")
                if existing:
                    return await self._update(existing[0].number, request)
            raise
        warnings = [
            *await self._add_labels(created.number, request.labels),
            *await self._add_assignees(created.number, request.assignees),
            *await self._request_reviewers(created.number, request.reviewers),
        ]
        return base.PullRequestResult("created", created, tuple(warnings))

    async def _create(self, request: base.PullRequestRequest) -> base.PullRequest:
        async def op() -> base.PullRequest:
            response = await self._github.rest.pulls.async_create(
                self._owner,
                self._name,
                title=request.title,
                head=request.head,
                base=request.base,
                body=request.body,
                draft=request.draft,
            )
            return _to_pull_request(response.parsed_data)

        result: base.PullRequest = await self._call(
            f"create pull request {request.head} -> {request.base} in {self.repository}", op
        )
        return result

    async def _update(self, number: int, request: base.PullRequestRequest) -> base.PullRequestResult:
        async def op() -> base.PullRequest:
            response = await self._github.rest.pulls.async_update(
                self._owner, self._name, number, title=request.title, body=request.body
            )
            return _to_pull_request(response.parsed_data)

        updated: base.PullRequest = await self._call(f"update pull request {self.repository}#{number}", op)
        warnings = await self._add_labels(number, request.labels)
        return base.PullRequestResult("updated", updated, tuple(warnings))

    async def _best_effort(self, what: str, op: Any) -> list[str]:
        """Run an extra (labels, assignees, reviewers); a 422 becomes a warning, not a failure."""
        try:
            await self._call(what, op)
        except base.ForgeError as exc:
            if exc.kind == "invalid":
                return [exc.message]
            raise
        return []

    async def _add_labels(self, number: int, labels: tuple[str, ...]) -> list[str]:
        if not labels:
            return []

        async def op() -> None:
            response = await self._github.rest.issues.async_add_labels(
                self._owner, self._name, number, labels=list(labels)
            )
            response.parsed_data  # noqa: B018 - validates the payload

        return await self._best_effort(f"add labels to {self.repository}#{number}", op)

    async def _add_assignees(self, number: int, assignees: tuple[str, ...]) -> list[str]:
        if not assignees:
            return []

        async def op() -> None:
            response = await self._github.rest.issues.async_add_assignees(
                self._owner, self._name, number, assignees=list(assignees)
            )
            response.parsed_data  # noqa: B018 - validates the payload

        return await self._best_effort(f"add assignees to {self.repository}#{number}", op)

    async def _request_reviewers(self, number: int, reviewers: tuple[str, ...]) -> list[str]:
        if not reviewers:
            return []
        # "org/team" names a team (its slug after the slash); anything else is a user login.
        users = [r for r in reviewers if "/" not in r]
        teams = [r.split("/", 1)[1] for r in reviewers if "/" in r]

        async def op() -> None:
            if teams:
                response = await self._github.rest.pulls.async_request_reviewers(
                    self._owner, self._name, number, reviewers=users, team_reviewers=teams
                )
            else:
                response = await self._github.rest.pulls.async_request_reviewers(
                    self._owner, self._name, number, reviewers=users
                )
            response.parsed_data  # noqa: B018 - validates the payload

        return await self._best_effort(f"request reviewers on {self.repository}#{number}", op)

    async def close(self) -> None:
        # Clients live only for one operation (see _session): nothing to release. Kept so callers
        # need not know which forge they hold.
        return None


__all__ = [
    "AppCredentials",
    "Credentials",
    "GitHubForge",
    "TokenCredentials",
    "credentials_from_secret",
    "split_repository",
]
