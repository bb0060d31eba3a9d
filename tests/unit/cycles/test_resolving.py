"""Resolving a HelmRelease to what is checked and which manifest field is edited, for every Flux chart shape."""

from __future__ import annotations

from typing import Any

import pytest

from fluxcd_helm_upgrader.cycles import jobs, resolving
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.proposals import targets
from fluxcd_helm_upgrader.structs import flux, proposals
from tests import builders

DIGEST = "sha256:" + "ab" * 32
K_LABELS = {"kustomize.toolkit.fluxcd.io/name": "sources", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}


def _release(chart_ref: dict[str, Any] | None = None, **chart_spec: Any) -> flux.HelmRelease:
    return flux.helm_release(builders.release_spec("web", chart_ref, **chart_spec))


def _view(*bodies: dict[str, Any]) -> FluxView:
    makers = {
        "HelmRepository": ("helm_repositories", flux.helm_repository),
        "OCIRepository": ("oci_repositories", flux.oci_repository),
        "HelmChart": ("helm_charts", flux.helm_chart),
    }
    fields: dict[str, dict[tuple[str, str], Any]] = {name: {} for name, _ in makers.values()}
    for body in bodies:
        name, make = makers[body["kind"]]
        snapshot = make(body)
        fields[name][(snapshot.namespace, snapshot.name)] = snapshot
    return FluxView(**fields)  # type: ignore[arg-type]


def _obj(kind: str, name: str, spec: dict[str, Any], namespace: str = "apps", **meta: Any) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"namespace": namespace, "name": name, **meta}, "spec": spec}


def test_oci_helm_repository_checks_the_chart_path_and_edits_the_release() -> None:
    view = _view(_obj("HelmRepository", "charts", {"type": "oci", "url": "oci://ghcr.io/acme/charts",
                                                   "insecure": True, "secretRef": {"name": "creds"}}))  # fmt: skip
    release = _release(chart="podinfo", version="6.5.0", sourceRef={"kind": "HelmRepository", "name": "charts"})
    got = resolving.resolve(release, view)
    assert isinstance(got, resolving.OciChart)
    assert str(got.ref) == "oci://ghcr.io/acme/charts/podinfo" and got.ref.insecure
    assert got.secret == ("apps", "creds")
    assert (got.current, got.writes_tag, got.digest) == ("6.5.0", False, None)
    assert got.origin == resolving.Origin("HelmRepository", "apps", "charts", "oci://ghcr.io/acme/charts")
    assert (got.edited.kind, got.edited.name, got.edited.field) == ("HelmRelease", "web", "spec.chart.spec.version")


@pytest.mark.parametrize(
    ("ref", "field", "current", "digest"),
    [
        ({"tag": "6.5.0"}, "spec.ref.tag", "6.5.0", None),
        ({"tag": "6.5.0", "digest": DIGEST}, "spec.ref.tag", "6.5.0", DIGEST),
        ({"semver": ">=6.0.0 <7.0.0", "tag": "6.5.0"}, "spec.ref.semver", ">=6.0.0 <7.0.0", None),  # semver wins
        ({}, "spec.ref.tag", "latest", None),  # Flux's default
    ],
)
def test_oci_repository_chart_ref_edits_the_oci_repository(
    ref: dict[str, str], field: str, current: str, digest: str | None
) -> None:
    view = _view(_obj("OCIRepository", "podinfo", {"url": "oci://ghcr.io/acme/charts/podinfo", "ref": ref},
                      labels=K_LABELS))  # fmt: skip
    got = resolving.resolve(_release({"kind": "OCIRepository", "name": "podinfo"}), view)
    assert isinstance(got, resolving.OciChart)
    assert (got.chart, got.current, got.digest) == ("podinfo", current, digest)
    assert got.edited == resolving.Edited("OCIRepository", "apps", "podinfo", field, ("flux-system", "sources"))
    assert got.origin.kind == "OCIRepository" and got.origin.url == "oci://ghcr.io/acme/charts/podinfo"


@pytest.mark.parametrize(
    ("ref", "says"),
    [({"digest": DIGEST}, "pins only spec.ref.digest"), ({"semver": "6.x", "digest": DIGEST}, "Flux uses the digest")],
)
def test_digest_pins_without_a_followable_version_are_unsupported(ref: dict[str, str], says: str) -> None:
    view = _view(_obj("OCIRepository", "podinfo", {"url": "oci://ghcr.io/acme/charts/podinfo", "ref": ref}))
    got = resolving.resolve(_release({"kind": "OCIRepository", "name": "podinfo"}), view)
    assert isinstance(got, resolving.Failure)
    assert got.reason == "SourceUnsupported" and says in got.message


