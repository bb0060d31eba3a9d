"""The real kubectl against the API emulator: `get` shows our printer columns, `explain` documents our CRDs,
`apply` validates on the server (unknown fields rejected or warned like kube-apiserver), `describe` lists events.

kubectl runs as a subprocess of the test's event loop (the loop also serves the emulator), with a private discovery
cache. Needs kubectl: skips without it, fails under CI=true (tests/support/peers.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxcd_helm_upgrader.testkit.demo import cluster, fleet, tables
from fluxcd_helm_upgrader.testkit.demo import running as demo
from tests.e2e import harness
from tests.support import peers

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]
NS = fleet.FLUX_NAMESPACE


@pytest.fixture
def kubectl_binary() -> str:
    return peers.require_binary("kubectl", package="kubectl")


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[cluster.LocalCluster]:
    async with cluster.local_cluster(tmp_path) as running:
        yield running


async def kubectl(binary: str, local: cluster.LocalCluster, *args: str) -> tuple[int, str]:
    return await tables.run_kubectl(binary, local.kubeconfig, local.kubeconfig.parent / "kube-cache", args)


@pytest.fixture
async def demo_cluster(tmp_path: Path) -> AsyncIterator[cluster.LocalCluster]:
    """The demo's fleet with the real operator, run until both proposals are Open."""
    server = demo.chart_server()
    await server.start()
    git_url = fleet.seed(tmp_path)
    try:
        async with cluster.local_cluster(tmp_path) as local:
            for body in [*fleet.cluster_objects(server.repo_url(demo.CHART_REPOSITORY)), demo.upgrader_config(git_url)]:
                local.apply(body)
            async with local.run_operator():
                await harness.wait_for(
                    lambda: len(local.list("upgradeproposals")) == 2
                    and all((p.get("status") or {}).get("phase") == "Open" for p in local.list("upgradeproposals")),
                    timeout=60,
                    what="two Open proposals",
                )
                yield local
    finally:
        await server.stop()


async def test_get_shows_the_printer_columns_and_describe_the_events(
    demo_cluster: cluster.LocalCluster, kubectl_binary: str
) -> None:
    code, output = await kubectl(kubectl_binary, demo_cluster, "get", "upgradeproposals", "-A")
    assert code == 0, output
    header, rows = harness.table(output)
    assert header == ["NAMESPACE", "NAME", "RELEASE NAMESPACE", "RELEASE", "CHART", "CURRENT", "TARGET", "RISK",
                      "PHASE", "PR", "AGE"]  # fmt: skip
    podinfo = next(row for row in rows if row["NAME"] == "apps.podinfo")
    shown = (podinfo["CURRENT"], podinfo["TARGET"], podinfo["RISK"], podinfo["PHASE"])
    assert shown == ("6.5.0", "6.7.1", "Low", "Open")
    assert podinfo["PR"] == "" and re.fullmatch(r"\d+s", podinfo["AGE"])  # provider none: no PR URL
    code, output = await kubectl(kubectl_binary, demo_cluster, "get", "upgraderconfigs", "-A")
    header, rows = harness.table(output)
    assert header == ["NAMESPACE", "NAME", "READY", "STATUS", "LAST CHECK", "AGE"]
    assert (rows[0]["NAME"], rows[0]["READY"], rows[0]["STATUS"]) == ("demo", "True", "checked 2 releases, 2 outdated")
    code, output = await kubectl(kubectl_binary, demo_cluster, "get", "ucfg", "-n", NS, "demo", "-o", "wide")
    assert code == 0 and harness.table(output)[1][0]["READY"] == "True"
    code, output = await kubectl(kubectl_binary, demo_cluster, "describe", "upgradeproposal", "-n", NS, "apps.podinfo")
    assert code == 0, output
    assert "Target Version:  6.7.1" in output and "Phase:                Open" in output
    events = output.partition("Events:")[2]
    assert "ProposalCreated" in events and "BranchPushed" in events


