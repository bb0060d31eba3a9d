"""Optional webhook receiver: a Git push (or any signed call) triggers an immediate check cycle.

`services.Services.start_servers` (operator start-up) starts a `Receiver` on `Settings.webhook_port` when that is
not 0 (0 turns the receiver off) and `Services.close` stops it on shutdown. The receiver knows nothing about
Kubernetes: the caller gives it `secret_provider` (reads the shared secret from its Secret; the answer is kept for
`SECRET_TTL` seconds, so a flood of requests costs one API call per TTL and a rotated Secret applies within the TTL,
no restart) and two callbacks, `triggering.Triggers.push` and `.config`, that mark the configs for a cycle at the
next tick and say how many UpgraderConfigs they triggered.

Routes (both answer JSON):
- `POST /hook/github`: GitHub webhooks, content type JSON or form (`payload=`, GitHub's UI default).
  `X-Hub-Signature-256` must be the HMAC-SHA256 of the raw body with the shared secret. `ping` answers
  200 "pong"; a branch `push` calls `trigger(PushEvent)` and answers 202 with the count; other events,
  tag pushes and branch deletions answer 202 "ignored".
- `POST /hook/generic/{namespace}/{name}`: anything that can sign its body. `X-Signature: sha256=<hex>`
  (the same HMAC) triggers that one UpgraderConfig through `trigger_config(namespace, name)`: 202 with
  the count, or 404 when the callback triggered nothing (no such config, or suspended).

Every request is authenticated before its body is parsed: a missing signature, or one that is not
`sha256=` and 64 hex digits, answers 401 before the secret is even read (no API call for garbage); a wrong
signature answers 401 and no callback runs; an empty or unreadable secret answers 503 (an empty HMAC key
would let anyone sign). Bodies over 1 MiB answer 413. Signatures are compared in constant time. A GitHub
delivery already handled (the same `X-GitHub-Delivery`, remembered for the last `MAX_DELIVERIES` authenticated
deliveries) answers 202 "ignored": a replayed request triggers nothing. Neither the secret nor a signature is
ever logged or echoed back.

`matches_repository()` is the pure helper the trigger callback uses to find the configs whose
`spec.git.url` is the pushed repository, whichever URL form each side uses.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import hmac
import inspect
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
GITHUB_PATH = "/hook/github"
GENERIC_PATH = "/hook/generic/{namespace}/{name}"
GITHUB_SIGNATURE_HEADER = "X-Hub-Signature-256"
GENERIC_SIGNATURE_HEADER = "X-Signature"
SIGNATURE_PREFIX = "sha256="
_SIGNATURE_SHAPE = re.compile(r"^sha256=[0-9a-fA-F]{64}$")
SECRET_TTL = 30.0  # seconds the webhook Secret is kept before it is read again
MAX_DELIVERIES = 1000  # GitHub delivery ids remembered (replays of older ones are no longer recognised)
# A DNS subdomain (RFC 1123), which both namespaces and UpgraderConfig names are.
_K8S_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclasses.dataclass(frozen=True)
class PushEvent:
    """A Git push as GitHub reports it: every URL of the repository, its full name and the ref."""

    urls: tuple[str, ...]  # clone_url, ssh_url, html_url, git_url: whichever the payload had
    full_name: str  # "acme/fleet"
    ref: str  # "refs/heads/main"

    @property
    def branch(self) -> str | None:
        """The pushed branch, or None for a tag or other ref."""
        prefix = "refs/heads/"
        return self.ref[len(prefix) :] if self.ref.startswith(prefix) else None


SecretProvider = Callable[[], Awaitable[bytes]]
# Callbacks may be plain or async functions: the lead's code may only need to flag configs in memory.
PushTrigger = Callable[[PushEvent], int | Awaitable[int]]
ConfigTrigger = Callable[[str, str], int | Awaitable[int]]


class Receiver:
    """The webhook HTTP server; `app()` for tests, `start()`/`stop()` for the operator."""

    def __init__(
        self,
        *,
        secret_provider: SecretProvider,
        trigger: PushTrigger,
        trigger_config: ConfigTrigger,
        max_body_bytes: int = MAX_BODY_BYTES,
        clock: Callable[[], float] = time.monotonic,
        max_deliveries: int = MAX_DELIVERIES,
    ) -> None:
        self._secret_provider = secret_provider
        self._trigger = trigger
        self._trigger_config = trigger_config
        self._max_body_bytes = max_body_bytes
        self._runner: web.AppRunner | None = None
        self._clock = clock
        self._secret: tuple[bytes, float] | None = None  # (secret, when it was read)
        self._deliveries: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._max_deliveries = max_deliveries

    def app(self) -> web.Application:
        """The aiohttp application with both routes (aiohttp answers 405/404 for anything else)."""
        app = web.Application(client_max_size=self._max_body_bytes)
        app.router.add_post(GITHUB_PATH, self._github)
        app.router.add_post(GENERIC_PATH, self._generic)
        return app

    async def start(self, port: int, host: str = "0.0.0.0") -> int:
        """Listen on host:port and return the bound port (port 0 picks a free one, as in tests)."""
        if self._runner is not None:
            raise RuntimeError("the webhook receiver is already running")
        runner = web.AppRunner(self.app(), access_log=None)  # access lines would show paths; we log our own
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                return int(address[1])
        return port

    async def stop(self) -> None:
        """Stop listening; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # --- routes --------------------------------------------------------------------------------------

    async def _github(self, request: web.Request) -> web.Response:
        body = await self._authenticated_body(request, GITHUB_SIGNATURE_HEADER)
        event = request.headers.get("X-GitHub-Event", "")
        delivery = request.headers.get("X-GitHub-Delivery", "")[:128]
        if delivery:
            if delivery in self._deliveries:
                return _ignored(f"delivery {delivery} was already handled")
            self._deliveries[delivery] = None
            while len(self._deliveries) > self._max_deliveries:
                self._deliveries.popitem(last=False)
        if event == "ping":
            return web.json_response({"msg": "pong"}, status=200)
        if event != "push":
            logger.debug("Webhook: ignoring GitHub %r event (delivery %s).", event[:40], delivery[:64])
            return _ignored(f"event {event[:40]!r} is not handled")
        payload = _json_object(_github_json(body, request.content_type))
        push = parse_push(payload)
        if push is None:
            raise _error(web.HTTPBadRequest, "push payload without a repository")
        if payload.get("deleted") is True or push.branch is None:
            return _ignored("not a push of new commits to a branch")
        triggered = await _call(self._trigger, push)
        logger.info(
            "Webhook: push to %s %s triggered %d UpgraderConfig(s) (delivery %s).",
            push.full_name[:200], push.ref[:200], triggered, delivery[:64],
        )  # fmt: skip
        return web.json_response({"triggered": triggered}, status=202)

    async def _generic(self, request: web.Request) -> web.Response:
        await self._authenticated_body(request, GENERIC_SIGNATURE_HEADER)
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        if not (_K8S_NAME.match(namespace) and _K8S_NAME.match(name)):
            raise _error(web.HTTPNotFound, "not a Kubernetes namespace/name")
        triggered = await _call(self._trigger_config, namespace, name)
        if not triggered:
            raise _error(web.HTTPNotFound, f"no UpgraderConfig {namespace}/{name} to trigger")
        logger.info("Webhook: generic hook triggered UpgraderConfig %s/%s.", namespace, name)
        return web.json_response({"triggered": triggered}, status=202)

    async def _authenticated_body(self, request: web.Request, header: str) -> bytes:
        """The raw body, once its size and signature are checked; raises the HTTP error otherwise."""
        if request.content_length is not None and request.content_length > self._max_body_bytes:
            raise web.HTTPRequestEntityTooLarge(
                max_size=self._max_body_bytes,
                actual_size=request.content_length,
                text=_json_error("body too large"),
                content_type="application/json",
            )
        signature = request.headers.get(header)
        if not signature:
            # Checked before reading the body: an unauthenticated caller cannot make us buffer 1 MiB.
            raise _error(web.HTTPUnauthorized, f"missing {header} header")
        if not _SIGNATURE_SHAPE.match(signature.strip()):
            # Before the body and before the Secret: garbage costs neither a read nor an API call.
            raise _error(web.HTTPUnauthorized, f"{header} is not sha256=<64 hex digits>")
        body = await request.read()  # aiohttp enforces client_max_size while streaming (413)
        secret = await self._current_secret()
        if not secret:
            logger.warning("Webhook: the webhook secret is empty; refusing every request.")
            raise _error(web.HTTPServiceUnavailable, "webhook secret unavailable")
        if not verify_signature(secret, body, signature):
            logger.warning("Webhook: rejected a request to %s with a wrong signature.", request.path[:200])
            raise _error(web.HTTPUnauthorized, "signature does not match")
        return body


    async def _current_secret(self) -> bytes:
        """The webhook secret, read again once `SECRET_TTL` passed; 503 when it cannot be read."""
        now = self._clock()
        if self._secret is not None and now - self._secret[1] < SECRET_TTL:
            return self._secret[0]
        try:
            secret = await self._secret_provider()
        except Exception as error:
            # The class name only: a message might quote what was read.
            logger.warning("Webhook: cannot read the webhook secret (%s); refusing.", type(error).__name__)
            raise _error(web.HTTPServiceUnavailable, "webhook secret unavailable") from None
        self._secret = (secret, now)
        return secret


