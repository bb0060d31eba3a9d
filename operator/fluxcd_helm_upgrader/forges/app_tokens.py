"""GitHub App installation tokens for Git over HTTPS and the PR API; called by ``proposals.access``, whose token
provider `gitops.credentials` calls before a push.

Flux's GitRepository secrets may hold ``githubAppID``/``githubAppInstallationID``/``githubAppPrivateKey``
instead of a password. Git itself cannot use those, so the operator signs a short-lived JWT (RS256,
PyJWT, done by githubkit's ``AppAuthStrategy``), exchanges it at
``POST /app/installations/{id}/access_tokens`` and pushes with ``x-access-token:<token>``.

Tokens live one hour; each is cached per (API URL, app, installation, key) and reused until five
minutes before it expires, so a push never starts with a token about to lapse. The token is returned,
never logged; errors are ``base.ForgeError`` with no secret in the message.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Callable

import githubkit
import githubkit.cache

from fluxcd_helm_upgrader.forges import base, retrying
from fluxcd_helm_upgrader.structs import urls

REFRESH_MARGIN = datetime.timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class _Cached:
    token: str = dataclasses.field(repr=False)
    expires_at: datetime.datetime


_CACHE: dict[tuple[str, int, int, str], _Cached] = {}


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def clear_cache() -> None:
    """Forget every cached token (tests; or after a Secret changed)."""
    _CACHE.clear()


def _parse_expiry(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


async def installation_token(
    api_url: str,
    app_id: int,
    installation_id: int,
    private_key_pem: str,
    *,
    retry: retrying.RetryPolicy | None = None,
    now: Callable[[], datetime.datetime] = _utcnow,
) -> str:
    """An installation access token, from the cache while it has more than 5 minutes left."""
    if urls.sends_in_clear(api_url):
        raise base.ForgeError(urls.https_required("the GitHub App's JWT", api_url), "invalid")
    key_digest = hashlib.sha256(private_key_pem.encode()).hexdigest()
    cache_key = (api_url.rstrip("/"), int(app_id), int(installation_id), key_digest)
    cached = _CACHE.get(cache_key)
    if cached is not None and cached.expires_at - REFRESH_MARGIN > now():
        return cached.token

    github: githubkit.GitHub[githubkit.AppAuthStrategy] = githubkit.GitHub(
        githubkit.AppAuthStrategy(app_id, private_key_pem),
        base_url=api_url,
        user_agent="fluxcd-helm-upgrader",
        auto_retry=False,
        http_cache=False,
        cache_strategy=githubkit.cache.MemCacheStrategy(),
    )

    async def op() -> _Cached:
        response = await github.rest.apps.async_create_installation_access_token(installation_id)
        data = response.parsed_data
        return _Cached(data.token, _parse_expiry(data.expires_at))

    fresh: _Cached = await retrying.call(
        f"create an installation token for GitHub App {app_id} installation {installation_id}",
        op,
        retry or retrying.RetryPolicy(),
        (private_key_pem,),
    )
    _CACHE[cache_key] = fresh
    return fresh.token


__all__ = ["REFRESH_MARGIN", "clear_cache", "installation_token"]
