"""Reading Secrets as a config's ServiceAccount, as Flux's controllers impersonate `spec.serviceAccountName`.

`SecretReaders` is the operator's one Secret reader, created by `services.Services` and passed wherever a Secret is
read (the check cycle, the Git worker's `proposals.access`, the upgrade risk's chart fetches). It reads as the
operator itself, or, through `as_account` (which `sources.secrets.reader_for` calls), as a ServiceAccount: a
kubernetes-asyncio client whose every request carries `Impersonate-User: system:serviceaccount:<ns>:<name>`. The API
server then authorizes the read as that account (with the account's groups, which it adds itself for a
ServiceAccount username) after checking that the operator may `impersonate` it. One client per account, made on
first use, kept for the process (its connection pool serves later cycles) and closed at shutdown (`close`).

A 403 becomes `SecretForbidden` naming who may not do what: the account may not `get` the Secret (grant it a Role
in that namespace), or the operator may not impersonate the account (install deploy/lockdown/).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.structs import accounts

IMPERSONATE_USER = "Impersonate-User"


class SecretReaders:
    """The operator's Secret reads: as itself (`read_namespaced_secret`), or as a ServiceAccount (`as_account`)."""

    def __init__(self, configuration: client.Configuration, own: secrets.SecretsApi) -> None:
        self._configuration = configuration
        self._own = own
        self._clients: dict[accounts.ServiceAccount, client.ApiClient] = {}

    def read_namespaced_secret(self, name: str, namespace: str) -> Awaitable[Any]:
        return self._own.read_namespaced_secret(name=name, namespace=namespace)

    def as_account(self, account: accounts.ServiceAccount) -> secrets.SecretsApi:
        api = self._clients.get(account)
        if api is None:
            api = client.ApiClient(self._configuration, header_name=IMPERSONATE_USER, header_value=account.username)
            self._clients[account] = api
        return AccountSecrets(client.CoreV1Api(api), account)

    @property
    def accounts(self) -> tuple[accounts.ServiceAccount, ...]:
        """The accounts a client was made for (one each, however many reads)."""
        return tuple(self._clients)

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for api in clients:
            await api.close()


class AccountSecrets:
    """Secrets read as one ServiceAccount; a refusal is a `SecretForbidden` that says what to grant."""

    def __init__(self, core: client.CoreV1Api, account: accounts.ServiceAccount) -> None:
        self._core = core
        self.account = account

    async def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        try:
            return await self._core.read_namespaced_secret(name=name, namespace=namespace)
        except ApiException as error:
            if error.status != 403:
                raise
            raise secrets.SecretForbidden(forbidden(error, self.account, namespace, name)) from None


def forbidden(error: ApiException, account: accounts.ServiceAccount, namespace: str, name: str) -> str:
    """What a 403 on reading `namespace/name` as `account` means, in words (never the Secret's content: a 403 has
    none; the API server's message is not repeated either, only which of the two refusals it was)."""
    if _refused_impersonation(error):
        return (
            f"the operator may not impersonate ServiceAccount {account} to read secret {namespace}/{name}: grant it "
            "`impersonate` on serviceaccounts (deploy/lockdown/ does)"
        )
    return (
        f"ServiceAccount {account} may not read secret {namespace}/{name}: grant it `get` on secrets in {namespace} "
        f"(a Role and RoleBinding), and check that the ServiceAccount exists"
    )


def _refused_impersonation(error: ApiException) -> bool:
    # The impersonation filter answers 403 with details.kind "serviceaccounts" ("cannot impersonate resource ...");
    # an authorization refusal of the read itself names "secrets".
    try:
        body = json.loads(error.body) if error.body else {}
    except (TypeError, ValueError):
        return False
    details = (body.get("details") or {}) if isinstance(body, dict) else {}
    return details.get("kind") == "serviceaccounts" or "cannot impersonate" in str(body.get("message") or "")
