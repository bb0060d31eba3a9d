"""Reading Secrets as a config's ServiceAccount (tenancy/impersonation.py, sources/secrets.reader_for): the client
sends `Impersonate-User`, one client per account, closed at shutdown; a refusal names who may not do what; a
reader that cannot impersonate refuses instead of reading as the operator. The API server's side of it is proven in
tests/e2e/test_tenancy.py."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.structs import accounts
from fluxcd_helm_upgrader.tenancy import impersonation

SA_B = accounts.ServiceAccount("team-b", "sa-b")


class Own:
    def __init__(self) -> None:
        self.reads: list[tuple[str, str]] = []

    async def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        self.reads.append((namespace, name))
        return {"data": {}}


class Refusing:
    """A CoreV1Api stand-in whose read is refused with the API server's 403 body."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def read_namespaced_secret(self, name: str, namespace: str) -> Awaitable[Any]:
        error = ApiException(status=403, reason="Forbidden")
        error.body = json.dumps(self.body)
        raise error


def test_the_account_is_the_api_servers_service_account_user() -> None:
    assert SA_B.username == "system:serviceaccount:team-b:sa-b"
    assert SA_B.groups == ("system:serviceaccounts", "system:serviceaccounts:team-b", "system:authenticated")
    assert accounts.of("team-b", None) is None and accounts.of("team-b", "sa-b") == SA_B


async def test_one_impersonating_client_per_account_closed_at_shutdown() -> None:
    own = Own()
    readers = impersonation.SecretReaders(client.Configuration(host="https://127.0.0.1:1"), own)
    first, again = readers.as_account(SA_B), readers.as_account(SA_B)
    other = readers.as_account(accounts.ServiceAccount("team-a", "sa-a"))
    assert readers.accounts == (SA_B, accounts.ServiceAccount("team-a", "sa-a"))
    headers = [reader._core.api_client.default_headers for reader in (first, again, other)]  # type: ignore[attr-defined]
    assert headers[0]["Impersonate-User"] == "system:serviceaccount:team-b:sa-b"
    assert headers[0] is headers[1], "the same client (and connection pool) serves every read as one account"
    assert headers[2]["Impersonate-User"] == "system:serviceaccount:team-a:sa-a"
    await secrets.read_secret(readers, "fluxcd-helm-upgrader", "webhook")
    assert own.reads == [("fluxcd-helm-upgrader", "webhook")], "no account: the operator's own client"
    await readers.close()
    assert readers.accounts == ()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"kind": "Status", "reason": "Forbidden", "details": {"name": "git", "kind": "secrets"},
          "message": 'secrets "git" is forbidden: User "system:serviceaccount:team-b:sa-b" cannot get resource'},
         "ServiceAccount team-b/sa-b may not read secret team-b/git: grant it `get` on secrets in team-b"),
        ({"kind": "Status", "reason": "Forbidden", "details": {"name": "sa-b", "kind": "serviceaccounts"},
          "message": 'serviceaccounts "sa-b" is forbidden: User "op" cannot impersonate resource "serviceaccounts"'},
         "the operator may not impersonate ServiceAccount team-b/sa-b to read secret team-b/git: grant it "
         "`impersonate` on serviceaccounts (deploy/lockdown/ does)"),
    ],
)  # fmt: skip
async def test_a_refusal_says_who_may_not_do_what(body: dict[str, Any], says: str) -> None:
    reader = impersonation.AccountSecrets(Refusing(body), SA_B)  # type: ignore[arg-type]
    with pytest.raises(secrets.SecretForbidden) as caught:
        await secrets.read_secret(reader, "team-b", "git")
    assert str(caught.value).startswith(says), str(caught.value)
    assert "User" not in str(caught.value), "the API server's words are not repeated"


async def test_a_reader_that_cannot_impersonate_refuses_instead_of_reading_as_the_operator() -> None:
    own = Own()
    assert secrets.reader_for(own, None) is own
    with pytest.raises(secrets.SecretForbidden, match="does not impersonate"):
        secrets.reader_for(own, SA_B)
    assert own.reads == []
