"""The Forge protocol: what the proposal worker needs from a pull-request API, and its value types.

The serialized PR worker (``proposals/``) pushes a branch, then calls ``Forge.open_or_update`` with a
``PullRequestRequest``; it later reads ``open_pull_requests`` once per repository and asks ``get`` about a
recorded PR that left that list, to learn whether a user merged or closed it. Implementations:
``forges.github.GitHubForge`` (githubkit) and ``forges.none.NoneForge`` (push the branch only). Every failure
crosses this boundary as a ``ForgeError`` whose ``kind`` tells the caller whether retrying later can help; its
message never carries a token or a key.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, Protocol

PullRequestState = Literal["open", "closed", "merged"]
"""``closed`` means closed without merge: that target is skipped until a newer one appears."""

ResultAction = Literal["created", "updated", "pushed"]
"""``pushed``: the branch was pushed and no pull request API was used (``provider: none``)."""

ErrorKind = Literal["auth", "not_found", "rate_limited", "server", "invalid"]


@dataclasses.dataclass(frozen=True)
class PullRequest:
    """A pull request as the operator sees it (``url`` is the browser URL, GitHub's ``html_url``)."""

    number: int
    url: str
    state: PullRequestState
    head_branch: str
    title: str


@dataclasses.dataclass(frozen=True)
class PullRequestRequest:
    """What the worker wants to exist: one pull request from ``head`` into ``base``."""

    repository: str  # "owner/name"
    base: str
    head: str  # branch name only, without "owner:"
    title: str
    body: str
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    draft: bool = False


@dataclasses.dataclass(frozen=True)
class PullRequestResult:
    """The outcome of ``open_or_update``.

    ``warnings`` lists extras the forge refused (an unknown label colour, a reviewer who is not a
    collaborator) without failing the whole operation: the pull request itself exists.
    """

    action: ResultAction
    pull_request: PullRequest | None
    warnings: tuple[str, ...] = ()

    @property
    def number(self) -> int | None:
        return self.pull_request.number if self.pull_request else None

    @property
    def url(self) -> str | None:
        return self.pull_request.url if self.pull_request else None


class ForgeError(Exception):
    """A pull-request API call failed.

    ``kind``: ``auth`` (401, 403 without rate limiting: fix the secret or permissions),
    ``not_found`` (repository or pull request missing, or hidden from this token),
    ``rate_limited`` (still limited after the bounded retries; ``retry_after`` seconds if known),
    ``server`` (5xx or network trouble after the bounded retries), ``invalid`` (422 or bad input).
    """

    def __init__(
        self,
        message: str,
        kind: ErrorKind,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ForgeError({self.message!r}, kind={self.kind!r}, status={self.status!r})"


class Forge(Protocol):
    """A pull-request API bound to one repository."""

    async def find_pull_request(self, branch: str) -> PullRequest | None:
        """The open PR for ``branch`` if any, else the most recent closed or merged one, else None."""
        ...

    async def open_pull_requests(self, prefix: str) -> dict[str, PullRequest]:
        """Every open PR of the repository whose head branch (in the repository itself, not a fork) starts with
        ``prefix``, keyed by that branch: one paginated list for the whole repository, however many PRs."""
        ...

    async def open_or_update(self, request: PullRequestRequest) -> PullRequestResult:
        """Update the open PR for ``request.head`` (title, body, labels), or create one."""
        ...

    async def comment(self, number: int, body: str) -> None:
        """Add a comment to the conversation of pull request ``number``."""
        ...

    async def get(self, number: int) -> PullRequest:
        """One pull request by number; ``ForgeError(kind="not_found")`` when it does not exist."""
        ...

    async def close(self) -> None:
        """Release connections; the forge is not used afterwards."""
        ...
