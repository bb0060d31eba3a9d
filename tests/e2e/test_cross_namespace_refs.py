"""UPGRADER_NO_CROSS_NAMESPACE_REFS=true, as Flux's --no-cross-namespace-refs (issue 10, item 6): a config sees only
the releases of its own namespace, and a HelmRelease whose chart source lives in another namespace is reported in
status.failedReleases (reason CrossNamespaceRef) and not read: neither its index nor its credentials Secret. The
release beside it, with a source of its own namespace, gets its proposal.

Runs on both backends: the switch needs neither impersonation nor SubjectAccessReviews. The cross-namespace
source names a Secret that does not exist and a chart repository the chart server was never asked for, so a read
would show as AuthFailed and in the server's log; on the real API server the audit log shows no Secret read there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxcd_helm_upgrader.testkit.demo import fleet
from tests.e2e import harness, tenants
from tests.support import apiserver

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]


async def test_a_release_whose_source_is_in_another_namespace_is_reported_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPGRADER_NO_CROSS_NAMESPACE_REFS", "true")  # read by the operator at start-up
    async with tenants.tenants(tmp_path, ["team-b"]) as t:
        local = t.local
        t.add("team-b")  # team-b/podinfo from team-b/charts: its own namespace
        t.add("team-a")  # a release of another namespace: not this config's to see
        local.apply({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                     "metadata": {"name": "shared", "namespace": "flux-system"},
                     "spec": {"url": t.charts.repo_url("shared"), "interval": "10m",
                              "secretRef": {"name": "no-such-secret"}}})  # fmt: skip
        local.apply(fleet.release("team-b", "cache", "podinfo", "6.5.0", repository="shared",
                                  repository_namespace="flux-system"))  # fmt: skip
        config = t.config("team-b")
        config["spec"]["scope"] = {"clusterWide": True}  # "everything": with the switch, its own namespace
        local.apply(config)
        async with local.run_operator():
            await harness.wait_for(lambda: t.phase("team-b", "team-b.podinfo") == "Open", timeout=60,
                                   what="the same-namespace release's PR")  # fmt: skip
            body = local.get("upgraderconfigs", "team-b", "fleet")
        proposals = [p["metadata"]["name"] for p in local.list("upgradeproposals", "team-b")]
        reads = local.entries_of(local.user) if isinstance(local, apiserver.RealCluster) else None
    status = body["status"]
    failed = [(f["release"], f["reason"]) for f in status["failedReleases"]]
    assert failed == [("team-b/cache", "CrossNamespaceRef")], status
    message = status["failedReleases"][0]["message"]
    assert "HelmRepository flux-system/shared" in message and "cross-namespace" in message, message
    assert status["releasesChecked"] == 1, status
    ready = harness.condition(body)
    assert ready is not None and (ready["status"], ready["reason"]) == ("True", "PartiallyChecked"), ready
    assert proposals == ["team-b.podinfo"]
    assert t.heads() == ["helm-upgrader/team-b/podinfo"]
    assert not [s for s in t.charts.seen if s.path.startswith("/shared/")], t.charts.seen
    if reads is not None:  # the real API server's audit log: no Secret read outside team-b
        elsewhere = [(e.namespace, e.name) for e in reads if e.resource == "secrets" and e.namespace != "team-b"]
        assert elsewhere == [], elsewhere
        assert {e.name for e in reads if e.resource == "secrets"} == {"github", "repo-auth"}
