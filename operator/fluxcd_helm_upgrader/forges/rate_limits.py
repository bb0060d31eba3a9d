"""GitHub's rate limits as the whole process sees them: one gate per (API URL, credential), shared by every forge.

The worker builds a `forges.github.GitHubForge` per job, and many proposals (of many configs) may share one token.
GitHub counts calls per token, so what one call learns holds for all of them: when a response says
`x-ratelimit-remaining: 0` (the primary limit, until `x-ratelimit-reset`), or a 403/429 carries `Retry-After` (a
secondary limit), the gate of that token closes until then. `forges.retrying.call` asks the gate before every
attempt: a short wait is waited, a long one fails the call at once (`rate_limited`, no request sent), so while the
token is exhausted no proposal spends a call to learn it again, and the next cycle after the reset resumes them.

Called by `forges.github` (recording each response, asking before each call). Keys are digests: no token is kept.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping


class RateLimits:
    """When each credential may call again (epoch seconds); `now` is injectable for tests."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self._closed_until: dict[str, float] = {}

    @staticmethod
    def key(api_url: str, secret: str) -> str:
        """The gate of one credential at one API (a digest: the secret itself is not kept)."""
        return hashlib.sha256(f"{api_url.rstrip('/')}\0{secret}".encode()).hexdigest()

    def record(self, key: str, status: int, headers: Mapping[str, str]) -> None:
        """Close the gate when a response says the token is out of calls (primary or secondary limit)."""
        until = None
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining == "0" and reset is not None and reset.isdigit():
            until = float(reset)
        retry_after = headers.get("retry-after")
        if status in (403, 429) and retry_after is not None and retry_after.isdigit():
            until = max(until or 0.0, self.now() + float(retry_after))
        if until is not None and until > self.now():
            self._closed_until[key] = max(self._closed_until.get(key, 0.0), until)

    def wait(self, key: str) -> float:
        """Seconds until this credential may call again (0: now)."""
        until = self._closed_until.get(key)
        if until is None:
            return 0.0
        left = until - self.now()
        if left <= 0:
            del self._closed_until[key]
            return 0.0
        return left

    def clear(self) -> None:
        """Forget every gate (tests)."""
        self._closed_until.clear()


SHARED = RateLimits()
"""The process's gates: every GitHubForge uses them unless given its own."""
