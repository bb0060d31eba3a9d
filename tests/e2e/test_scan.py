"""`fluxcd-helm-upgrader scan`: a read-only report of outdated releases against the API emulator."""

from __future__ import annotations

import io
import json

import pytest

from fluxcd_helm_upgrader import scanning
from fluxcd_helm_upgrader.testkit.demo import charts
from tests import builders
from tests.e2e import backends

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("backend")]


async def test_scan_reports_outdated_releases_and_writes_nothing(tmp_path) -> None:
    server = charts.ChartServer()
    server.repo("main", {"podinfo": ["6.5.0", "6.7.1", "7.0.0"], "redis": ["1.2.0", "1.3.0"]})
    await server.start()
    try:
        async with backends.cluster(tmp_path) as local:
            local.apply(builders.helm_repository("charts", server.repo_url("main")))
            local.apply(builders.helm_release("podinfo", "podinfo", "6.5.0"))
            local.apply(builders.helm_release("cache", "redis", "1.3.0", namespace="data"))
            local.apply(builders.helm_release("orphan", "nginx", "1.0.0", repo="missing"))
            writes_before = len(local.audit)
            table, as_json = io.StringIO(), io.StringIO()
            code = await scanning.main(namespaces=(), include_prerelease=False, allowed_updates="minor",
                                       output="table", exit_code=True, out=table)  # fmt: skip
            await scanning.main(namespaces=("data",), include_prerelease=False, allowed_updates="major",
                                output="json", exit_code=False, out=as_json)  # fmt: skip
            assert len(local.audit) == writes_before  # read-only
    finally:
        await server.stop()
    assert code == 1  # something is outdated
    lines = table.getvalue().splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "CHART", "CURRENT", "TARGET", "STATUS"]
    assert lines[1].split() == ["apps", "orphan", "nginx", "1.0.0", "-", "SourceNotFound"]
    assert lines[2].split() == ["apps", "podinfo", "podinfo", "6.5.0", "6.7.1", "outdated"]  # minor: not 7.0.0
    assert lines[3].split() == ["data", "cache", "redis", "1.3.0", "-", "UpToDate"]
    rows = json.loads(as_json.getvalue())
    assert [(r["namespace"], r["name"], r["status"]) for r in rows] == [("data", "cache", "UpToDate")]
