"""Following pull requests as people treat them: the real operator, a local Git remote and a GitHub stand-in.

A person who retitles the PR does not stop the operator from following it (it is matched by its branch and the
number the proposal records, not by the title the operator wrote). A PR closed without merge skips its target; a
newer version then gets a new PR.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import harness, prs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]


async def test_a_retitled_pull_request_is_still_followed(tmp_path: Path) -> None:
    async with prs.setup(tmp_path) as s:
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="podinfo PR")
            number = s.proposal("apps.podinfo")["status"]["pullRequest"]["number"]
            s.github.pulls["acme/fleet"][number].title = "podinfo 6.7.1 (checked by ops)"
            s.github.merge(number)
            await s.reconcile("merged")
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Merged", what="Merged")
            await memo.services.workers.join()
        assert s.proposal("apps.podinfo")["status"]["message"] == (
            f"pull request #{number} merged; waiting for Flux to apply 6.7.1"
        )
        assert s.github.pulls["acme/fleet"][number].title == "podinfo 6.7.1 (checked by ops)"
        assert len(s.github.pull_requests()) == 2
