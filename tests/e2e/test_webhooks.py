"""Webhook triggers against the real operator: a signed push runs the matching config's cycle at once; an
unsigned or wrongly signed one gets 401 and changes nothing."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import aiohttp
import pytest

from fluxcd_helm_upgrader import webhooks
from tests import builders
from tests.e2e import harness, prs

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]
SECRET = b"webhook-hmac-secret-for-tests"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_signed_hooks_trigger_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _free_port()
    monkeypatch.setenv("UPGRADER_WEBHOOK_PORT", str(port))
    monkeypatch.setenv("UPGRADER_NAMESPACE", "fluxcd-helm-upgrader")
    async with prs.setup(tmp_path) as s:
        secret = builders.secret("fluxcd-helm-upgrader-webhook", {"token": SECRET})
        secret["metadata"]["namespace"] = "fluxcd-helm-upgrader"
        s.local.apply(secret)
        s.local.apply(s.config())
        async with s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.podinfo") == "Open", what="first PR")
            s.charts.repos["demo"].add("podinfo", "6.9.0")
            target = lambda: (s.proposal("apps.podinfo") or {}).get("spec", {}).get("targetVersion")  # noqa: E731
            url = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as http:
                body = b"{}"
                async with http.post(f"{url}/hook/generic/flux-system/fleet", data=body) as unsigned:
                    assert unsigned.status == 401
                headers = {"X-Signature": webhooks.sign(b"wrong secret", body)}
                async with http.post(f"{url}/hook/generic/flux-system/fleet", data=body, headers=headers) as wrong:
                    assert wrong.status == 401
                assert target() == "6.7.1"
                push = json.dumps({
                    "ref": "refs/heads/main",
                    "repository": {"full_name": "acme/fleet", "clone_url": s.git_url, "html_url": s.git_url},
                }).encode()  # fmt: skip
                headers = {"X-Hub-Signature-256": webhooks.sign(SECRET, push), "X-GitHub-Event": "push",
                           "Content-Type": "application/json"}  # fmt: skip
                async with http.post(f"{url}/hook/github", data=push, headers=headers) as signed:
                    assert signed.status == 202
                    assert (await signed.json())["triggered"] == 1
            # The interval is 30m: only the hook can have run this cycle.
            await harness.wait_for(lambda: target() == "6.9.0", what="cycle triggered by the push hook")
