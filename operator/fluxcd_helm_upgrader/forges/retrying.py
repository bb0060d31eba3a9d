"""Bounded retries and error mapping for githubkit calls; used by ``forges.github`` and ``forges.app_tokens``.

githubkit's own ``auto_retry`` is switched off by the callers: it sleeps up to an hour on a primary
rate limit and its sleep cannot be injected. Here instead:

- 5xx, 429 and network errors are retried with exponential backoff (``base_delay * 2**n``, capped);
- secondary rate limits (403/429 with ``Retry-After``, or ``x-ratelimit-remaining: 0``) wait exactly
  what GitHub asks, unless that is longer than ``max_delay``: then the call fails at once with
  ``kind="rate_limited"`` and ``retry_after`` set, so the serialized worker is not blocked for an hour
  and the proposal is retried on a later cycle;
- 401, 403 (not rate limited), 404 and 422 fail at once;
- at most ``max_attempts`` attempts in total: nothing is retried forever;
- before every attempt the caller's ``gate`` (``forges.rate_limits``: the token's calls are used up until its
  reset, learnt by any earlier call of the process) is asked: a wait up to ``max_delay`` is waited, a longer one
  fails at once with ``kind="rate_limited"`` and no request is sent.

Messages carry the operation, the HTTP status and GitHub's own message, then pass through
``redact`` so a secret can never leak even if a server echoed it back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import githubkit.exception as ghexc
import httpx
import jwt
import pydantic

from fluxcd_helm_upgrader import logs
from fluxcd_helm_upgrader.forges import base

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one API call; ``sleep`` is injectable so tests do not wait."""

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Sleep = asyncio.sleep


def _github_message(response: Any) -> str:
    """GitHub's ``message`` field (plus validation error details), if the body is JSON."""
    try:
        payload = response.json()
    except Exception:
        return ""
    if not isinstance(payload, dict):
        return ""
    message = str(payload.get("message") or "")
    errors = payload.get("errors")
    if isinstance(errors, list):
        details = [str(e.get("message") or e.get("code") or "") for e in errors if isinstance(e, dict)]
        details = [d for d in details if d]
        if details:
            message = f"{message} ({'; '.join(details)})" if message else "; ".join(details)
    return message


def _classify(status: int) -> base.ErrorKind:
    if status == 401 or status == 403:
        return "auth"
    if status == 404:
        return "not_found"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server"
    return "invalid"


_REASONS: dict[base.ErrorKind, str] = {
    "auth": "the token is invalid or lacks permission (pull requests: write, contents: write)",
    "not_found": "not found, or not visible to this token",
    "rate_limited": "GitHub rate limit",
    "server": "GitHub server error",
    "invalid": "GitHub rejected the request",
}


def _unwrap(exc: BaseException) -> BaseException:
    # githubkit wraps anything raised inside httpx (including a failed GitHub App token exchange
    # in its auth flow) as RequestError(exc); look through it to the real cause.
    while isinstance(exc, ghexc.RequestError) and not isinstance(exc, ghexc.RequestFailed):
        inner = exc.exc
        if not isinstance(inner, ghexc.GitHubException):
            break
        exc = inner
    return exc


