"""Each cycle's multi-tenancy step for one UpgraderConfig (Flux's lockdown): whose identity reads its Secrets, and
what its scope may cover.

Called by `cycles.handling` before anything is read. The account is `spec.serviceAccountName`, else
UPGRADER_DEFAULT_SERVICE_ACCOUNT, of the config's own namespace (`checking.tenancy`); without either, the operator's
own identity reads, exactly as in a single-tenant install, and nothing below is asked. With an account:

* every Secret of the cycle, and of the Git worker's jobs (the account travels in the effective spec), is read by
  impersonating it (`tenancy.impersonation`);
* each namespace of the scope is cleared by a SubjectAccessReview (may the account list HelmReleases there?). A
  cluster-wide scope asks once for every namespace, and when that is refused, for each namespace that holds a
  release the operator sees. Refused namespaces leave the scope (`ScopeSpec.excluded`: their releases are neither
  checked nor named, and proposals there are OutOfScope) and are named in the Ready=False/ScopeForbidden message.

With UPGRADER_NO_CROSS_NAMESPACE_REFS=true the scope is the config's own namespace (what the spec names beyond it
is reported the same way), and each release whose chart source is in another namespace is a `CrossNamespaceRef`
failure: its source is never resolved, fetched or authenticated to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader import settings as settings_
from fluxcd_helm_upgrader.checking import tenancy as rules
from fluxcd_helm_upgrader.cycles import running
from fluxcd_helm_upgrader.cycles.resolving import Failure
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import accounts
from fluxcd_helm_upgrader.tenancy import reviews

MAX_NAMED = 10  # namespaces named in a message; the rest are counted


@dataclass(frozen=True)
class Tenancy:
    """What the cycle works with: the effective spec, the Secret reader, what was skipped and refused."""

    cfg: config_.UpgraderConfigSpec  # the account filled in (default applied), the scope narrowed
    secrets: secrets.SecretsApi  # reads as the account, or as the operator without one
    forbidden: str | None = None  # the ScopeForbidden message: the namespaces skipped and why
    refused: Mapping[str, Failure] = dataclasses.field(default_factory=dict)  # release key -> CrossNamespaceRef


class ScopeCheckForbidden(Exception):
    """The operator cannot have its SubjectAccessReviews answered (refused, or not served, as by the API emulator):
    the config is not served at all rather than with an unchecked scope (Ready=False, reason Forbidden)."""


async def settle(
    settings: settings_.Settings,
    readers: secrets.SecretsApi,
    api: client.ApiClient,
    namespace: str,
    cfg: config_.UpgraderConfigSpec,
    view: FluxView,
) -> Tenancy:
    """The tenancy of the config `cfg` of `namespace` for this cycle (see the module docstring)."""
    name = rules.account_name(cfg.service_account_name, settings.default_service_account)
    account = accounts.of(namespace, name)
    reach = rules.reach(namespace, cluster_wide=cfg.scope.cluster_wide, namespaces=cfg.scope.namespaces,
                        no_cross_namespace_refs=settings.no_cross_namespace_refs)  # fmt: skip
    scope = dataclasses.replace(cfg.scope, cluster_wide=reach.cluster_wide, namespaces=reach.namespaces)
    notes = []
    if reach.outside:
        notes.append(f"namespace(s) {_names(reach.outside)} lie outside this config's namespace {namespace} and the "
                     "operator runs with UPGRADER_NO_CROSS_NAMESPACE_REFS=true")  # fmt: skip
    if account is not None:
        refused = await _review(api, account, dataclasses.replace(cfg, scope=scope), view)
        if refused:
            notes.append(f"ServiceAccount {account} may not list HelmReleases in namespace(s) {_names(refused)}")
            scope = dataclasses.replace(scope, excluded=frozenset(refused))
    effective = dataclasses.replace(cfg, scope=scope, service_account_name=name)
    crossing = _cross_namespace_refs(effective, view) if settings.no_cross_namespace_refs else {}
    forbidden = "; ".join(notes) + ": skipped" if notes else None
    return Tenancy(effective, secrets.reader_for(readers, account), forbidden, crossing)


async def _review(
    api: client.ApiClient, account: accounts.ServiceAccount, cfg: config_.UpgraderConfigSpec, view: FluxView
) -> tuple[str, ...]:
    """The namespaces of the scope where `account` may not list HelmReleases."""
    try:
        if cfg.scope.cluster_wide and await reviews.may_list_releases(api, account, ""):
            return ()
        wanted = rules.namespaces_to_review(cluster_wide=cfg.scope.cluster_wide, namespaces=cfg.scope.namespaces,
                                            releases=running.releases_in_scope(cfg, view))  # fmt: skip
        return await reviews.refused_namespaces(api, account, wanted)
    except ApiException as error:
        if error.status == 403:
            raise ScopeCheckForbidden(
                f"the operator may not create SubjectAccessReviews to check the scope of ServiceAccount {account}: "
                "grant it `create` on subjectaccessreviews.authorization.k8s.io (deploy/lockdown/ does)"
            ) from None
        if error.status in (404, 405):
            raise ScopeCheckForbidden(
                f"this API server does not answer SubjectAccessReviews (HTTP {error.status}): the scope of "
                f"ServiceAccount {account} cannot be checked, so the config is not served"
            ) from None
        raise


def _cross_namespace_refs(cfg: config_.UpgraderConfigSpec, view: FluxView) -> dict[str, Failure]:
    refused = {}
    for release in running.releases_in_scope(cfg, view):
        source = rules.cross_namespace_source(release)
        if source is not None:
            refused[release.key] = Failure(
                reasons.CROSS_NAMESPACE_REF,
                f"{release.key}: cannot read {source.kind} {source.namespace}/{source.name}: cross-namespace "
                f"references are blocked (UPGRADER_NO_CROSS_NAMESPACE_REFS=true); use a source in {release.namespace}",
            )
    return refused


def _names(namespaces: Sequence[str]) -> str:
    shown = ", ".join(namespaces[:MAX_NAMED])
    return shown + (f" and {len(namespaces) - MAX_NAMED} more" if len(namespaces) > MAX_NAMED else "")
