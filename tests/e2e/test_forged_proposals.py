"""Proposals the operator did not make, or made for releases it no longer covers, are never pushed (issue 10,
item 3): whoever may create UpgradeProposals cannot make the operator push a branch or open a PR. Such proposals
are left alone and reported: phase Failed with reason NotOwned or OutOfScope, and one event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fluxcd_helm_upgrader.testkit.demo import fleet
from tests.e2e import harness, prs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]

KUSTOMIZE_LABELS = {"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}


def forged(name: str, *, target: str, owner_uid: str | None = None) -> dict[str, Any]:
    """A hand-made proposal for apps/podinfo that claims the config `fleet` (its label and configRef)."""
    metadata: dict[str, Any] = {"name": name, "namespace": prs.NAMESPACE, "labels": {"helmupgrader.io/config": "fleet"}}
    if owner_uid is not None:
        metadata["ownerReferences"] = [{
            "apiVersion": "helmupgrader.io/v1alpha1", "kind": "UpgraderConfig", "name": "fleet", "uid": owner_uid,
            "controller": True, "blockOwnerDeletion": True,
        }]  # fmt: skip
    return {
        "apiVersion": "helmupgrader.io/v1alpha1",
        "kind": "UpgradeProposal",
        "metadata": metadata,
        "spec": {
            "configRef": {"name": "fleet"},
            "release": {"namespace": "apps", "name": "podinfo"},
            "chart": "podinfo",
            "source": {"kind": "HelmRepository", "namespace": "flux-system", "name": "demo-charts"},
            "currentVersion": "6.5.0",
            "targetVersion": target,
        },
    }


def reason_of(body: dict[str, Any] | None) -> str | None:
    condition = harness.condition(body)
    return condition["reason"] if condition else None


async def test_forged_and_out_of_scope_proposals_are_reported_and_never_pushed(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        # The config covers only releases labelled team=b: apps/cache, not apps/podinfo.
        for namespace, name, chart, version in fleet.RELEASES:
            team = "b" if name == "cache" else "a"
            s.local.apply(fleet.release(namespace, name, chart, version, labels={**KUSTOMIZE_LABELS, "team": team}))
        config = s.config()
        config["spec"]["scope"] = {"clusterWide": True, "selector": {"matchLabels": {"team": "b"}}}
        s.local.apply(config)
        uid = s.local.get("upgraderconfigs", prs.NAMESPACE, "fleet")["metadata"]["uid"]
        # No ownerReference at all, for a release outside the scope, with a target no check allowed.
        s.local.apply(forged("apps.podinfo", target="0.0.1"))
        # An ownerReference copied from the config (its uid is readable), still outside the scope.
        s.local.apply(forged("copied-owner", target="0.0.1", owner_uid=uid))
        async with s.local.run_operator() as memo:
            await harness.wait_for(lambda: s.phase("apps.cache") == "Open", what="the real proposal's PR")
            await harness.wait_for(
                lambda: reason_of(s.proposal("apps.podinfo")) == "NotOwned"
                and reason_of(s.proposal("copied-owner")) == "OutOfScope",
                what="both forged proposals reported",
            )
            await s.reconcile("again")
            await memo.services.workers.join()
        assert [b for b in fleet.branches(s.git_url) if b.startswith("helm-upgrader/")] == [prs.CACHE_BRANCH]
        assert [p.head for p in s.github.pull_requests()] == [prs.CACHE_BRANCH]
        not_owned, out_of_scope = s.proposal("apps.podinfo"), s.proposal("copied-owner")
        assert not_owned["status"]["phase"] == out_of_scope["status"]["phase"] == "Failed"
        assert "not owned by UpgraderConfig flux-system/fleet" in not_owned["status"]["message"]
        scope_message = out_of_scope["status"]["message"]
        assert "apps/podinfo is not in the scope of UpgraderConfig flux-system/fleet" in scope_message
        # Left alone otherwise: the spec is what its author wrote.
        assert not_owned["spec"]["targetVersion"] == out_of_scope["spec"]["targetVersion"] == "0.0.1"
        events = s.local.list("events", prs.NAMESPACE)
        reported = sorted((e["involvedObject"]["name"], e["reason"]) for e in events if e["type"] == "Warning")
        # One event each, though a second cycle saw them again.
        assert reported == [("apps.podinfo", "NotOwned"), ("copied-owner", "OutOfScope")]


async def test_an_edited_target_is_never_what_gets_pushed(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.charts.repos["demo"].broken = True  # no check can allow anything: the index cannot be read
        s.local.apply(s.config())
        uid = s.local.get("upgraderconfigs", prs.NAMESPACE, "fleet")["metadata"]["uid"]
        s.local.apply(forged("apps.podinfo", target="0.0.1", owner_uid=uid))
        async with s.local.run_operator() as memo:
            await harness.wait_for(
                lambda: (s.local.get("upgraderconfigs", prs.NAMESPACE, "fleet") or {}).get("status", {}).get(
                    "failedReleases"),
                what="a cycle that could not read the index",
            )  # fmt: skip
            await s.reconcile("again")
            await memo.services.workers.join()
        assert [b for b in fleet.branches(s.git_url) if b.startswith("helm-upgrader/")] == []
        assert s.github.pull_requests() == []