def sign(secret: bytes, body: bytes) -> str:
    """The header value a sender computes: "sha256=" and the hex HMAC-SHA256 of the body."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, signature: str) -> bool:
    """Whether `signature` ("sha256=<hex>") is the HMAC of `body` with `secret`, in constant time."""
    given = signature.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(sign(secret, body).encode("ascii"), given)


def parse_push(payload: dict[str, Any]) -> PushEvent | None:
    """The repository URLs, full name and ref of a GitHub push payload; None without a repository."""
    repository = payload.get("repository")
    if not isinstance(repository, dict):
        return None
    urls = tuple(
        value
        for key in ("clone_url", "ssh_url", "html_url", "git_url")
        if isinstance(value := repository.get(key), str) and value
    )
    full_name = repository.get("full_name")
    ref = payload.get("ref")
    if not urls:
        return None
    return PushEvent(
        urls=tuple(dict.fromkeys(urls)),
        full_name=full_name if isinstance(full_name, str) else "",
        ref=ref if isinstance(ref, str) else "",
    )


# scp-like Git address: [user@]host:path, with no scheme (git@github.com:acme/fleet.git).
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>.*)$")


def normalise_repository_url(url: str) -> tuple[str, str] | None:
    """(host, path) of a Git URL with scheme, user, port, ".git" and slashes removed, lower-cased.

    Ports are dropped because the SSH and HTTPS ports of one forge differ; paths are compared without
    case because GitHub's are case-insensitive and a false match costs only one early check cycle.
    """
    text = url.strip()
    if not text:
        return None
    if "://" in text:
        parts = urllib.parse.urlsplit(text)
        host, path = (parts.hostname or ""), parts.path
    elif match := _SCP_LIKE.match(text):
        host, path = match["host"], match["path"]
    else:
        return None
    path = path.strip("/")
    path = path.removesuffix(".git").rstrip("/")
    if not path:
        return None
    return host.lower(), path.lower()


def matches_repository(event_urls: Iterable[str], config_git_url: str) -> bool:
    """Whether any of the pushed repository's URLs names the same repository as `config_git_url`."""
    wanted = normalise_repository_url(config_git_url)
    if wanted is None:
        return False
    return any(normalise_repository_url(url) == wanted for url in event_urls)


# --- helpers ---------------------------------------------------------------------------------------------


async def _call(callback: Callable[..., int | Awaitable[int]], *args: str | PushEvent) -> int:
    result = callback(*args)
    if inspect.isawaitable(result):
        result = await result
    return int(result)


def _github_json(body: bytes, content_type: str) -> bytes:
    # GitHub's form encoding (the default when a hook is created in the web UI) wraps the same JSON in a
    # `payload` field; the signature covers the raw form body, which is why this runs after verification.
    if content_type != "application/x-www-form-urlencoded":
        return body
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return fields.get("payload", [""])[0].encode("utf-8")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise _error(web.HTTPBadRequest, "body is not JSON") from None
    if not isinstance(payload, dict):
        raise _error(web.HTTPBadRequest, "body is not a JSON object")
    return payload


def _ignored(reason: str) -> web.Response:
    return web.json_response({"triggered": 0, "ignored": reason}, status=202)


def _json_error(message: str) -> str:
    return json.dumps({"error": message})


def _error(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    # aiohttp's HTTP exceptions are responses; a JSON body keeps every answer of the receiver alike.
    return kind(text=_json_error(message), content_type="application/json")
