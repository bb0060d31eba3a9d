"""SubjectAccessReviews: may a config's ServiceAccount list HelmReleases in a namespace (or cluster-wide)?

Called by `cycles.tenancy` once per namespace of a config's scope, every cycle (RBAC changes apply at the next
cycle; nothing is cached). The operator creates the review with its own identity (`create` on
subjectaccessreviews.authorization.k8s.io, which deploy/lockdown/ grants); the account's groups are sent along, so
RoleBindings to `system:serviceaccounts:<ns>` count as they would for the account's own token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from kubernetes_asyncio import client

from fluxcd_helm_upgrader.structs import accounts, kinds

CONCURRENCY = 8  # reviews in flight at once: a cluster-wide scope may have many namespaces to ask about


async def may_list_releases(api: client.ApiClient, account: accounts.ServiceAccount, namespace: str) -> bool:
    """Whether `account` may list HelmReleases in `namespace` ("" asks about every namespace at once)."""
    body = client.V1SubjectAccessReview(
        api_version="authorization.k8s.io/v1",
        kind="SubjectAccessReview",
        spec=client.V1SubjectAccessReviewSpec(
            user=account.username,
            groups=list(account.groups),
            resource_attributes=client.V1ResourceAttributes(
                group=kinds.HELM_RELEASE.group, resource=kinds.HELM_RELEASE.plural, verb="list", namespace=namespace
            ),
        ),
    )
    review = await client.AuthorizationV1Api(api).create_subject_access_review(body)
    return bool(review.status is not None and review.status.allowed)


async def refused_namespaces(
    api: client.ApiClient, account: accounts.ServiceAccount, namespaces: Iterable[str]
) -> tuple[str, ...]:
    """The namespaces among `namespaces` where `account` may not list HelmReleases, sorted."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def allowed(namespace: str) -> bool:
        async with limit:
            return await may_list_releases(api, account, namespace)

    wanted = sorted(set(namespaces))
    answers = await asyncio.gather(*(allowed(namespace) for namespace in wanted))
    return tuple(namespace for namespace, ok in zip(wanted, answers, strict=True) if not ok)
