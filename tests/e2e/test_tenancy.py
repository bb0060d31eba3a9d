"""Multi-tenancy as Flux locks it down (issue 10, items 5 and 6), on a real kube-apiserver.

Two tenants, team-a and team-b, each with its own ServiceAccount and Role (get Secrets, list HelmReleases in its own
namespace). The operator runs with exactly the ClusterRole of deploy/lockdown/ (no `get secrets` of its own, plus
`impersonate` on serviceaccounts and `create` on subjectaccessreviews). Every Secret a config uses is read by
impersonating its `spec.serviceAccountName`, and each namespace of its scope is checked with a
SubjectAccessReview: tenant B's config that names team-a reports `ScopeForbidden` naming team-a, never reads
team-a's Secrets (the audit log shows no such read by the operator or as sa-b), and still gets its own proposal and
pull request. A config whose account may not read its Git Secret says so on the config; a release whose
repository Secret it may not read says so in status.failedReleases.

apiserver-only: the API emulator does not implement impersonation (`Impersonate-User`) or SubjectAccessReviews,
so these tests mark themselves `backends("apiserver")`; the pure rules are unit-tested in
tests/unit/checking/test_tenancy.py and UPGRADER_NO_CROSS_NAMESPACE_REFS in test_cross_namespace_refs.py on both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e import harness, tenants
from tests.support import apiserver
from tests.unit.deploy import rendering

pytestmark = [pytest.mark.e2e, pytest.mark.backends("apiserver"), pytest.mark.usefixtures("backend")]

SA_A, SA_B, SA_C, SA_D = (f"system:serviceaccount:{ns}:{sa}" for ns, sa in
                          (("team-a", "sa-a"), ("team-b", "sa-b"), ("team-c", "sa-c"), ("team-d", "sa-d")))  # fmt: skip


def lockdown_rules() -> list[dict[str, Any]]:
    """The operator's cluster-wide rules as deploy/lockdown/ renders them."""
    role = rendering.one(rendering.render(rendering.DEPLOY / "lockdown"), "ClusterRole")
    return [dict(rule) for rule in role["rules"]]


def secret_reads(entries: list[Any], namespace: str | None = None) -> list[tuple[str | None, str | None, int]]:
    """(namespace, name, HTTP status) of every `get` on a Secret among audit entries."""
    return [
        (e.namespace, e.name, e.status)
        for e in entries
        if e.resource == "secrets" and e.method == "GET" and (namespace is None or e.namespace == namespace)
    ]


async def reconcile(t: tenants.Tenants, namespace: str, stamp: str) -> None:
    """Ask for a cycle of the tenant's config now (as `flux reconcile` would) and wait until it ran."""
    body = t.local.get("upgraderconfigs", namespace, "fleet")
    assert body is not None
    body["metadata"].setdefault("annotations", {})["reconcile.fluxcd.io/requestedAt"] = stamp
    t.local.apply(body)
    await harness.wait_for(lambda: (t.local.get("upgraderconfigs", namespace, "fleet") or {}).get("status", {}).get(
        "lastHandledReconcileAt") == stamp, what=f"cycle {stamp} of {namespace}")  # fmt: skip


# B's scope names team-a outright, or is cluster-wide (B may not list HelmReleases everywhere, so each namespace
# that holds releases is asked about).
@pytest.mark.parametrize("scope", [{"clusterWide": False, "namespaces": ["team-a", "team-b"]}, {"clusterWide": True}],
                         ids=["listed", "cluster-wide"])  # fmt: skip
