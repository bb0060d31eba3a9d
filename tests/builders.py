"""Kubernetes object bodies the tests build: UpgraderConfigs, Flux sources and releases, Secrets, UpgradeProposals;
and what a check cycle hands on (`checked`, `failed`: the entries of a `cycles.running.Outcome`).

Shared by the unit tests (bodies handed to `structs.flux`, `proposals.*`) and the e2e tests (bodies applied to the
emulator or a real API server). One builder per kind; keyword arguments override the usual defaults. The demo's
own fleet (`testkit.demo.fleet`) stays the source of the HelmRelease shape, so a test release and a demo release
never drift apart.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping
from typing import Any

from fluxcd_helm_upgrader.checking import decisions, release_age
from fluxcd_helm_upgrader.cycles import resolving, running
from fluxcd_helm_upgrader.structs import flux, kinds
from fluxcd_helm_upgrader.testkit.demo import fleet

FLUX_NAMESPACE = fleet.FLUX_NAMESPACE


def upgrader_config(name: str = "fleet", namespace: str = FLUX_NAMESPACE, **spec: Any) -> dict[str, Any]:
    """An UpgraderConfig with provider `none` on a file:// remote; `spec` keys replace the defaults."""
    body_spec: dict[str, Any] = {
        "interval": "30m",
        "git": {"url": "file:///tmp/fleet.git"},
        "pullRequests": {"provider": "none"},
    }
    body_spec.update(spec)
    return {
        "apiVersion": kinds.UPGRADER_CONFIG.api_version,
        "kind": kinds.UPGRADER_CONFIG.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": body_spec,
    }


def helm_repository(name: str, url: str, namespace: str = FLUX_NAMESPACE, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"url": url, "interval": "10m", **spec},
    }


def helm_release(
    name: str,
    chart: str,
    version: str,
    *,
    namespace: str = "apps",
    repo: str = "charts",
    repo_namespace: str = FLUX_NAMESPACE,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A HelmRelease of `chart` at `version` from a HelmRepository (the demo fleet's shape)."""
    return fleet.release(
        namespace, name, chart, version, labels=labels, repository=repo, repository_namespace=repo_namespace
    )


def release_spec(
    name: str, chart_ref: Mapping[str, str] | None = None, *, namespace: str = "apps", **chart_spec: Any
) -> dict[str, Any]:
    """A minimal HelmRelease body for `structs.flux.helm_release`: `spec.chartRef`, or `spec.chart.spec` fields."""
    spec: dict[str, Any] = {"chartRef": dict(chart_ref)} if chart_ref else {"chart": {"spec": chart_spec}}
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}


def secret_data(data: Mapping[str, bytes | str]) -> dict[str, str]:
    """Secret `data` as the API serves it: every value base64-encoded."""
    return {k: base64.b64encode(v.encode() if isinstance(v, str) else v).decode() for k, v in data.items()}


def secret(name: str, data: Mapping[str, bytes | str], namespace: str = FLUX_NAMESPACE) -> dict[str, Any]:
    """An Opaque Secret (a `type` can be set on the returned body)."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque", "data": secret_data(data)}  # fmt: skip


def upgrade_proposal(
    *,
    name: str = "apps.podinfo",
    namespace: str = FLUX_NAMESPACE,
    config: str | None = "fleet",
    owner: tuple[str, str] | None = ("fleet", "uid-1"),
    release: tuple[str, str] = ("apps", "podinfo"),
    chart: str = "podinfo",
    current: str = "6.5.0",
    target: str = "6.7.1",
    status: Mapping[str, Any] | None = None,
    generation: int | None = 1,
) -> dict[str, Any]:
    """An UpgradeProposal as the API returns it. `config` sets the config label (None: no label), `owner` the
    controller ownerReference as (config name, uid) (None: no owner, as a hand-made proposal has)."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {}}
    if config:
        meta["labels"]["helmupgrader.io/config"] = config
    if owner:
        meta["ownerReferences"] = [{"apiVersion": kinds.UPGRADER_CONFIG.api_version, "kind": kinds.UPGRADER_CONFIG.kind,
                                    "name": owner[0], "uid": owner[1], "controller": True}]  # fmt: skip
    if generation is not None:
        meta["generation"] = generation
    spec = {"configRef": {"name": config or "someone"}, "release": {"namespace": release[0], "name": release[1]},
            "chart": chart, "currentVersion": current, "targetVersion": target}  # fmt: skip
    return {"apiVersion": kinds.UPGRADE_PROPOSAL.api_version, "kind": kinds.UPGRADE_PROPOSAL.kind, "metadata": meta,
            "spec": spec, "status": dict(status) if status is not None else {"phase": "Pending"}}  # fmt: skip


def checked(
    name: str,
    current: str = "1.0.0",
    target: str | None = "2.0.0",
    *,
    namespace: str = "apps",
    held: tuple[str, ...] = (),
) -> running.Checked:
    """A release of chart `name` from an HTTP HelmRepository, checked: PROPOSE `target`, or UP_TO_DATE when None.
    `held` lists versions minimumReleaseAge held back (eligible at 2030-01-01T00:00:00Z)."""
    release = flux.HelmRelease(namespace, name)
    repository = flux.HelmRepository(FLUX_NAMESPACE, "charts", "https://charts.example.test")
    origin = resolving.Origin("HelmRepository", FLUX_NAMESPACE, "charts", repository.url)
    edited = resolving.Edited("HelmRelease", namespace, name, "spec.chart.spec.version", None)
    source = resolving.HttpChart(repository, name, current, origin, edited)
    if target is None:
        decision = decisions.Decision(decisions.Verdict.UP_TO_DATE, f"{current} is the newest", newest=current)
    else:
        decision = decisions.Decision(decisions.Verdict.PROPOSE, f"{current} -> {target}", target=target,
                                      newest=target)  # fmt: skip
    eligible = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    return running.Checked(release, source, decision, (), held=tuple(release_age.Held(v, eligible) for v in held))


def failed(name: str, reason: str, message: str, *, namespace: str = "apps") -> running.Failed:
    """A release that could not be checked, with the reason and message the config's status lists."""
    return running.Failed(flux.HelmRelease(namespace, name), resolving.Failure(reason, message))


def outcome(*entries: running.Checked | running.Failed) -> running.Outcome:
    """A cycle's outcome from checked and failed releases, in order."""
    return running.Outcome(
        tuple(e for e in entries if isinstance(e, running.Checked)),
        tuple(e for e in entries if isinstance(e, running.Failed)),
        {},
    )
