"""The bundled minimal Flux CRDs match the real ones; project CRDs load from <root>/crds."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
import yaml

from fluxcd_helm_upgrader.structs import kinds
from fluxcd_helm_upgrader.testkit.emulator import ApiEmulator, builtin_flux_crds, project_crds

FIXTURES = Path(__file__).resolve().parents[4].parent / "shared" / "fixtures" / "flux-crds"


def test_one_crd_per_flux_kind_with_status_and_permissive_schema() -> None:
    crds = {crd["spec"]["names"]["kind"]: crd for crd in builtin_flux_crds()}
    assert set(crds) == {kind.kind for kind in kinds.FLUX_KINDS}
    for kind in kinds.FLUX_KINDS:
        spec = crds[kind.kind]["spec"]
        version = spec["versions"][0]
        assert (spec["group"], version["name"], spec["names"]["plural"]) == (
            kind.group,
            kind.version,
            kind.plural,
        )
        assert version["subresources"] == {"status": {}} and spec["scope"] == "Namespaced"
        properties = version["schema"]["openAPIV3Schema"]["properties"]
        assert properties["spec"]["x-kubernetes-preserve-unknown-fields"] is True


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.name)
def test_names_match_the_real_flux_crds(path: Path) -> None:
    real = yaml.safe_load(path.read_text())
    ours = {crd["metadata"]["name"]: crd for crd in builtin_flux_crds()}[real["metadata"]["name"]]
    for field in ("kind", "plural", "singular", "shortNames", "categories"):
        assert ours["spec"]["names"][field] == real["spec"]["names"][field], field
    storage = next(v["name"] for v in real["spec"]["versions"] if v["storage"])
    assert ours["spec"]["versions"][0]["name"] == storage


def test_fixtures_present_or_skip() -> None:
    if not FIXTURES.is_dir():
        pytest.skip("shared fixtures are absent")
    assert sorted(FIXTURES.glob("*.yaml")), "the Flux CRD fixtures should not be empty"


async def test_flux_objects_keep_unknown_fields_and_seeded_status(tmp_path: Path) -> None:
    emulator = ApiEmulator()
    for crd in builtin_flux_crds():
        emulator.register_crd(crd)
    url = await emulator.start()
    try:
        body = {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "podinfo"},
            "spec": {"chart": {"spec": {"chart": "podinfo", "version": "6.5.0"}}},
        }
        async with (
            aiohttp.ClientSession(url) as http,
            http.post("/apis/helm.toolkit.fluxcd.io/v2/namespaces/apps/helmreleases", json=body) as response,
        ):
            created = await response.json()
        assert created["spec"]["chart"]["spec"]["version"] == "6.5.0"
        seeded = emulator.put_object({**body, "status": {"lastAttemptedRevision": "6.5.0"}}, "hr")
        assert seeded["status"] == {"lastAttemptedRevision": "6.5.0"}
    finally:
        await emulator.stop()


def test_project_crds_loads_crd_documents_only(tmp_path: Path) -> None:
    crds_dir = tmp_path / "crds"
    crds_dir.mkdir()
    (crds_dir / "b.yaml").write_text(
        yaml.safe_dump_all(
            [
                {
                    "apiVersion": "apiextensions.k8s.io/v1",
                    "kind": "CustomResourceDefinition",
                    "metadata": {"name": "b"},
                },
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-a-crd"}},
            ]
        )
    )
    (crds_dir / "a.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": "a"},
            }
        )
    )
    (crds_dir / "notes.txt").write_text("ignored")
    assert [crd["metadata"]["name"] for crd in project_crds(tmp_path)] == ["a", "b"]
    assert project_crds(tmp_path / "missing") == []
