"""A quiet cycle costs nothing: the real operator, a local Git remote, a GitHub stand-in, on both backends.

Two releases with open PRs and one whose manifest is not in Git (its proposal Failed). A cycle in which nothing
changed upstream, in GitHub or in the failure writes no UpgradeProposal, posts no event, makes no GitHub write and
asks GitHub once per repository; the config's own status gets one patch. Counted from what the API server saw (the
emulator's request log, the real API server's audit log) and what the GitHub stand-in was asked.
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import pytest

from fluxcd_helm_upgrader.testkit.demo import fleet
from fluxcd_helm_upgrader.testkit.emulator import AuditEntry
from tests.e2e import harness, prs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]


def _writes(entries: list[AuditEntry]) -> collections.Counter[tuple[str, str]]:
    return collections.Counter((e.resource + (f"/{e.subresource}" if e.subresource else ""), e.method) for e in entries)


async def test_a_quiet_cycle_writes_nothing(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        # A release the cluster runs but Git does not hold: its proposal fails the same way every cycle.
        s.local.apply(fleet.release("apps", "ghost", "podinfo", "6.5.0"))
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == s.phase("apps.cache") == "Open", what="PRs")
            await harness.wait_for(lambda: s.phase("apps.ghost") == "Failed", what="ghost Failed")
            await s.reconcile("settled")  # the Failed one retried once: its failure is the same from now on
            await memo.services.workers.join()
            failed_before = s.proposal("apps.ghost")["status"]
            api_mark, github_mark = len(s.local.audit), len(s.github.calls)

            # The next cycle as the interval would start it: nothing about the config changes (a reconcile
            # request would: Kopf records the edited annotation), so the webhook's trigger stands in for the clock.
            checked = s.local.get("upgraderconfigs", prs.NAMESPACE, "fleet")["status"]["lastCheckTime"]
            await asyncio.sleep(1.1)  # lastCheckTime has a one-second resolution
            assert memo.services.triggers.config(prs.NAMESPACE, "fleet") == 1
            await harness.wait_for(
                lambda: s.local.get("upgraderconfigs", prs.NAMESPACE, "fleet")["status"]["lastCheckTime"] != checked,
                what="the quiet cycle",
            )
            await memo.services.workers.join()

            quiet = _writes(s.local.audit[api_mark:])
            github = s.github.calls[github_mark:]
        assert failed_before["message"] == s.proposal("apps.ghost")["status"]["message"]
        assert "ManifestNotFound" in str(failed_before["conditions"])
        assert s.proposal("apps.ghost")["status"] == failed_before  # a retry with the same failure: untouched
        assert dict(quiet) == {("upgraderconfigs/status", "PATCH"): 1}, quiet
        assert [c for c in github if c.method != "GET"] == []
        # One list of the repository's open PRs; the Failed one fails in Git before asking GitHub anything.
        assert [(c.method, c.path, c.query.get("state")) for c in github] == [
            ("GET", "/repos/acme/fleet/pulls", "open")
        ], github