async def test_a_tenant_whose_scope_reaches_another_namespace_is_refused_there_and_served_at_home(
    tmp_path: Path, scope: dict[str, Any]
) -> None:
    async with tenants.tenants(tmp_path, ["team-a", "team-b"], rules=lockdown_rules()) as t:
        local = t.local
        assert isinstance(local, apiserver.RealCluster)
        t.add("team-a", "sa-a")
        t.add("team-b", "sa-b")
        local.apply(t.config("team-a", account="sa-a"))
        local.apply(t.config("team-b", account="sa-b", scope=scope))
        async with local.run_operator():
            await harness.wait_for(lambda: t.phase("team-b", "team-b.podinfo") == "Open", timeout=60,
                                   what="tenant B's own proposal and PR")  # fmt: skip
            await harness.wait_for(lambda: t.phase("team-a", "team-a.podinfo") == "Open", timeout=60,
                                   what="tenant A's proposal and PR")  # fmt: skip
            await reconcile(t, "team-b", "again")  # a second cycle: still refused, no second event
            ready_b = t.ready("team-b")
            config_b = local.get("upgraderconfigs", "team-b", "fleet")
            leaked = local.get("upgradeproposals", "team-b", "team-a.podinfo")
        events = [(e["type"], e["reason"]) for e in local.list("events", "team-b")
                  if e["involvedObject"]["name"] == "fleet"]  # fmt: skip
        operator = local.entries_of(local.user)
        as_a, as_b = local.entries_of(SA_A), local.entries_of(SA_B)
    assert ready_b is not None and (ready_b["status"], ready_b["reason"]) == ("False", "ScopeForbidden"), ready_b
    assert "team-a" in ready_b["message"] and "team-b/sa-b" in ready_b["message"], ready_b["message"]
    assert events.count(("Warning", "ScopeForbidden")) == 1, events
    assert config_b["status"]["releasesChecked"] == 1
    # Nothing of team-a is named on tenant B's config beyond the namespace it asked for itself.
    assert not [f for f in config_b["status"].get("failedReleases") or () if f["release"].startswith("team-a/")]
    assert leaked is None
    assert sorted(t.heads()) == ["helm-upgrader/team-a/podinfo", "helm-upgrader/team-b/podinfo"]
    # The audit log: the operator never read a Secret as itself, sa-b never touched team-a's, and each tenant's
    # Secrets were read as that tenant's account.
    assert secret_reads(operator) == [], secret_reads(operator)
    assert secret_reads(as_b, "team-a") == []
    b_reads, a_reads = secret_reads(as_b, "team-b"), secret_reads(as_a, "team-a")
    assert {name for _, name, _ in b_reads} == {"github", "repo-auth"} and all(s == 200 for *_, s in b_reads), b_reads
    assert {name for _, name, _ in a_reads} == {"github", "repo-auth"} and all(s == 200 for *_, s in a_reads), a_reads
    reviews = [e for e in operator if e.resource == "subjectaccessreviews" and e.method == "POST"]
    assert len(reviews) >= 5, reviews  # each cycle: team-a for A; team-a and team-b (and all, cluster-wide) for B
    assert all(e.status == 201 for e in reviews), reviews
    print(f"\naudit: operator secret reads as itself={len(secret_reads(operator))}, as sa-b in team-a="
          f"{len(secret_reads(as_b, 'team-a'))}, as sa-b in team-b={len(b_reads)}, as sa-a in team-a={len(a_reads)}, "
          f"SubjectAccessReviews={len(reviews)}")  # fmt: skip


async def test_an_account_that_may_not_read_the_git_secret_is_reported_on_the_config(tmp_path: Path) -> None:
    async with tenants.tenants(tmp_path, ["team-c"], rules=lockdown_rules()) as t:
        local = t.local
        assert isinstance(local, apiserver.RealCluster)
        t.add("team-c", "sa-c", secrets=False)  # sa-c may list its releases, but read no Secret
        local.apply(tenants.secret("team-c", "git-creds", {"username": "bot", "password": "hunter2"}))
        config = t.config("team-c", account="sa-c")
        config["spec"]["git"]["secretRef"] = {"name": "git-creds"}
        local.apply(config)
        async with local.run_operator():
            ready = await harness.wait_for(lambda: t.ready("team-c"), timeout=30, what="the config's first cycle")
            body = local.get("upgraderconfigs", "team-c", "fleet")
        events = [e for e in local.list("events", "team-c") if e["involvedObject"]["name"] == "fleet"]
        as_c = local.entries_of(SA_C)
        operator = local.entries_of(local.user)
        proposals = local.list("upgradeproposals", "team-c")
    assert (ready["status"], ready["reason"]) == ("False", "Forbidden"), ready
    assert "team-c/git-creds" in ready["message"] and "team-c/sa-c" in ready["message"], ready["message"]
    assert "hunter2" not in str(body)
    stalled = harness.condition(body, "Stalled")
    assert stalled is not None and stalled["status"] == "True"
    assert [(e["type"], e["reason"]) for e in events] == [("Warning", "Forbidden")], events
    assert ("team-c", "git-creds", 403) in secret_reads(as_c), secret_reads(as_c)
    assert secret_reads(operator) == []
    assert proposals == []
    assert t.heads() == []


async def test_a_repository_secret_the_account_may_not_read_fails_that_release(tmp_path: Path) -> None:
    async with tenants.tenants(tmp_path, ["team-d"], rules=lockdown_rules()) as t:
        local = t.local
        assert isinstance(local, apiserver.RealCluster)
        t.add("team-d", "sa-d", secrets=["github"])  # the PR token, but not the HelmRepository's repo-auth
        local.apply(t.config("team-d", account="sa-d"))
        async with local.run_operator():
            body = await harness.wait_for(
                lambda: (c := local.get("upgraderconfigs", "team-d", "fleet")) and harness.condition(c) and c,
                timeout=30, what="the config's first cycle",
            )
        as_d = local.entries_of(SA_D)
    status = body["status"]
    assert [(f["release"], f["reason"]) for f in status["failedReleases"]] == [("team-d/podinfo", "Forbidden")]
    message = status["failedReleases"][0]["message"]
    assert "ServiceAccount team-d/sa-d may not read secret team-d/repo-auth" in message, message
    ready = harness.condition(body)
    assert (ready["status"], ready["reason"]) == ("False", "PartiallyChecked"), ready
    assert ("team-d", "repo-auth", 403) in secret_reads(as_d) and ("team-d", "github", 200) in secret_reads(as_d)
    assert not [s for s in t.charts.seen if s.path.startswith("/tenants/")], "no index fetched without credentials"
