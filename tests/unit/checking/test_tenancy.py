"""Flux's multi-tenancy lockdown rules, pure (checking/tenancy.py): whose ServiceAccount a config reads as, which
namespaces its scope may reach with UPGRADER_NO_CROSS_NAMESPACE_REFS, which namespaces the SubjectAccessReviews
cover, and which releases reach across namespaces for their chart source."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.checking import tenancy
from fluxcd_helm_upgrader.structs import flux


@pytest.mark.parametrize(
    ("spec_name", "default", "expected"),
    [
        (None, None, None),  # single tenant: the operator's own identity
        ("sa-b", None, "sa-b"),
        (None, "fluxcd-helm-upgrader", "fluxcd-helm-upgrader"),  # UPGRADER_DEFAULT_SERVICE_ACCOUNT
        ("sa-b", "fluxcd-helm-upgrader", "sa-b"),  # the spec wins, as in Flux
    ],
)
def test_the_account_a_config_reads_as(spec_name: str | None, default: str | None, expected: str | None) -> None:
    assert tenancy.account_name(spec_name, default) == expected


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("sa-b", True),
        ("fluxcd-helm-upgrader", True),
        ("a.b-c", True),
        ("a" * 253, True),
        ("a" * 254, False),
        ("SA", False),
        ("-sa", False),
        ("sa-", False),
        ("team:sa", False),
        ("system:serviceaccount:team-a:sa-a", False),  # a name, never a username smuggling another namespace
        ("", False),
    ],
)
def test_service_account_names_are_dns_subdomains(name: str, valid: bool) -> None:
    assert tenancy.valid_account_name(name) is valid


def test_without_the_switch_the_scope_reaches_what_it_names() -> None:
    reach = tenancy.reach("team-b", cluster_wide=False, namespaces=("team-a", "team-b"), no_cross_namespace_refs=False)
    assert reach == tenancy.Reach(cluster_wide=False, namespaces=("team-a", "team-b"), outside=())
    everything = tenancy.reach("team-b", cluster_wide=True, namespaces=(), no_cross_namespace_refs=False)
    assert everything == tenancy.Reach(cluster_wide=True, namespaces=(), outside=())


def test_no_cross_namespace_refs_keeps_a_config_in_its_own_namespace() -> None:
    named = tenancy.reach("team-b", cluster_wide=False, namespaces=("team-a", "team-b"), no_cross_namespace_refs=True)
    assert named == tenancy.Reach(cluster_wide=False, namespaces=("team-b",), outside=("team-a",))
    # clusterWide means "everything I may see": its own namespace, nothing to report.
    wide = tenancy.reach("team-b", cluster_wide=True, namespaces=(), no_cross_namespace_refs=True)
    assert wide == tenancy.Reach(cluster_wide=False, namespaces=("team-b",), outside=())
    elsewhere = tenancy.reach("team-b", cluster_wide=False, namespaces=("team-a",), no_cross_namespace_refs=True)
    assert elsewhere == tenancy.Reach(cluster_wide=False, namespaces=(), outside=("team-a",))


def test_the_namespaces_a_cluster_wide_scope_reviews_are_those_holding_releases() -> None:
    releases = [flux.HelmRelease("team-b", "x"), flux.HelmRelease("team-a", "y"), flux.HelmRelease("team-a", "z")]
    assert tenancy.namespaces_to_review(cluster_wide=True, namespaces=(), releases=releases) == ("team-a", "team-b")
    # An explicit list is reviewed as written, releases or not (it is what the config asked for).
    listed = tenancy.namespaces_to_review(cluster_wide=False, namespaces=("team-c", "team-a"), releases=releases)
    assert listed == ("team-a", "team-c")


def _release(namespace: str, source: flux.ObjectRef | None, *, chart_ref: bool = False) -> flux.HelmRelease:
    return flux.HelmRelease(namespace, "app", chart="app", source=source, uses_chart_ref=chart_ref)


@pytest.mark.parametrize(
    ("release", "crossing"),
    [
        (_release("team-b", flux.ObjectRef("HelmRepository", "team-b", "charts")), None),
        (_release("team-b", flux.ObjectRef("HelmRepository", "flux-system", "charts")),
         flux.ObjectRef("HelmRepository", "flux-system", "charts")),
        (_release("team-b", flux.ObjectRef("OCIRepository", "team-a", "podinfo"), chart_ref=True),
         flux.ObjectRef("OCIRepository", "team-a", "podinfo")),
        (_release("team-b", flux.ObjectRef("HelmChart", "team-a", "podinfo"), chart_ref=True),
         flux.ObjectRef("HelmChart", "team-a", "podinfo")),
        (_release("team-b", None), None),  # nothing to read: resolving reports SourceNotFound
    ],
)  # fmt: skip
def test_a_source_in_another_namespace_is_a_cross_namespace_ref(
    release: flux.HelmRelease, crossing: flux.ObjectRef | None
) -> None:
    assert tenancy.cross_namespace_source(release) == crossing


def test_the_source_namespace_defaults_to_the_release_namespace_as_in_flux() -> None:
    source = {"kind": "HelmRepository", "name": "c"}
    body = {"metadata": {"namespace": "team-b", "name": "app"}, "spec": {"chart": {"spec": {"sourceRef": source}}}}
    assert tenancy.cross_namespace_source(flux.helm_release(body)) is None
