"""Upgrade risk through the real operator on the emulator: status.risk, the PR's "Upgrade risk" section, the metric.

The chart server serves real packaged charts. The emulated API server's /version says v1.31.0-emulator, which is
the cluster version the target's kubeVersion is checked against, as Helm would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fluxcd_helm_upgrader.testkit.demo import fleet
from tests.e2e import harness, prs

pytestmark = pytest.mark.e2e

CURRENT_VALUES = "service:\n  port: 9898\n  type: ClusterIP\nreplicaCount: 1\n"
SCHEMA = """{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {"replicaCount": {"type": "integer", "minimum": 1}}
}"""


def crd(*versions: str) -> str:
    items = "".join(
        f"  - name: {v}\n    served: true\n    storage: {'true' if i == len(versions) - 1 else 'false'}\n"
        f"    schema:\n      openAPIV3Schema:\n        type: object\n"
        for i, v in enumerate(versions)
    )
    return (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata:\n  name: canaries.podinfo.example.com\nspec:\n  group: podinfo.example.com\n"
        f"  names: {{kind: Canary, plural: canaries}}\n  scope: Namespaced\n  versions:\n{items}"
    )


def podinfo_release(values: dict[str, Any]) -> dict[str, Any]:
    """The cluster's podinfo HelmRelease (as Flux applied it from the fleet), with spec.values."""
    labels = {"kustomize.toolkit.fluxcd.io/name": fleet.KUSTOMIZATION,
              "kustomize.toolkit.fluxcd.io/namespace": fleet.FLUX_NAMESPACE}  # fmt: skip
    body = fleet.release("apps", "podinfo", "podinfo", "6.5.0", labels=labels)
    body["spec"]["values"] = values
    return body


def risk_of(s: prs.Setup, name: str) -> dict[str, Any] | None:
    return ((s.proposal(name) or {}).get("status") or {}).get("risk")


async def test_high_risk_names_the_four_findings_in_status_and_pr(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        repo = s.charts.repos["demo"]
        repo.add("podinfo", "6.5.0", files={"values.yaml": CURRENT_VALUES, "crds/canary.yaml": crd("v1beta1", "v1")})
        repo.add(
            "podinfo",
            "6.7.1",
            files={
                "values.yaml": "service:\n  type: ClusterIP\nreplicaCount: 1\n",  # service.port is gone
                "values.schema.json": SCHEMA,
                "crds/canary.yaml": crd("v1"),  # v1beta1 removed
            },
            kube_version=">=1.32.0-0",
        )
        s.local.apply(podinfo_release({"service": {"port": 80}, "replicaCount": "two"}))
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="podinfo PR")
            await s.reconcile("count-risks")  # the next cycle counts the levels the worker wrote
            metrics = memo.services.metrics.exposition()
        risk = risk_of(s, "apps.podinfo")
        assert risk is not None
        assert risk["level"] == "High"
        compared = (risk["fromVersion"], risk["toVersion"], risk["clusterVersion"])
        assert compared == ("6.5.0", "6.7.1", "v1.31.0-emulator")
        assert [(f["type"], f.get("path")) for f in risk["findings"]] == [
            ("CRDChanged", None),
            ("KubeVersion", None),
            ("SchemaViolation", "replicaCount"),
            ("ValueRemoved", "service.port"),
        ]
        by_type = {f["type"]: f["message"] for f in risk["findings"]}
        assert "'>=1.32.0-0'" in by_type["KubeVersion"] and "v1.31.0-emulator" in by_type["KubeVersion"]
        assert "canaries.podinfo.example.com" in by_type["CRDChanged"] and "v1beta1 removed" in by_type["CRDChanged"]
        assert "upgrade.crds is Skip" in by_type["CRDChanged"]
        assert "must be of type integer, not string" in by_type["SchemaViolation"]
        assert "two" not in str(risk)  # the release's values are never echoed
        assert "risk High" in s.proposal("apps.podinfo")["status"]["message"]

        pull = next(p for p in s.github.pull_requests() if p.head == prs.PODINFO_BRANCH)
        body = pull.body or ""
        assert "### Upgrade risk: High" in body
        assert "on Kubernetes `v1.31.0-emulator`" in body
        assert "- **ValueRemoved** `service.port`: the release sets service.port" in body
        assert "- **SchemaViolation** `replicaCount`: replicaCount must be of type integer" in body
        assert "- **KubeVersion**: podinfo 6.7.1 requires kubeVersion '&gt;=1.32.0-0'" in body
        assert 'fluxcd_helm_upgrader_proposals_by_risk{config="flux-system/fleet",level="High"} 1.0' in metrics


async def test_a_minor_bump_that_only_adds_a_key_is_low(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        repo = s.charts.repos["demo"]
        repo.add("podinfo", "6.5.0", files={"values.yaml": CURRENT_VALUES, "values.schema.json": SCHEMA})
        repo.add("podinfo", "6.7.1", files={"values.yaml": CURRENT_VALUES + "podDisruptionBudget: {}\n",
                                            "values.schema.json": SCHEMA}, kube_version=">=1.25.0-0")  # fmt: skip
        s.local.apply(podinfo_release({"service": {"port": 80}, "replicaCount": 3}))
        s.local.apply(s.config())
        async with s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="podinfo PR")
        risk = risk_of(s, "apps.podinfo")
        assert risk is not None and risk["level"] == "Low"
        assert [f["type"] for f in risk["findings"]] == ["DefaultsChanged"]
        assert "1 added (podDisruptionBudget)" in risk["findings"][0]["message"]
        body = next(p for p in s.github.pull_requests() if p.head == prs.PODINFO_BRANCH).body or ""
        assert "### Upgrade risk: Low" in body and "- **DefaultsChanged**:" in body


async def test_a_chart_that_cannot_be_fetched_is_unknown_and_the_pr_is_still_opened(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        repo = s.charts.repos["demo"]
        repo.add("podinfo", "6.7.1", urls=["https://127.0.0.1:1/nowhere/podinfo-6.7.1.tgz"])
        s.local.apply(s.config())
        async with s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="podinfo PR")
        risk = risk_of(s, "apps.podinfo")
        assert risk is not None and risk["level"] == "Unknown"
        assert "could not fetch https://127.0.0.1:1/nowhere/podinfo-6.7.1.tgz" in risk["reason"]
        body = next(p for p in s.github.pull_requests() if p.head == prs.PODINFO_BRANCH).body or ""
        assert "### Upgrade risk: Unknown" in body