async def call(
    what: str,
    operation: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    secrets: Iterable[str] = (),
    gate: Callable[[], float] | None = None,
) -> T:
    """Run ``operation`` under ``policy``; raise ``base.ForgeError`` on failure. ``what`` names it; ``gate`` says
    how many seconds the credential must still wait before any call (see the module docstring)."""
    secrets = tuple(s for s in secrets if s)

    def fail(
        message: str, kind: base.ErrorKind, status: int | None = None, retry_after: float | None = None
    ) -> base.ForgeError:
        text = logs.redact(f"{what}: {message}", secrets, min_length=8)
        return base.ForgeError(text, kind, status=status, retry_after=retry_after)

    attempt = 0
    while True:
        attempt += 1
        await _wait_for_gate(gate, policy, fail)
        try:
            return await operation()
        except base.ForgeError:
            raise
        except pydantic.ValidationError as exc:
            # The payload did not match githubkit's model: retrying will not change it.
            raise fail(f"unexpected response shape ({exc.error_count()} validation errors)", "server") from None
        except Exception as raw:
            error, delay = _decide(_unwrap(raw), attempt, policy, fail)
            if delay is None:
                raise error from None
            if attempt >= policy.max_attempts:
                raise base.ForgeError(
                    f"{error.message} (gave up after {attempt} attempts)",
                    error.kind,
                    status=error.status,
                    retry_after=error.retry_after,
                ) from None
            logger.warning(
                "%s: attempt %d/%d failed (%s), retrying in %.1fs",
                what,
                attempt,
                policy.max_attempts,
                error.kind,
                delay,
            )
            await policy.sleep(delay)


async def _wait_for_gate(
    gate: Callable[[], float] | None, policy: RetryPolicy, fail: Callable[..., base.ForgeError]
) -> None:
    """Wait while the credential's calls are used up; fail without a request when that lasts beyond max_delay."""
    pause = gate() if gate is not None else 0.0
    if pause <= 0:
        return
    if pause > policy.max_delay:
        until = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + pause))
        # The message names the reset time, not the seconds left: it stays the same for every retry until then, so
        # the proposal's status and its one Warning event are not rewritten on each cycle of the wait.
        raise fail(
            f"{_REASONS['rate_limited']}: this token's calls are used up until {until}; "
            "no request sent, retried on a later cycle",
            "rate_limited",
            None,
            pause,
        )
    logger.info("GitHub rate limit: this token's calls are used up; waiting %.1fs for the reset", pause)
    await policy.sleep(pause)


def _decide(
    exc: BaseException,
    attempt: int,
    policy: RetryPolicy,
    fail: Callable[..., base.ForgeError],
) -> tuple[base.ForgeError, float | None]:
    """The error this failure means, and the delay before retrying (None: do not retry)."""
    backoff = min(policy.base_delay * 2 ** (attempt - 1), policy.max_delay)
    if isinstance(exc, ghexc.RateLimitExceeded):
        wait = max(exc.retry_after.total_seconds(), 0.0)
        status = exc.response.status_code
        message = _github_message(exc.response.raw_response) or "rate limit exceeded"
        error = fail(
            f"HTTP {status}: {_REASONS['rate_limited']}: {message}; retry after {wait:.0f}s",
            "rate_limited",
            status,
            wait,
        )
        # Never sleep less than GitHub asked (that prolongs the limit); if it asks for longer than
        # we are willing to block, fail now and let a later cycle try again.
        return error, (wait if wait <= policy.max_delay else None)
    if isinstance(exc, ghexc.RequestFailed):
        status = exc.response.status_code
        kind = _classify(status)
        message = _github_message(exc.response.raw_response)
        error = fail(f"HTTP {status}: {_REASONS[kind]}" + (f": {message}" if message else ""), kind, status)
        return error, (backoff if kind in ("server", "rate_limited") else None)
    if isinstance(exc, ghexc.RequestError):  # includes RequestTimeout
        cause = exc.exc
        if isinstance(cause, httpx.TransportError):
            return fail(f"cannot reach GitHub: {type(cause).__name__}", "server"), backoff
        if isinstance(cause, jwt.PyJWTError | ValueError | TypeError):
            # Signing the GitHub App JWT failed: the private key is not a usable RSA PEM.
            return fail(
                f"cannot sign the GitHub App JWT ({type(cause).__name__}): check the private key", "invalid"
            ), None
        return fail(f"request failed: {type(cause).__name__}", "server"), None
    if isinstance(exc, ghexc.GitHubException):
        return fail(f"GitHub client error: {type(exc).__name__}", "invalid"), None
    # A bug or an unexpected library error: do not retry, and keep its text out (it may hold data).
    return fail(f"unexpected error: {type(exc).__name__}", "server"), None
