"""A GitHub REST API stand-in (aiohttp, 127.0.0.1, ephemeral port) for tests and the offline demo.

It serves the endpoints ``forges.github`` and ``forges.app_tokens`` use, with payloads that satisfy
githubkit's models (``testkit.github_payloads``):

    GET  /repos/{o}/{r}                          GET/POST  /repos/{o}/{r}/pulls  (head=, state=, page=)
    GET/PATCH /repos/{o}/{r}/pulls/{n}           POST /repos/{o}/{r}/pulls/{n}/requested_reviewers
    POST /repos/{o}/{r}/issues/{n}/labels        POST /repos/{o}/{r}/issues/{n}/assignees
    POST /repos/{o}/{r}/issues/{n}/comments      (kept in the PR's ``comments``)
    POST /app/installations/{id}/access_tokens   (checks the RS256 JWT with the app's public key)

All routes live under ``prefix`` (``/api/v3`` emulates GitHub Enterprise). Every request is recorded
in ``calls`` (method, path, query, JSON body, whether it carried an Authorization header, status).
Tokens are checked: the configured ``token`` or a minted installation token, else 401. Faults can be
injected for the next N calls (``fail_next``, ``rate_limit_next``, ``too_many_requests_next``), the primary rate
limit exhausted until its reset (``exhaust_rate_limit``), and
``merge``/``close`` play the user clicking the buttons; ``hold`` and ``before_answer`` let a test kill the client
in the middle of a call. Not a GitHub: no permissions model, no
pagination beyond ``per_page`` and ``page`` (with GitHub's ``Link: rel="next"``), no real merging of Git branches.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web

from fluxcd_helm_upgrader.testkit import github_payloads as payloads

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True)
class Call:
    """One recorded request. ``path`` excludes the Enterprise prefix; ``json`` is the parsed body."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    has_authorization: bool
    status: int
    at: float = dataclasses.field(default_factory=time.time)  # when it was answered (epoch seconds)


@dataclasses.dataclass(frozen=True)
class App:
    """The GitHub App the stand-in knows: JWTs must be signed by the matching private key."""

    app_id: int
    installation_id: int
    public_key_pem: str


@dataclasses.dataclass
class _Fault:
    remaining: int
    status: int
    headers: dict[str, str]
    message: str
    method: str | None = None  # only requests with this method (None: any)
    path_suffix: str | None = None  # only requests whose path ends so (None: any)
    acted: bool = False  # the request is carried out first, then answered with the fault (a gateway's 502)

    def applies(self, request: web.Request) -> bool:
        return (self.method is None or request.method == self.method) and (
            self.path_suffix is None or request.path.endswith(self.path_suffix)
        )


