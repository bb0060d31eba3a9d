"""`file://` Git URLs read the operator's own filesystem: refused unless the operator runs with
UPGRADER_ALLOW_FILE_GIT_URLS=true, as the tests and the demo do (issue 10, item 8)."""

from __future__ import annotations

import pytest

from tests import builders
from tests.e2e import harness

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]


async def test_a_file_git_url_is_an_invalid_config_unless_allowed(local, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPGRADER_ALLOW_FILE_GIT_URLS", "false")
    local.apply(builders.upgrader_config("local", git={"url": "file:///etc/fleet.git"}))
    local.apply(builders.upgrader_config("remote", git={"url": "https://git.example.test/acme/fleet.git"}))
    async with local.run_operator():
        for name in ("local", "remote"):
            await harness.wait_for(
                lambda n=name: harness.condition(local.get("upgraderconfigs", "flux-system", n)), what=name
            )
    refused = harness.condition(local.get("upgraderconfigs", "flux-system", "local"))
    assert (refused["status"], refused["reason"]) == ("False", "InvalidConfig")
    assert refused["message"].startswith("spec.git.url: ")
    assert "UPGRADER_ALLOW_FILE_GIT_URLS=true" in refused["message"]
    accepted = harness.condition(local.get("upgraderconfigs", "flux-system", "remote"))
    assert accepted["status"] == "True"
