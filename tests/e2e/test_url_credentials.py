"""Credentials written into a source URL (`https://user:password@host/...?token=...`, as Helm accepts) never reach
what the operator stores or shows: the proposal, its status, events, the PR, logs and metrics (issue 10, item 2)."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from fluxcd_helm_upgrader.testkit.demo import fleet
from tests import builders
from tests.e2e import harness, prs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]

PASSWORD = "s3cr3t-url-password-CANARY"
QUERY_TOKEN = "q-token-CANARY-0123456789"


async def test_repository_url_credentials_are_stored_and_shown_nowhere(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with prs.setup(tmp_path) as s:
        clean = s.charts.repo_url("demo")
        leaky = clean.replace("http://", f"http://flux:{PASSWORD}@") + f"?token={QUERY_TOKEN}"
        s.local.apply(builders.helm_repository("demo-charts", leaky, namespace=fleet.FLUX_NAMESPACE))
        s.local.apply(s.config())
        async with s.local.run_operator() as memo:
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="podinfo PR")
            await memo.services.workers.join()
            port = await memo.services.metrics.start_server(0, host="127.0.0.1")
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/metrics") as response,
            ):
                metrics_text = await response.text()
        proposal = s.proposal("apps.podinfo")
        assert proposal is not None
        assert proposal["spec"]["source"]["url"] == clean
        (pull,) = [p for p in s.github.pull_requests() if p.head == prs.PODINFO_BRANCH]
        assert clean in (pull.body or "")
        seen = [
            pull.body or "",
            pull.title,
            caplog.text,
            metrics_text,
            *(str(b) for plural in ("events", "upgradeproposals", "upgraderconfigs") for b in s.local.list(plural)),
        ]
        for text in seen:
            assert PASSWORD not in text
            assert QUERY_TOKEN not in text
        # The credentials were still used: the chart server was asked with them (as Helm would).
        assert any(c.path == "/demo/index.yaml" for c in s.charts.seen)