class GitHubStandIn:
    """Start with ``async with GitHubStandIn(...) as gh:``; ``gh.api_url`` is githubkit's base_url."""

    def __init__(
        self,
        *,
        token: str = "stand-in-token",
        repositories: tuple[str, ...] = ("acme/fleet",),
        prefix: str = "",
        app: App | None = None,
    ) -> None:
        self.token = token
        self.prefix = prefix.rstrip("/")
        self.app_config = app
        self.calls: list[Call] = []
        self.minted_tokens: list[str] = []
        self.rejected_reviewers: set[str] = set()
        """Logins answered with 422 like a non-collaborator."""
        self.pulls: dict[str, dict[int, payloads.PullState]] = {repo: {} for repo in repositories}
        self._faults: list[_Fault] = []
        self._holds: list[tuple[str, str, asyncio.Event]] = []  # (method, path suffix, released)
        self._before_answer: list[tuple[str, str, Callable[[], None]]] = []  # (method, path suffix, callback)
        self.held = asyncio.Event()  # set when a request is being held
        self._next_number = 1
        self._remaining = 5000
        self._reset_at = int(time.time()) + 3600  # x-ratelimit-reset: epoch seconds
        self._runner: web.AppRunner | None = None
        self.urls = payloads.Urls(api="", html="")

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        p = self.prefix
        app.router.add_get(p + "/repos/{owner}/{repo}", self._get_repo)
        app.router.add_get(p + "/repos/{owner}/{repo}/pulls", self._list_pulls)
        app.router.add_post(p + "/repos/{owner}/{repo}/pulls", self._create_pull)
        app.router.add_get(p + "/repos/{owner}/{repo}/pulls/{number:\\d+}", self._get_pull)
        app.router.add_patch(p + "/repos/{owner}/{repo}/pulls/{number:\\d+}", self._update_pull)
        app.router.add_post(
            p + "/repos/{owner}/{repo}/pulls/{number:\\d+}/requested_reviewers", self._request_reviewers
        )
        app.router.add_post(p + "/repos/{owner}/{repo}/issues/{number:\\d+}/labels", self._add_labels)
        app.router.add_post(p + "/repos/{owner}/{repo}/issues/{number:\\d+}/assignees", self._add_assignees)
        app.router.add_post(p + "/repos/{owner}/{repo}/issues/{number:\\d+}/comments", self._add_comment)
        app.router.add_post(p + "/app/installations/{installation:\\d+}/access_tokens", self._mint_token)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.urls = payloads.Urls(api=f"http://{host}:{port}{self.prefix}", html=f"http://{host}:{port}")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> GitHubStandIn:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        return self.urls.api

    # -- test controls ------------------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        status: int = 502,
        message: str = "Server Error",
        *,
        method: str | None = None,
        path_suffix: str | None = None,
        acted: bool = False,
    ) -> None:
        """The next ``count`` requests (optionally only those with ``method`` and a path ending in
        ``path_suffix``) get ``status`` (a 5xx by default) before anything else; with ``acted``, after the stand-in
        carried them out (GitHub created the PR, its gateway answered 502). ``count`` 0 clears faults."""
        if count == 0:
            self._faults.clear()
            return
        self._faults.append(_Fault(count, status, {}, message, method, path_suffix, acted))

    def hold(self, method: str, path_suffix: str) -> asyncio.Event:
        """Hold matching requests (they get no answer) until the returned event is set: lets a test kill the
        client in the middle of a call, e.g. between its push and its PR creation."""
        released = asyncio.Event()
        self._holds.append((method, path_suffix, released))
        return released

    def before_answer(self, method: str, path_suffix: str, callback: Callable[[], None]) -> None:
        """Run ``callback`` once, after the next matching request was handled (e.g. a PR created) and before its
        answer is sent: lets a test kill the client after GitHub acted but before the client learned the result."""
        self._before_answer.append((method, path_suffix, callback))

    def rate_limit_next(self, count: int, retry_after: int = 1, status: int = 403) -> None:
        """The next ``count`` requests hit a secondary rate limit with ``Retry-After``."""
        self._faults.append(
            _Fault(count, status, {"Retry-After": str(retry_after)}, "You have exceeded a secondary rate limit.")
        )

    def exhaust_rate_limit(self, after: int = 1, reset_in: float = 3.0) -> None:
        """The primary rate limit: ``after`` more answers succeed (the last one says ``x-ratelimit-remaining: 0``),
        then every request gets GitHub's 403 with ``x-ratelimit-remaining: 0`` until ``x-ratelimit-reset``, about
        ``reset_in`` seconds from now (a whole second, as GitHub sends it); then the budget is full again."""
        self._remaining = after
        self._reset_at = int(time.time() + reset_in) + 1

    @property
    def rate_limit_reset(self) -> int:
        """The current ``x-ratelimit-reset`` (epoch seconds)."""
        return self._reset_at

    def too_many_requests_next(self, count: int) -> None:
        """The next ``count`` requests get a bare 429 (no Retry-After)."""
        self._faults.append(_Fault(count, 429, {}, "Too Many Requests"))

    def merge(self, number: int, repository: str | None = None) -> None:
        pr = self._pull_state(repository, number)
        stamp = payloads.now()
        pr.state, pr.merged, pr.merged_at, pr.closed_at, pr.updated_at = "closed", True, stamp, stamp, stamp

    def close(self, number: int, repository: str | None = None) -> None:
        pr = self._pull_state(repository, number)
        pr.state, pr.closed_at, pr.updated_at = "closed", payloads.now(), payloads.now()

    def pull_requests(self, repository: str | None = None) -> list[payloads.PullState]:
        return list(self.pulls[repository or next(iter(self.pulls))].values())

    def _pull_state(self, repository: str | None, number: int) -> payloads.PullState:
        return self.pulls[repository or next(iter(self.pulls))][number]

    # -- plumbing -----------------------------------------------------------------------------------

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        self._remaining = max(self._remaining - 1, 0)
        all_headers = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(self._remaining),
            "x-ratelimit-reset": str(self._reset_at),
            **(headers or {}),
        }
        return web.json_response(body, status=status, headers=all_headers)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = request.path[len(self.prefix) :] if request.path.startswith(self.prefix + "/") else request.path
        response = await self._dispatch(request, handler)
        for hook in list(self._before_answer):
            method, suffix, callback = hook
            if request.method == method and request.path.endswith(suffix) and response.status < 400:
                self._before_answer.remove(hook)
                callback()
        self.calls.append(
            Call(request.method, path, dict(request.query), body, "Authorization" in request.headers, response.status)
        )
        return response

    async def _dispatch(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        for method, suffix, released in self._holds:
            if request.method == method and request.path.endswith(suffix) and not released.is_set():
                self.held.set()
                await released.wait()
                if request.transport is None or request.transport.is_closing():
                    # The client died while held (a killed operator): GitHub never got the request.
                    return self._answer(499, payloads.error("Client Closed Request"))
        if time.time() >= self._reset_at:
            self._remaining, self._reset_at = 5000, int(time.time()) + 3600
        if self._remaining == 0:
            return self._answer(403, payloads.error("API rate limit exceeded for user ID 1."))
        for fault in self._faults:
            if fault.remaining > 0 and not fault.acted and fault.applies(request):
                fault.remaining -= 1
                return self._answer(fault.status, payloads.error(fault.message), fault.headers)
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            return self._answer(404, payloads.error("Not Found"))
        except web.HTTPMethodNotAllowed:
            return self._answer(405, payloads.error("Method Not Allowed"))
        for fault in self._faults:
            if fault.remaining > 0 and fault.acted and fault.applies(request):
                fault.remaining -= 1
                return self._answer(fault.status, payloads.error(fault.message), fault.headers)
        return response

    def _check_auth(self, request: web.Request) -> web.Response | None:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        if request.path.startswith(self.prefix + "/app/"):
            if self.app_config is None or scheme.lower() != "bearer":
                return self._answer(401, payloads.error("A JSON web token could not be decoded"))
            try:
                claims = jwt.decode(
                    credential,
                    self.app_config.public_key_pem,
                    algorithms=["RS256"],
                    options={"require": ["iss", "iat", "exp"]},
                    leeway=90,
                )
            except jwt.PyJWTError:
                return self._answer(401, payloads.error("A JSON web token could not be decoded"))
            if str(claims["iss"]) != str(self.app_config.app_id):
                return self._answer(401, payloads.error("Integration not found"))
            return None
        if scheme.lower() in ("token", "bearer") and (credential == self.token or credential in self.minted_tokens):
            return None
        return self._answer(401, payloads.error("Bad credentials"))

    def _repo(self, request: web.Request) -> tuple[str, str, dict[int, payloads.PullState]]:
        owner, repo = request.match_info["owner"], request.match_info["repo"]
        if f"{owner}/{repo}" not in self.pulls:
            raise web.HTTPNotFound()
        return owner, repo, self.pulls[f"{owner}/{repo}"]

    def _pull(self, request: web.Request) -> tuple[str, str, payloads.PullState]:
        owner, repo, pulls = self._repo(request)
        number = int(request.match_info["number"])
        if number not in pulls:
            raise web.HTTPNotFound()
        return owner, repo, pulls[number]

    # -- handlers -----------------------------------------------------------------------------------

    async def _get_repo(self, request: web.Request) -> web.Response:
        owner, repo, _ = self._repo(request)
        return self._answer(200, payloads.repository(self.urls, owner, repo))

    async def _list_pulls(self, request: web.Request) -> web.Response:
        owner, repo, pulls = self._repo(request)
        state = request.query.get("state", "open")
        head = request.query.get("head")
        found = [pr for pr in pulls.values() if state == "all" or pr.state == state]
        if head:
            head_owner, _, branch = head.partition(":")
            # Real GitHub: a head without "owner:" matches nothing useful; require it like the docs.
            found = [pr for pr in found if head_owner == owner and pr.head == branch]
        found.sort(key=lambda pr: pr.number, reverse=request.query.get("direction", "desc") == "desc")
        per_page, page = int(request.query.get("per_page", "30")), int(request.query.get("page", "1"))
        start = (page - 1) * per_page
        listed = [payloads.pull(self.urls, owner, repo, pr) for pr in found[start : start + per_page]]
        following = request.url.update_query(page=page + 1)
        more = {"Link": f'<{following}>; rel="next"'} if len(found) > start + per_page else {}
        return self._answer(200, listed, more)

    async def _create_pull(self, request: web.Request) -> web.Response:
        owner, repo, pulls = self._repo(request)
        data = await request.json()
        head = str(data.get("head", "")).split(":")[-1]
        if not data.get("title") or not head or not data.get("base"):
            return self._answer(
                422,
                payloads.error(
                    "Validation Failed", errors=[{"resource": "PullRequest", "code": "missing_field", "field": "title"}]
                ),
            )
        if any(pr.head == head and pr.state == "open" for pr in pulls.values()):
            return self._answer(
                422,
                payloads.error(
                    "Validation Failed",
                    errors=[
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {owner}:{head}.",
                        }
                    ],
                ),
            )
        number = self._next_number
        self._next_number += 1
        stamp = payloads.now()
        pr = payloads.PullState(
            number=number,
            id=1000 + number,
            title=data["title"],
            body=data.get("body"),
            head=head,
            base=data["base"],
            draft=bool(data.get("draft", False)),
            created_at=stamp,
            updated_at=stamp,
        )
        pulls[number] = pr
        return self._answer(201, payloads.pull(self.urls, owner, repo, pr))

    async def _get_pull(self, request: web.Request) -> web.Response:
        owner, repo, pr = self._pull(request)
        return self._answer(200, payloads.pull(self.urls, owner, repo, pr))

    async def _update_pull(self, request: web.Request) -> web.Response:
        owner, repo, pr = self._pull(request)
        data = await request.json()
        pr.title = data.get("title", pr.title)
        pr.body = data.get("body", pr.body)
        pr.base = data.get("base", pr.base)
        if data.get("state") == "closed" and pr.state == "open":
            pr.state, pr.closed_at = "closed", payloads.now()
        elif data.get("state") == "open" and pr.state == "closed" and not pr.merged:
            pr.state, pr.closed_at = "open", None
        pr.updated_at = payloads.now()
        return self._answer(200, payloads.pull(self.urls, owner, repo, pr))

    async def _add_labels(self, request: web.Request) -> web.Response:
        owner, repo, pr = self._pull(request)
        data = await request.json()
        names = data.get("labels", []) if isinstance(data, dict) else data
        for name in names:
            name = name["name"] if isinstance(name, dict) else str(name)
            if name not in pr.labels:
                pr.labels.append(name)
        return self._answer(200, [payloads.label(self.urls, owner, repo, name) for name in pr.labels])

    async def _add_assignees(self, request: web.Request) -> web.Response:
        owner, repo, pr = self._pull(request)
        for login in (await request.json()).get("assignees", []):
            if login not in pr.assignees:
                pr.assignees.append(login)
        return self._answer(201, payloads.issue(self.urls, owner, repo, pr))

    async def _add_comment(self, request: web.Request) -> web.Response:
        owner, repo, pr = self._pull(request)
        pr.comments.append(str((await request.json()).get("body", "")))
        return self._answer(201, payloads.comment(self.urls, owner, repo, pr, len(pr.comments) - 1))

    async def _request_reviewers(self, request: web.Request) -> web.Response:
        owner, repo, pr = self._pull(request)
        data = await request.json()
        bad = [login for login in data.get("reviewers", []) if login in self.rejected_reviewers]
        if bad:
            return self._answer(
                422,
                payloads.error(
                    "Reviews may only be requested from collaborators. One or more of the users or teams "
                    f"you specified is not a collaborator of the {owner}/{repo} repository."
                ),
            )
        pr.reviewers += [r for r in data.get("reviewers", []) if r not in pr.reviewers]
        pr.team_reviewers += [t for t in data.get("team_reviewers", []) if t not in pr.team_reviewers]
        return self._answer(201, payloads.pull(self.urls, owner, repo, pr))

    async def _mint_token(self, request: web.Request) -> web.Response:
        assert self.app_config is not None  # _check_auth refused the request otherwise
        if int(request.match_info["installation"]) != self.app_config.installation_id:
            return self._answer(404, payloads.error("Not Found"))
        token = "ghs_" + secrets.token_hex(18)
        self.minted_tokens.append(token)
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        return self._answer(201, payloads.installation_token(token, expires.strftime("%Y-%m-%dT%H:%M:%SZ")))
