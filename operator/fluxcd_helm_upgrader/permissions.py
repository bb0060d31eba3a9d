"""Every Kubernetes API call the operator makes, as the RBAC it needs: the source of truth for deploy/'s roles.

Nothing imports this module at run time. tests/unit/deploy/test_permissions.py renders deploy/, deploy/namespaced/
and deploy/lockdown/ with `kubectl kustomize` and checks that each install's ClusterRole (and each namespaced Role)
grants every entry `granted(install)` lists and nothing more, and that every kubernetes-asyncio call in the package
is listed in `CLIENT_CALLS`. So a new API call fails a test until it is written down here and granted in deploy/.

Two installs differ in how Secrets are read (`Install`): the default one (deploy/, deploy/namespaced/) reads them
with the operator's own `get`; lockdown (deploy/lockdown/, Flux's multi-tenancy lockdown) has no `get` on Secrets
but the webhook's in its own namespace, and reads every Secret a config uses by impersonating the config's
ServiceAccount (`impersonate` on serviceaccounts: an `Impersonate-User` header on the read, not a call of its own)
after a SubjectAccessReview per scope namespace (`create` on subjectaccessreviews).

Who calls what:

* Kopf (kopf 1.45, `standalone=True`, so no peering objects):
  - lists and watches every kind that has a handler: the five Flux kinds (`@kopf.index` in handlers/flux.py)
    and UpgraderConfigs (`@kopf.timer` in handlers/configs.py);
  - patches UpgraderConfigs: the `helmupgrader.io/finalizer` finalizer (timers need one) and its progress
    annotations, and, through the `/status` subresource, the status the timer returns (`patch.status`);
  - posts core/v1 Events for `kopf.event(...)` (handlers/configs.py); Kopf always POSTs a new Event with a
    generated name, it never patches or lists them, and it never uses events.k8s.io;
  - lists and watches CustomResourceDefinitions cluster-wide to notice CRDs installed or changed after it
    started (kopf/_core/reactor/observation.py); API discovery (/api, /apis) needs no RBAC.
* Our own client (kubernetes-asyncio):
  - proposals/store.py: list (by label), get, create, patch (merge patch), patch `/status`, delete on
    UpgradeProposals. Created proposals carry an ownerReference to their UpgraderConfig with
    `blockOwnerDeletion: true`, which the OwnerReferencesPermissionEnforcement admission plugin (on by
    default in OpenShift) allows only to whoever may `update` the owner's `/finalizers`;
  - kube_events.py (the PR worker, proposals/processing.py, which runs outside Kopf's handler context): create
    one core/v1 Event per proposal transition, like Kopf's;
  - sources/secrets.py (via cycles/handling.py, cycles/oci_checks.py, sources/auth.py, sources/charts.py and
    proposals/access.py): get one Secret by the name a `secretRef` gives; services.py reads the webhook's Secret
    in the operator's own namespace. Never list or watch: the operator cannot read Secrets nobody pointed it at.
    With a config's ServiceAccount the same `get` goes out with `Impersonate-User` (tenancy/impersonation.py);
  - tenancy/reviews.py (via cycles/tenancy.py): create a SubjectAccessReview per namespace of a config's scope when
    the config has a ServiceAccount (lockdown);
  - proposals/risking.py: GET `/version` (the cluster's version for the upgrade risk), a non-resource URL that the
    default `system:public-info-viewer` ClusterRole opens to every client: nothing to grant.

What is not granted on purpose (`NOT_GRANTED`): in namespaced mode Kopf also lists and watches Namespaces (for
namespace patterns) and watches CRDs, both cluster-wide. The namespaced install (deploy/namespaced/) grants neither,
so Kopf's scanning has to be off in that mode (`settings.scanning.disabled`): Kopf 1.45 retries a refused request
with its error backoffs (about 54 s) before falling back to the namespaces given on the command line, which
delays the first cycle by a minute (tests/unit/deploy/test_rbac_live.py measures it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from fluxcd_helm_upgrader.structs import kinds


class Scope(enum.Enum):
    """Where a permission has to be granted."""

    # Needed in every namespace the operator watches: a namespaced Role there is enough.
    NAMESPACED = "namespaced"
    # A cluster-scoped resource: only a ClusterRole can grant it. The namespaced variant leaves these out, and
    # the operator degrades as the note says.
    CLUSTER = "cluster"
    # Only in the operator's own namespace (a Role there).
    OWN_NAMESPACE = "own-namespace"


class Install(enum.Enum):
    """Which install grants a permission: how the operator reads Secrets differs between them."""

    DEFAULT = "default"  # deploy/ and deploy/namespaced/: Secrets read with the operator's own identity
    LOCKDOWN = "lockdown"  # deploy/lockdown/: Secrets read as each config's ServiceAccount


BOTH = frozenset(Install)


@dataclass(frozen=True)
class Permission:
    """One RBAC rule the operator needs: group, resource (or `resource/subresource`), verbs, and why."""

    api_group: str
    resource: str
    verbs: tuple[str, ...]
    scope: Scope
    note: str
    installs: frozenset[Install] = BOTH


READ_ONLY = ("get", "list", "watch")


def _flux(kind: kinds.Kind) -> Permission:
    # Kopf lists and watches; `get` adds nothing to what `list` already shows and keeps `kubectl auth can-i`
    # and debugging honest. Never anything that writes: the operator does not touch Flux objects.
    return Permission(
        kind.group,
        kind.plural,
        READ_ONLY,
        Scope.NAMESPACED,
        f"Kopf index over {kind.kind} (handlers/flux.py): list + watch; read-only, Flux objects are never written",
    )


PERMISSIONS: tuple[Permission, ...] = (
    *(_flux(kind) for kind in kinds.FLUX_KINDS),
    Permission(
        kinds.UPGRADER_CONFIG.group,
        kinds.UPGRADER_CONFIG.plural,
        ("get", "list", "watch", "patch"),
        Scope.NAMESPACED,
        "Kopf timer (handlers/configs.py): list + watch, patch for its finalizer and progress annotations; "
        "users create and delete configs, the operator never does",
    ),
    Permission(
        kinds.UPGRADER_CONFIG.group,
        f"{kinds.UPGRADER_CONFIG.plural}/status",
        ("patch",),
        Scope.NAMESPACED,
        "Kopf writes the timer's status patch (Ready condition, lastCheckTime) through the status subresource",
    ),
    Permission(
        kinds.UPGRADER_CONFIG.group,
        f"{kinds.UPGRADER_CONFIG.plural}/finalizers",
        ("update",),
        Scope.NAMESPACED,
        "proposals carry blockOwnerDeletion ownerReferences to their config; OwnerReferencesPermissionEnforcement "
        "admits that only for who may update the owner's finalizers",
    ),
    Permission(
        kinds.UPGRADE_PROPOSAL.group,
        kinds.UPGRADE_PROPOSAL.plural,
        ("get", "list", "watch", "create", "patch", "delete"),
        Scope.NAMESPACED,
        "proposals/store.py: list by label, get, create, merge-patch spec, delete on withdrawal; "
        "watch for Kopf handlers on proposals",
    ),
    Permission(
        kinds.UPGRADE_PROPOSAL.group,
        f"{kinds.UPGRADE_PROPOSAL.plural}/status",
        ("patch",),
        Scope.NAMESPACED,
        "proposals/store.py patch_status: phase, pull request, conditions",
    ),
    Permission(
        "",
        "events",
        ("create",),
        Scope.NAMESPACED,
        "one core/v1 Event per transition on configs and proposals, in their namespace: kopf.event() in "
        "handlers, kube_events.post from the PR worker; never patched, listed or sent to events.k8s.io",
    ),
    Permission(
        "",
        "secrets",
        ("get",),
        Scope.NAMESPACED,
        "sources/secrets.py read_secret: one Secret named by a secretRef (Git, pull requests, chart sources); "
        "never list or watch",
        frozenset({Install.DEFAULT}),
    ),
    Permission(
        "",
        "secrets",
        ("get",),
        Scope.OWN_NAMESPACE,
        "services.py: the webhook Secret (UPGRADER_WEBHOOK_SECRET) of the operator's own namespace, by name; every "
        "other Secret is read as a config's ServiceAccount",
        frozenset({Install.LOCKDOWN}),
    ),
    Permission(
        "",
        "serviceaccounts",
        ("impersonate",),
        Scope.NAMESPACED,
        "tenancy/impersonation.py: every Secret a config uses is read with Impersonate-User set to its "
        "spec.serviceAccountName (or UPGRADER_DEFAULT_SERVICE_ACCOUNT) of its own namespace",
        frozenset({Install.LOCKDOWN}),
    ),
    Permission(
        "authorization.k8s.io",
        "subjectaccessreviews",
        ("create",),
        Scope.CLUSTER,
        "tenancy/reviews.py: may the config's ServiceAccount list HelmReleases in each namespace of its scope?",
        frozenset({Install.LOCKDOWN}),
    ),
    Permission(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        ("list", "watch"),
        Scope.CLUSTER,
        "Kopf's resource observer notices CRDs installed after start-up (e.g. Flux installed later); without it "
        "Kopf logs a warning and only sees the CRDs present at start-up",
    ),
)

NOT_GRANTED: tuple[Permission, ...] = (
    Permission(
        "",
        "namespaces",
        ("list", "watch"),
        Scope.CLUSTER,
        "only in namespaced mode Kopf lists and watches namespaces to match namespace patterns; the operator "
        "needs exact names only (--namespace), so Kopf's scanning is to be off in that mode instead",
    ),
)

# Every kubernetes-asyncio method the package calls (outside testkit/: the API emulator and the demo), with the
# permission that covers it as "group/resource verb". The test scans the source for such calls and fails on one
# missing here.
CLIENT_CALLS: dict[str, str] = {
    "list_namespaced_custom_object": f"{kinds.GROUP}/{kinds.UPGRADE_PROPOSAL.plural} list",
    "get_namespaced_custom_object": f"{kinds.GROUP}/{kinds.UPGRADE_PROPOSAL.plural} get",
    "create_namespaced_custom_object": f"{kinds.GROUP}/{kinds.UPGRADE_PROPOSAL.plural} create",
    "patch_namespaced_custom_object": f"{kinds.GROUP}/{kinds.UPGRADE_PROPOSAL.plural} patch",
    "patch_namespaced_custom_object_status": f"{kinds.GROUP}/{kinds.UPGRADE_PROPOSAL.plural}/status patch",
    "delete_namespaced_custom_object": f"{kinds.GROUP}/{kinds.UPGRADE_PROPOSAL.plural} delete",
    "read_namespaced_secret": "/secrets get",
    "create_namespaced_event": "/events create",
    "create_subject_access_review": "authorization.k8s.io/subjectaccessreviews create",
}


def granted(install: Install) -> tuple[Permission, ...]:
    """The permissions `install` grants (its ClusterRole or Roles, and Roles in the operator's own namespace)."""
    return tuple(p for p in PERMISSIONS if install in p.installs)


def covers(permission: Permission, api_group: str, resource: str, verb: str) -> bool:
    """Whether `permission` allows `verb` on `api_group`/`resource` (resource may name a subresource)."""
    return permission.api_group == api_group and permission.resource == resource and verb in permission.verbs


def needed(api_group: str, resource: str, verb: str) -> Permission | None:
    """The entry of `PERMISSIONS` that allows this request (in some install), or None when the operator never makes
    it."""
    return next((p for p in PERMISSIONS if covers(p, api_group, resource, verb)), None)
