"""From proposal to pull request: the real operator, a local Git remote and a GitHub stand-in.

What a user sees: one PR per release with a one-line diff; a newer version updates that PR; a restart between
push and PR creation still yields one PR; a PR closed without merge is not reopened; the PR body carries the
changelog; the token appears nowhere it must not.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fluxcd_helm_upgrader.testkit import github as standin
from fluxcd_helm_upgrader.testkit.demo import fleet
from tests import builders
from tests.e2e import harness, processes, prs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]


def _changed_lines(diff: str) -> list[str]:
    return [
        line for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]  # fmt: skip


async def test_one_pr_per_release_then_updated_then_closed(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="podinfo PR")
            await harness.wait_for(lambda: s.phase("apps.cache") == "Open", what="cache PR")
            pulls = s.github.pull_requests()
            assert sorted(p.head for p in pulls) == ["helm-upgrader/apps/cache", "helm-upgrader/apps/podinfo"]
            podinfo_pr = next(p for p in pulls if p.head.endswith("podinfo"))
            assert podinfo_pr.title == "Update podinfo to 6.7.1 in apps/podinfo"
            assert podinfo_pr.labels == ["dependencies"]
            assert "podinfo 6.7.1 release notes" in (podinfo_pr.body or "")
            assert "podinfo 6.6.3 release notes" in (podinfo_pr.body or "")
            assert "podinfo 6.5.0 release notes" not in (podinfo_pr.body or "")
            assert "apps/demo/podinfo-version.yaml" in (podinfo_pr.body or "")
            diff = fleet.branch_diff(s.git_url, "helm-upgrader/apps/podinfo")
            assert _changed_lines(diff) == [
                "-      version: 6.5.0  # what runs in the demo cluster",
                "+      version: 6.7.1  # what runs in the demo cluster",
            ]
            status = s.proposal("apps.podinfo")["status"]
            assert status["pullRequest"]["number"] == podinfo_pr.number
            assert status["pullRequest"]["url"].endswith(f"/pull/{podinfo_pr.number}")
            assert status["manifest"] == {"path": "apps/demo/podinfo-version.yaml", "line": 9}

            # A newer version: the same proposal, branch and PR are updated, no second PR.
            s.charts.repos["demo"].add(
                "podinfo",
                "6.8.0",
                annotations={"artifacthub.io/changes": "- kind: fixed\n  description: podinfo 6.8.0 fix\n"},
            )
            await s.reconcile("newer")
            await harness.wait_for(
                lambda: (
                    (s.proposal("apps.podinfo") or {}).get("spec", {}).get("targetVersion") == "6.8.0"
                    and s.phase("apps.podinfo") == "Open"
                    and "6.8.0" in s.github.pull_requests()[podinfo_pr.number - 1].title
                ),
                what="PR updated to 6.8.0",
            )
            await memo.services.workers.join()
            assert len(s.github.pull_requests()) == 2
            updated = next(p for p in s.github.pull_requests() if p.head.endswith("podinfo"))
            assert updated.number == podinfo_pr.number
            assert updated.title == "Update podinfo to 6.8.0 in apps/podinfo"
            assert "podinfo 6.8.0 fix" in (updated.body or "")
            assert _changed_lines(fleet.branch_diff(s.git_url, "helm-upgrader/apps/podinfo"))[1].startswith(
                "+      version: 6.8.0"
            )

            # The user closes it without merging: Closed, and never reopened.
            s.github.close(podinfo_pr.number)
            await s.reconcile("closed")
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Closed", what="Closed phase")
            await s.reconcile("after-close")
            await memo.services.workers.join()
            assert s.phase("apps.podinfo") == "Closed"
            assert s.proposal("apps.podinfo")["status"]["skippedTargets"] == ["6.8.0"]
            assert len(s.github.pull_requests()) == 2
            creates = [c for c in s.github.calls if c.method == "POST" and c.path.endswith("/pulls")]
            assert len(creates) == 2
        events = s.local.list("events", prs.NAMESPACE)
        reasons = [e["reason"] for e in events if e["involvedObject"]["name"] == "apps.podinfo"]
        assert reasons.count("PullRequestOpened") == 1
        assert reasons.count("PullRequestUpdated") == 1
        assert reasons.count("PullRequestClosed") == 1
        _assert_no_canary(s, caplog.text, tmp_path)


def _assert_no_canary(s: prs.Setup, log_text: str, tmp_path: Path) -> None:
    assert prs.CANARY not in log_text
    for plural in ("events", "upgradeproposals", "upgraderconfigs"):
        for body in s.local.list(plural):
            assert prs.CANARY not in str(body), (plural, body["metadata"]["name"])
    for config in Path(tmp_path).rglob(".git/config"):
        assert prs.CANARY not in config.read_text(), config
    cache = Path(__import__("os").environ["UPGRADER_CACHE_DIR"])
    for config in cache.rglob("config"):
        assert prs.CANARY not in config.read_text(errors="replace"), config


async def test_restart_between_push_and_pr_creation_yields_one_pr(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())
        # Every PR-creating call fails: the branches get pushed, the PRs don't get opened.
        s.github.fail_next(1000, status=401, message="Bad credentials", method="POST", path_suffix="/pulls")
        async with s.local.run_operator() as memo:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Failed", what="Failed after push")
            await memo.services.workers.join()
        assert "helm-upgrader/apps/podinfo" in fleet.branches(s.git_url)
        assert s.github.pull_requests() == []
        failed = s.proposal("apps.podinfo")["status"]
        assert "auth" in failed["message"]
        # The operator comes back with working credentials: exactly one PR per release.
        s.github.fail_next(0)
        async with s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="Open after restart", timeout=30)
            await harness.wait_for(lambda: s.phase("apps.cache") == "Open", what="cache Open after restart")
        assert sorted(p.head for p in s.github.pull_requests()) == [
            "helm-upgrader/apps/cache",
            "helm-upgrader/apps/podinfo",
        ]
        # And a third start changes nothing: the PRs are found by branch, not created again.
        async with s.local.run_operator() as memo:
            await s.reconcile("third")
            await memo.services.workers.join()
        assert len(s.github.pull_requests()) == 2


async def test_merged_then_applied(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="PR")
            number = s.proposal("apps.podinfo")["status"]["pullRequest"]["number"]
            s.github.merge(number)
            await s.reconcile("merged")
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Merged", what="Merged")
            # Flux applies the merged change: the HelmRelease now runs 6.7.1.
            s.local.apply(
                fleet.release(
                    "apps",
                    "podinfo",
                    "podinfo",
                    "6.7.1",
                    deployed="6.7.1",
                    labels={
                        "kustomize.toolkit.fluxcd.io/name": "apps",
                        "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
                    },
                )
            )
            # The operator learns of it from its watch; on a real API server that event may land after the next
            # requested cycle started, so the user's next `flux reconcile`-style request is the one that sees it.
            await s.reconcile_until(lambda: s.phase("apps.podinfo") == "Applied", what="Applied")
            await memo.services.workers.join()
        assert len(s.github.pull_requests()) == 2


async def test_git_over_ssh_with_a_deploy_key(tmp_path: Path, ssh_server) -> None:
    async with prs.setup(tmp_path) as s:
        bare = Path(s.git_url.removeprefix("file://"))
        s.local.apply(
            builders.secret("deploy-key", {"identity": ssh_server.client_key, "known_hosts": ssh_server.known_hosts})
        )
        s.local.apply(
            s.config(
                git={"url": ssh_server.url(bare), "secretRef": {"name": "deploy-key"}}, secretRef={"name": "github"}
            )
        )
        async with s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="PR over ssh", timeout=30)
        out = subprocess.run(
            ["git", "log", "--format=%an <%ae>|%s", "-1", "helm-upgrader/apps/podinfo"],
            cwd=bare,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip() == (
            "fluxcd-helm-upgrader <fluxcd-helm-upgrader@users.noreply.github.com>"
            "|Update podinfo to 6.7.1 in apps/podinfo"
        )


async def test_metrics_endpoint_after_a_cycle(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())
        s.charts.repos["demo"].broken = False
        async with s.local.run_operator() as memo:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == s.phase("apps.cache") == "Open", what="PRs")
            await s.reconcile("second")  # an unchanged index: a 304; proposals by phase are counted per cycle
            await memo.services.workers.join()
            port = await memo.services.metrics.start_server(0, host="127.0.0.1")
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/metrics") as response,
            ):
                assert response.status == 200
                text = await response.text()
    for series in (
        'fluxcd_helm_upgrader_build_info{version="',
        'fluxcd_helm_upgrader_cycles_total{config="flux-system/fleet",result="success"} 2.0',
        'fluxcd_helm_upgrader_releases_checked{config="flux-system/fleet"} 2.0',
        'fluxcd_helm_upgrader_releases_outdated{config="flux-system/fleet"} 2.0',
        'fluxcd_helm_upgrader_proposals{config="flux-system/fleet",phase="Open"} 2.0',
        'fluxcd_helm_upgrader_index_fetches_total{result="200"} 1.0',
        'fluxcd_helm_upgrader_index_fetches_total{result="304"} 1.0',
        'fluxcd_helm_upgrader_pull_requests_total{action="created",result="success"} 2.0',
        'fluxcd_helm_upgrader_git_operations_total{operation="push",result="success"} 2.0',
        "fluxcd_helm_upgrader_cycle_duration_seconds_bucket",
        "fluxcd_helm_upgrader_github_rate_limit_remaining",
    ):
        assert series in text, series
    assert prs.CANARY not in text
    assert prs.CANARY not in caplog.text


async def test_github_app_on_github_enterprise(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    app = standin.App(app_id=123, installation_id=456, public_key_pem=public_pem)
    async with prs.setup(tmp_path, app=app, prefix="/api/v3") as s:
        s.local.apply(
            builders.secret(
                "github-app",
                {"githubAppID": "123", "githubAppInstallationID": "456", "githubAppPrivateKey": private_pem},
            )
        )
        s.local.apply(s.config(secretRef={"name": "github-app"}))
        async with s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="PR opened by the App")
    assert s.github.api_url.endswith("/api/v3")
    assert len(s.github.minted_tokens) >= 1
    minted = [c for c in s.github.calls if c.path == "/app/installations/456/access_tokens"]
    assert minted and minted[0].status == 201
    assert any(p.head == "helm-upgrader/apps/podinfo" for p in s.github.pull_requests())
    for token in s.github.minted_tokens:
        assert token not in caplog.text
    assert b"PRIVATE KEY" not in caplog.text.encode()


async def test_sigkill_between_push_and_pr_creation_yields_one_pr(tmp_path: Path) -> None:
    """The operator runs as its own process (the console script) and is SIGKILLed while its PR creation is in
    flight, after the branch was pushed; the operator started again opens exactly one PR per release."""
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())
        released = s.github.hold("POST", "/repos/acme/fleet/pulls")
        process = await processes.start(s.local.kubeconfig, tmp_path / "killed-cache", tmp_path / "operator.log")
        try:
            await harness.wait_for(s.github.held.is_set, timeout=60, what="PR creation in flight")
            pushed = [b for b in fleet.branches(s.git_url) if b.startswith("helm-upgrader/")]
            assert pushed, "the branch is pushed before the PR is created"
        finally:
            process.kill()
            await process.wait()
        released.set()
        await harness.wait_for(lambda: any(c.status == 499 for c in s.github.calls), what="the held call to end")
        assert s.github.pull_requests() == []
        async with s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.podinfo") == s.phase("apps.cache") == "Open", what="PRs")
    assert sorted(p.head for p in s.github.pull_requests()) == [
        "helm-upgrader/apps/cache",
        "helm-upgrader/apps/podinfo",
    ]
