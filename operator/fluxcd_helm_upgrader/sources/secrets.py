"""Read one Kubernetes Secret by name and hand back its decoded bytes.

Called by `sources.auth.repo_auth_for` (and by anything else that needs a Flux-format Secret).
The operator only ever `get`s a Secret it was pointed at by name (a `secretRef`): it never lists or
watches Secrets, so its RBAC can stay at `get` on secrets.

`reader_for(api, account)` is where a config's ServiceAccount comes in (Flux's impersonation): the reader that
reads as that account (`tenancy.impersonation`), never silently the operator's own identity instead.

Errors are `SourceAuthError`s that name the namespace, Secret and key involved, never a value.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol, runtime_checkable

from fluxcd_helm_upgrader import logs
from fluxcd_helm_upgrader.structs import accounts


class SourceAuthError(Exception):
    """Credentials for a chart source could not be read or are invalid.

    The message names the Secret and key, never a value, so it is safe to log and to put into a
    status condition.
    """


class SecretForbidden(SourceAuthError):
    """The identity reading the Secret may not (403): the message names the Secret, the identity and what to grant."""


class SecretsApi(Protocol):
    """The one method of kubernetes_asyncio's `CoreV1Api` this module uses (fakes implement it)."""

    def read_namespaced_secret(self, name: str, namespace: str) -> Awaitable[Any]: ...


@runtime_checkable
class Impersonating(Protocol):
    """A reader that can also read as a ServiceAccount (`tenancy.impersonation.SecretReaders`)."""

    def read_namespaced_secret(self, name: str, namespace: str) -> Awaitable[Any]: ...
    def as_account(self, account: accounts.ServiceAccount) -> SecretsApi: ...


def reader_for(api: SecretsApi, account: accounts.ServiceAccount | None) -> SecretsApi:
    """`api` itself without an account; else the reader that reads as `account`. A reader that cannot impersonate
    refuses (SecretForbidden) rather than reading with another identity."""
    if account is None:
        return api
    if isinstance(api, Impersonating):
        return api.as_account(account)
    raise SecretForbidden(f"cannot read Secrets as ServiceAccount {account}: this reader does not impersonate")


@dataclasses.dataclass(frozen=True, repr=False)
class SecretData:
    """The decoded `data` of one Secret. `repr` shows key names only, never values."""

    namespace: str
    name: str
    data: Mapping[str, bytes]

    def __repr__(self) -> str:
        return f"SecretData({self.namespace}/{self.name}, keys={sorted(self.data)})"

    def get(self, key: str) -> bytes | None:
        """The decoded value of `key`, or None when absent."""
        return self.data.get(key)

    def require(self, key: str) -> bytes:
        """The decoded value of `key`; a clear error naming Secret and key when absent or empty."""
        value = self.data.get(key)
        if not value:
            raise SourceAuthError(f"secret {self.namespace}/{self.name} has no {key!r} key")
        return value


def _status_of(exc: BaseException) -> int | None:
    # kubernetes_asyncio's ApiException carries `.status`; checking the attribute keeps this module
    # importable and testable without the client, and avoids ever formatting the response body.
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _raw_data(secret: Any) -> Mapping[str, Any]:
    # kubernetes_asyncio returns a V1Secret model (attribute `.data`); a raw dict is accepted too.
    data = secret.get("data") if isinstance(secret, Mapping) else getattr(secret, "data", None)
    return data or {}


# Keys of Flux-format Secrets that hold no secret (masking them would hide ordinary words in logs).
_PUBLIC_KEYS = frozenset(
    {
        "username",
        "ca.crt",
        "tls.crt",
        "caFile",
        "certFile",
        "known_hosts",
        "identity.pub",
        "githubAppID",
        "githubAppInstallationID",
        "githubAppBaseURL",
    }
)


def decode(namespace: str, name: str, raw: Mapping[str, Any]) -> SecretData:
    """Decode a Secret's base64 `data` map into bytes (a Secret's `data` is always base64)."""
    decoded: dict[str, bytes] = {}
    for key, value in raw.items():
        try:
            decoded[key] = base64.b64decode(value or "", validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise SourceAuthError(f"secret {namespace}/{name}: key {key!r} is not valid base64") from None
    for key, value in decoded.items():
        # Every secret value read is masked in all later log lines, whatever logs it by mistake.
        if key not in _PUBLIC_KEYS:
            logs.remember_secret(value)
    return SecretData(namespace=namespace, name=name, data=decoded)


async def read_secret(api: SecretsApi, namespace: str, name: str) -> SecretData:
    """Get the Secret `namespace/name` and decode it.

    A missing Secret, a forbidden read or any API error becomes a `SourceAuthError` naming the
    Secret; the API's response body is deliberately not included.
    """
    try:
        secret = await api.read_namespaced_secret(name=name, namespace=namespace)
    except Exception as exc:
        status = _status_of(exc)
        if status == 404:
            raise SourceAuthError(f"secret {namespace}/{name} not found") from None
        if status == 403:
            raise SourceAuthError(
                f"not allowed to read secret {namespace}/{name} (needs RBAC 'get' on secrets)"
            ) from None
        if status is not None:
            raise SourceAuthError(f"reading secret {namespace}/{name} failed: HTTP {status}") from None
        raise
    return decode(namespace, name, _raw_data(secret))
