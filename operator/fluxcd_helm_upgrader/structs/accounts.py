"""A Kubernetes ServiceAccount as an identity: the one a config's Secrets are read as (Flux's impersonation).

A value shared by the layers that decide which account a config uses (`checking.tenancy`, `cycles.tenancy`), that
read as it (`tenancy.impersonation`, `sources.secrets`) and that carry it to the Git worker (`proposals.access`,
`proposals.risking`). The API server's username of a ServiceAccount is `system:serviceaccount:<namespace>:<name>`;
impersonating that username makes the server add the account's groups, as for the account's own token.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceAccount:
    """One ServiceAccount; `str()` is `namespace/name`, as messages show it."""

    namespace: str
    name: str

    @property
    def username(self) -> str:
        """The user the API server authenticates the account's tokens as (and what `Impersonate-User` carries)."""
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    @property
    def groups(self) -> tuple[str, ...]:
        """The groups of the account's tokens: RoleBindings to them apply to it (SubjectAccessReviews need them)."""
        return ("system:serviceaccounts", f"system:serviceaccounts:{self.namespace}", "system:authenticated")

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def of(namespace: str, name: str | None) -> ServiceAccount | None:
    """The account `name` of `namespace`, or None (the operator's own identity) when no name is given."""
    return ServiceAccount(namespace, name) if name else None
