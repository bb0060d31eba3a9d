"""The cycle's tenancy step (cycles/tenancy.py) with the SubjectAccessReviews answered by a fake: whose identity
reads the Secrets, which namespaces are asked about (a cluster-wide scope: once for all, then per namespace that
holds releases), what is skipped and named, which releases are refused for a cross-namespace source. The real
impersonation and reviews run against a real API server in tests/e2e/test_tenancy.py."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader import config, settings
from fluxcd_helm_upgrader.cycles import tenancy
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.structs import accounts, flux
from fluxcd_helm_upgrader.tenancy import reviews

SINGLE_TENANT = settings.Settings()
LOCKDOWN = settings.Settings(default_service_account="fluxcd-helm-upgrader", no_cross_namespace_refs=True)


class Readers:
    """A reader that can impersonate: records whom it was asked to read as."""

    def __init__(self) -> None:
        self.accounts: list[accounts.ServiceAccount] = []

    def read_namespaced_secret(self, name: str, namespace: str) -> Awaitable[Any]:
        raise AssertionError("not read in these tests")

    def as_account(self, account: accounts.ServiceAccount) -> secrets.SecretsApi:
        self.accounts.append(account)
        return self


class Reviews:
    """Answers SubjectAccessReviews from a set of (account name, namespace) allowed ("" = cluster-wide)."""

    def __init__(self, allowed: set[tuple[str, str]], error: int | None = None) -> None:
        self.allowed = allowed
        self.error = error
        self.asked: list[tuple[str, str]] = []

    async def __call__(self, api: object, account: accounts.ServiceAccount, namespace: str) -> bool:
        self.asked.append((str(account), namespace))
        if self.error:
            raise ApiException(status=self.error, reason="Forbidden")
        return (account.name, namespace) in self.allowed


def release(namespace: str, name: str, source_namespace: str | None = None) -> flux.HelmRelease:
    ref = flux.ObjectRef("HelmRepository", source_namespace or namespace, "charts")
    return flux.HelmRelease(namespace, name, chart=name, source=ref)


VIEW = FluxView(releases={(r.namespace, r.name): r for r in [
    release("team-a", "podinfo"), release("team-b", "podinfo"), release("team-b", "cache", "flux-system"),
]})  # fmt: skip


def spec(**fields: Any) -> config.UpgraderConfigSpec:
    return config.parse({"git": {"url": "https://github.com/acme/fleet.git"}, **fields})


async def settle(
    monkeypatch: pytest.MonkeyPatch, answers: Reviews, current: settings.Settings, cfg: config.UpgraderConfigSpec
) -> tuple[tenancy.Tenancy, Readers]:
    monkeypatch.setattr(reviews, "may_list_releases", answers)
    readers = Readers()
    return await tenancy.settle(current, readers, object(), "team-b", cfg, VIEW), readers  # type: ignore[arg-type]


async def test_a_single_tenant_config_asks_nothing_and_reads_as_the_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = Reviews(set())
    result, readers = await settle(monkeypatch, answers, SINGLE_TENANT, spec())
    assert (answers.asked, readers.accounts, result.forbidden, dict(result.refused)) == ([], [], None, {})
    assert result.secrets is readers and result.cfg == spec()


async def test_listed_namespaces_the_account_may_not_read_are_skipped_and_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = Reviews({("sa-b", "team-b")})
    cfg = spec(serviceAccountName="sa-b", scope={"clusterWide": False, "namespaces": ["team-a", "team-b"]})
    result, readers = await settle(monkeypatch, answers, SINGLE_TENANT, cfg)
    assert sorted(answers.asked) == [("team-b/sa-b", "team-a"), ("team-b/sa-b", "team-b")]
    assert readers.accounts == [accounts.ServiceAccount("team-b", "sa-b")]
    assert result.cfg.scope.excluded == {"team-a"}
    assert result.forbidden == "ServiceAccount team-b/sa-b may not list HelmReleases in namespace(s) team-a: skipped"


async def test_a_cluster_wide_scope_asks_once_when_the_account_may_list_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = Reviews({("sa-b", "")})
    result, _ = await settle(monkeypatch, answers, SINGLE_TENANT, spec(serviceAccountName="sa-b"))
    assert answers.asked == [("team-b/sa-b", "")]
    assert (result.forbidden, result.cfg.scope.excluded) == (None, frozenset())


async def test_a_cluster_wide_scope_then_asks_about_each_namespace_holding_releases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = Reviews({("sa-b", "team-b")})
    result, _ = await settle(monkeypatch, answers, SINGLE_TENANT, spec(serviceAccountName="sa-b"))
    assert answers.asked[0] == ("team-b/sa-b", "")
    assert sorted(answers.asked[1:]) == [("team-b/sa-b", "team-a"), ("team-b/sa-b", "team-b")]
    assert result.cfg.scope.excluded == {"team-a"}
    assert result.forbidden is not None and "in namespace(s) team-a: skipped" in result.forbidden


async def test_lockdown_applies_the_default_account_its_namespace_and_refuses_cross_namespace_sources(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = Reviews({("fluxcd-helm-upgrader", "team-b")})
    cfg = spec(scope={"clusterWide": False, "namespaces": ["team-a", "team-b"]})
    result, readers = await settle(monkeypatch, answers, LOCKDOWN, cfg)
    assert readers.accounts == [accounts.ServiceAccount("team-b", "fluxcd-helm-upgrader")]
    assert result.cfg.service_account_name == "fluxcd-helm-upgrader"  # travels to the Git worker's jobs
    assert answers.asked == [("team-b/fluxcd-helm-upgrader", "team-b")]  # team-a is out before anyone asks
    assert (result.cfg.scope.cluster_wide, result.cfg.scope.namespaces) == (False, ("team-b",))
    assert result.forbidden == (
        "namespace(s) team-a lie outside this config's namespace team-b and the operator runs with "
        "UPGRADER_NO_CROSS_NAMESPACE_REFS=true: skipped"
    )
    assert list(result.refused) == ["team-b/cache"]
    assert result.refused["team-b/cache"].reason == "CrossNamespaceRef"
    assert "HelmRepository flux-system/charts" in result.refused["team-b/cache"].message


@pytest.mark.parametrize(("status", "says"), [(403, "may not create SubjectAccessReviews"),
                                               (404, "does not answer SubjectAccessReviews")])  # fmt: skip
async def test_reviews_the_operator_cannot_get_answered_stop_the_config(
    monkeypatch: pytest.MonkeyPatch, status: int, says: str
) -> None:
    with pytest.raises(tenancy.ScopeCheckForbidden, match=says):
        await settle(monkeypatch, Reviews(set(), error=status), SINGLE_TENANT, spec(serviceAccountName="sa-b"))


async def test_more_refused_namespaces_than_a_message_holds_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"ns-{i:02}" for i in range(13)]
    cfg = spec(serviceAccountName="sa-b", scope={"clusterWide": False, "namespaces": names})
    result, _ = await settle(monkeypatch, Reviews(set()), SINGLE_TENANT, cfg)
    assert result.forbidden is not None and "ns-09 and 3 more: skipped" in result.forbidden
    assert result.cfg.scope.excluded == set(names)
