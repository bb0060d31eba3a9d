"""`fluxcd-helm-upgrader scan --path DIR` on a kustomize overlay checkout: no cluster, no kubeconfig, no Secrets.

The real command line runs in a subprocess against a local chart server; the checkout is the demo fleet (a base
per app, an overlay that patches podinfo's version) plus the HelmRepository in a sources directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from fluxcd_helm_upgrader.testkit.demo import fleet
from fluxcd_helm_upgrader.testkit.demo import running as demo

pytestmark = pytest.mark.e2e


async def _cli(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fluxcd_helm_upgrader", "scan", *args,
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]


async def test_scan_path_reports_the_overlay_line_writes_exactly_it_and_then_exits_0(tmp_path: Path) -> None:
    server = demo.chart_server()
    await server.start()
    try:
        sources = (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n"
            f"metadata:\n  name: demo-charts\n  namespace: flux-system\nspec:\n  url: {server.repo_url('demo')}\n"
        )
        fleet.seed(tmp_path, {**fleet.FILES, "clusters/demo/sources.yaml": sources})
        work = tmp_path / "fleet-work"
        poison = tmp_path / "kubeconfig"
        poison.write_text("this is not a kubeconfig: reading it would fail the scan\n")
        env = {**os.environ, "KUBECONFIG": str(poison), "PYTHONPATH": os.pathsep.join(sys.path)}
        flags = ("--path", "apps/demo", "--sources", "clusters/demo", "--exit-code")

        code, table, err = await _cli(*flags, cwd=work, env=env)
        assert code == 1, err
        lines = [line.split() for line in table.splitlines()]
        assert lines[0] == ["NAMESPACE", "NAME", "CHART", "CURRENT", "TARGET", "STATUS", "WHERE"]
        assert lines[1] == ["apps", "cache", "redis", "17.x", "18.x", "outdated", "apps/base/redis/release.yaml:11"]
        # The overlay's patch sets podinfo's version, not the base: that is the line reported.
        assert lines[2] == ["apps", "podinfo", "podinfo", "6.5.0", "6.7.1", "outdated",
                            "apps/demo/podinfo-version.yaml:9"]  # fmt: skip

        code, as_json, err = await _cli(*flags, "--risk", "-o", "json", "--write", cwd=work, env=env)
        assert code == 1, err
        rows = {row["name"]: row for row in json.loads(as_json)}
        assert (rows["podinfo"]["file"], rows["podinfo"]["line"]) == ("apps/demo/podinfo-version.yaml", 9)
        assert rows["podinfo"]["risk"] == "Low"
        assert rows["cache"]["risk"] == "Medium"  # 17.x -> 18.x: a major version
        assert [f["type"] for f in rows["cache"]["riskDetails"]["findings"]] == ["MajorVersion"]
        assert _changed_lines(fleet.git("diff", cwd=work)) == [
            "-      version: 17.x",
            "+      version: 18.x",
            "-      version: 6.5.0  # what runs in the demo cluster",
            "+      version: 6.7.1  # what runs in the demo cluster",
        ]
        assert fleet.git("diff", "--stat", cwd=work).count("|") == 2  # two files, one line each

        code, table, err = await _cli(*flags, cwd=work, env=env)
        assert code == 0, (table, err)
        assert [line.split()[5] for line in table.splitlines()[1:]] == ["UpToDate", "UpToDate"]
    finally:
        await server.stop()