def _objects(schema: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object node with declared properties (list items included), by its explain path."""
    node = schema.get("items", schema) if schema.get("type") == "array" else schema
    if node.get("properties"):
        yield path, node["properties"]
        for name, sub in node["properties"].items():
            yield from _objects(sub, f"{path}.{name}")


@pytest.mark.parametrize("plural", ["upgraderconfigs", "upgradeproposals"])
async def test_explain_documents_every_field_from_the_crd(
    local: cluster.LocalCluster, kubectl_binary: str, plural: str
) -> None:
    """`kubectl explain` of every object in the schema lists each of its fields with the CRD's description."""
    crd = yaml.safe_load((REPO_ROOT / "crds" / f"{plural}.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    checked = 0
    for path, properties in _objects(schema, plural):
        code, output = await kubectl(kubectl_binary, local, "explain", path)
        assert code == 0, f"kubectl explain {path}: {output}"
        flat = " ".join(output.split())
        for name, sub in properties.items():
            if name in ("apiVersion", "kind", "metadata"):
                continue  # TypeMeta and ObjectMeta: the server's own descriptions, as on a real cluster
            assert re.search(rf"^  {re.escape(name)}\t<", output, re.MULTILINE), f"{path}.{name} missing: {output}"
            assert " ".join(sub["description"].split())[:60] in flat, f"{path}.{name} is not described: {output}"
            checked += 1
    assert checked > 20


async def test_explain_git_shows_the_url_field(local: cluster.LocalCluster, kubectl_binary: str) -> None:
    code, output = await kubectl(kubectl_binary, local, "explain", "upgraderconfig.spec.git")
    assert code == 0, output
    assert "KIND:       UpgraderConfig" in output and "VERSION:    v1alpha1" in output
    assert re.search(r"url\s+<string> -required-", output) and "secretRef" in output


async def test_apply_the_samples_with_validation_on(local: cluster.LocalCluster, kubectl_binary: str) -> None:
    code, output = await kubectl(kubectl_binary, local, "apply", "-f", str(REPO_ROOT / "crds" / "samples"))
    assert code == 0, output
    assert "upgraderconfig.helmupgrader.io/fleet created" in output
    assert "upgradeproposal.helmupgrader.io/apps-podinfo created" in output
    assert "Warning" not in output  # the samples use only declared fields
    assert local.get("upgraderconfigs", "team-a", "team-a") is not None
    code, output = await kubectl(kubectl_binary, local, "apply", "-f", str(REPO_ROOT / "crds" / "samples"))
    assert code == 0 and "upgraderconfig.helmupgrader.io/fleet unchanged" in output, output


UNKNOWN = """\
apiVersion: helmupgrader.io/v1alpha1
kind: UpgraderConfig
metadata: {name: typo, namespace: flux-system}
spec:
  git: {url: https://git.example.com/fleet.git, brnach: main}
"""


async def test_unknown_fields_are_rejected_or_warned_like_the_real_server(
    local: cluster.LocalCluster, kubectl_binary: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(UNKNOWN)
    code, output = await kubectl(kubectl_binary, local, "apply", "-f", str(manifest))
    assert code == 1
    assert (
        f'Error from server (BadRequest): error when creating "{manifest}": UpgraderConfig in version "v1alpha1" '
        'cannot be handled as a UpgraderConfig: strict decoding error: unknown field "spec.git.brnach"'
    ) in output
    assert local.get("upgraderconfigs", NS, "typo") is None
    code, output = await kubectl(kubectl_binary, local, "apply", "--validate=warn", "-f", str(manifest))
    assert code == 0 and 'Warning: unknown field "spec.git.brnach"' in output, output
    assert "brnach" not in local.get("upgraderconfigs", NS, "typo")["spec"]["git"]  # type: ignore[index]


async def test_the_demo_fallback_prints_what_kubectl_prints(
    local: cluster.LocalCluster, kubectl_binary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = yaml.safe_load((REPO_ROOT / "crds" / "samples" / "upgradeproposal.yaml").read_text())
    sample["metadata"]["creationTimestamp"] = "2020-01-01T00:00:00Z"
    local.apply(sample)
    local.apply({**sample, "metadata": {**sample["metadata"], "name": "b", "namespace": "team-a"}})
    code, real = await kubectl(kubectl_binary, local, "get", "upgradeproposals", "-A")
    assert code == 0
    assert tables.render(tables.table_of(local.api, "upgradeproposals"), all_namespaces=True) == real
    monkeypatch.setenv("PATH", "")
    shown = await tables.kubectl_get(local.api, local.kubeconfig, "upgradeproposals")
    assert not shown.real and shown.text == real


def _pinned_kubectl(dispatcher: str) -> str:
    """One kubectl for both servers: Google's dispatcher would pick a client by each server's version."""
    for version in ("1.33", "1.32", "1.31"):
        candidate = Path(dispatcher).resolve().parent / f"kubectl.{version}"
        if candidate.is_file():
            return str(candidate)
    return dispatcher


def _without_age(output: str) -> list[str]:
    """Table lines with the AGE column cut off (creation times differ between the two servers)."""
    lines = [line for line in output.splitlines() if line.strip()]
    cut = lines[0].rindex("AGE")
    return [line[:cut].rstrip() for line in lines]


@pytest.mark.backends("apiserver")
async def test_kubectl_get_prints_the_same_on_the_emulator_and_a_real_api_server(
    backend: str, local: cluster.LocalCluster, kubectl_binary: str, tmp_path: Path
) -> None:
    """The same objects on both servers: `kubectl get` (and `-o wide`) prints the same table, AGE aside."""
    from tests.e2e import backends

    binary = _pinned_kubectl(kubectl_binary)
    proposal = yaml.safe_load((REPO_ROOT / "crds" / "samples" / "upgradeproposal.yaml").read_text())
    pending = {**proposal, "metadata": {"name": "data.cache", "namespace": NS},
               "status": {"phase": "Pending", "message": "waiting for the Git worker"}}  # fmt: skip
    config = demo.upgrader_config("file:///srv/fleet.git")
    config["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                                        "message": "checked 2 releases, 1 outdated",
                                        "lastTransitionTime": "2026-01-01T00:00:00Z"}]}  # fmt: skip
    outputs: dict[str, list[list[str]]] = {}
    async with backends.cluster(tmp_path / "real") as real:
        for target in (local, real):
            for body in (proposal, pending, config):
                target.apply(body)
        for name, target in (("emulator", local), ("apiserver", real)):
            runs = []
            for args in (["get", "upgradeproposals", "-A"], ["get", "upgradeproposals", "-A", "-o", "wide"],
                         ["get", "upgraderconfigs", "-A"]):  # fmt: skip
                code, output = await tables.run_kubectl(binary, target.kubeconfig, tmp_path / f"cache-{name}", args)
                assert code == 0, f"{name}: {output}"
                runs.append(_without_age(output))
            outputs[name] = runs
    assert outputs["emulator"] == outputs["apiserver"]
    assert any("apps-podinfo" in line and re.search(r"\bOpen\b", line) for line in outputs["apiserver"][0]), outputs
    assert any("data.cache" in line and re.search(r"\bPending\b", line) for line in outputs["apiserver"][0]), outputs