@pytest.mark.parametrize("oci", [False, True])
def test_helm_chart_chart_ref_follows_its_repository_and_edits_the_helm_chart(oci: bool) -> None:
    url = "oci://ghcr.io/acme/charts" if oci else "https://charts.example.com"
    repo_spec = {"type": "oci", "url": url} if oci else {"url": url}
    # A HelmChart's sourceRef is local (Flux's LocalHelmChartSourceReference has no namespace): the chart lives
    # beside its HelmRepository; the release reaches it across namespaces through chartRef.namespace.
    view = _view(
        _obj("HelmRepository", "charts", repo_spec, namespace="flux-system"),
        _obj("HelmChart", "web-chart", {"chart": "podinfo", "version": "6.x",
                                        "sourceRef": {"kind": "HelmRepository", "name": "charts"}},
             namespace="flux-system"),
    )  # fmt: skip
    got = resolving.resolve(_release({"kind": "HelmChart", "name": "web-chart", "namespace": "flux-system"}), view)
    assert isinstance(got, resolving.OciChart if oci else resolving.HttpChart)
    assert (got.chart, got.current) == ("podinfo", "6.x")
    assert got.origin == resolving.Origin("HelmChart", "flux-system", "web-chart", url)
    assert (got.edited.kind, got.edited.name, got.edited.field) == ("HelmChart", "web-chart", "spec.version")


def test_a_helm_chart_source_is_always_in_the_charts_namespace() -> None:
    """Flux has no sourceRef.namespace on a HelmChart (a real API server prunes it); a stray one is not followed."""
    view = _view(
        _obj("HelmRepository", "charts", {"url": "https://charts.example.com"}, namespace="flux-system"),
        _obj("HelmChart", "web-chart", {"chart": "podinfo", "version": "6.x",
                                        "sourceRef": {"kind": "HelmRepository", "name": "charts",
                                                      "namespace": "flux-system"}}),
    )  # fmt: skip
    got = resolving.resolve(_release({"kind": "HelmChart", "name": "web-chart"}), view)
    assert isinstance(got, resolving.Failure) and got.reason == "SourceNotFound", got
    assert "apps/charts" in got.message


@pytest.mark.parametrize(
    ("bodies", "chart_ref", "reason"),
    [
        ((), {"kind": "OCIRepository", "name": "missing"}, "SourceNotFound"),
        ((_obj("OCIRepository", "x", {"url": "https://not-oci", "ref": {"tag": "1.0.0"}}),),
         {"kind": "OCIRepository", "name": "x"}, "SourceUnsupported"),
        ((_obj("OCIRepository", "x", {"url": "oci://r.io/a/b", "provider": "aws", "ref": {"tag": "1.0.0"}}),),
         {"kind": "OCIRepository", "name": "x"}, "SourceUnsupported"),
        ((_obj("HelmChart", "c", {"chart": "p", "version": "1.0.0", "sourceRef": {"kind": "GitRepository",
                                                                                 "name": "g"}}),),
         {"kind": "HelmChart", "name": "c"}, "SourceUnsupported"),
    ],
)  # fmt: skip
def test_unresolvable_chart_refs_say_why(
    bodies: tuple[dict[str, Any], ...], chart_ref: dict[str, str], reason: str
) -> None:
    got = resolving.resolve(_release(chart_ref), _view(*bodies))
    assert isinstance(got, resolving.Failure) and got.reason == reason
    assert got.message.startswith("apps/web: ")


def test_plans_from_a_proposal_spec() -> None:
    spec = {"release": {"namespace": "apps", "name": "web"}, "currentVersion": "6.x", "targetVersion": "7.x",
            "source": {"kind": "HelmRepository", "namespace": "flux-system", "name": "charts"}}  # fmt: skip
    plan = _plan(spec)
    assert plan == targets.EditPlan("HelmRelease", "apps", "web", "spec.chart.spec.version", "6.x", "7.x")
    chart = _plan({**spec, "source": {"kind": "HelmChart", "namespace": "apps", "name": "web-chart"}})
    assert chart is not None and (chart.kind, chart.name, chart.field) == ("HelmChart", "web-chart", "spec.version")
    # An OCIRepository may pin a digest the spec does not record: only a cycle's plan is safe.
    assert _plan({**spec, "source": {"kind": "OCIRepository", "namespace": "apps", "name": "x"}}) is None
    assert _plan({**spec, "currentVersion": "*"}).current is None  # type: ignore[union-attr]


def _plan(spec: dict[str, Any]) -> targets.EditPlan | None:
    """The plan `targets.from_spec` makes of a proposal with this spec, read as the worker reads it."""
    return targets.from_spec(proposals.upgrade_proposal({"spec": spec}).spec)


def test_repo_path_of_a_flux_kustomization() -> None:
    assert jobs.repo_path("./apps/staging/") == "apps/staging"
    assert jobs.repo_path("./") == "."
    assert jobs.repo_path("/apps//prod") == "apps/prod"  # Flux reads an absolute spec.path from the source root
    assert jobs.repo_path("./apps/../../etc") == "../etc"  # kept: the locator reports it as outside
