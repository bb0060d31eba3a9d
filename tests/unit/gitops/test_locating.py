"""Tests for gitops.locating (+ editing): golden directories, error cases, and the real Flux fleets.

Every test runs twice: reading the checkout from disk, and through a `gitops.index.ManifestIndex` (the Git
worker's batch index), located twice from the same index: all three answers must be the same.

Golden cases live in testdata/<case>/{original,expected}/ with a case.yaml naming the target, the
mode (kustomization_path / flux_kustomization / scan) and the new value(s); the test copies
original/ to a temporary directory, locates, edits, and compares every file byte-for-byte.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxcd_helm_upgrader.gitops import editing, index, locating

TESTDATA = Path(__file__).parent / "testdata"
REPO_ROOT = Path(__file__).resolve().parents[3]
FLEET = REPO_ROOT.parent / "shared" / "fixtures" / "flux-fleet"
CASES = sorted(p.name for p in TESTDATA.iterdir() if (p / "case.yaml").is_file())


@pytest.fixture(autouse=True, params=["disk", "index"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """With "index", every `locating.locate` call goes through one ManifestIndex per call, asked twice."""
    if request.param == "index":
        real = locating.locate

        def through_index(root: Path, target: locating.Target, **options: Any) -> locating.Location:
            files = index.ManifestIndex(root)
            first = real(root, target, files=files, **options)
            assert real(root, target, files=files, **options) == first
            return first

        monkeypatch.setattr(locating, "locate", through_index)
    return str(request.param)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _locate(root: Path, case: dict[str, Any], field: str | None = None) -> locating.Location:
    target = locating.Target(**{**case["target"], **({"field": field} if field else {})})
    flux = case.get("flux_kustomization")
    return locating.locate(
        root,
        target,
        kustomization_path=case.get("kustomization_path"),
        flux_kustomization=tuple(flux) if flux else None,
    )


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, tmp_path: Path) -> None:
    case = yaml.safe_load((TESTDATA / name / "case.yaml").read_text())
    work = tmp_path / "repo"
    shutil.copytree(TESTDATA / name / "original", work)
    locations = [_locate(work, case, edit.get("field")) for edit in case["edits"]]
    first = locations[0]
    assert (first.path, first.line, first.via) == (
        case["expect"]["path"],
        case["expect"]["line"],
        case["expect"]["via"],
    )
    by_file: dict[str, list[editing.ScalarEdit]] = {}
    for location, edit in zip(locations, case["edits"], strict=True):
        by_file.setdefault(location.path, []).append(location.edit(str(edit["new"])))
    for path, edits in by_file.items():
        target = work / path
        target.write_bytes(editing.edit_scalars(target.read_bytes(), edits))
    assert _files(work) == _files(TESTDATA / name / "expected")


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(textwrap.dedent(text).lstrip())
    return root


RELEASE = textwrap.dedent("""
    apiVersion: helm.toolkit.fluxcd.io/v2
    kind: HelmRelease
    metadata:
      name: podinfo
      namespace: podinfo
    spec:
      chart:
        spec:
          version: "{version}"
    """).lstrip()
TARGET = locating.Target("HelmRelease", "podinfo", "podinfo")


def test_two_patches_at_one_level_are_ambiguous(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [release.yaml]\n",
            "base/release.yaml": RELEASE.format(version="1.0.0"),
            "prod/kustomization.yaml": "resources: [../base]\npatches:\n  - path: a.yaml\n  - path: b.yaml\n",
            "prod/a.yaml": RELEASE.format(version="2.0.0"),
            "prod/b.yaml": RELEASE.format(version="3.0.0"),
        },
    )
    with pytest.raises(locating.Ambiguous) as info:
        locating.locate(tmp_path, TARGET, kustomization_path="prod")
    assert sorted(c.path for c in info.value.candidates) == ["prod/a.yaml", "prod/b.yaml"]
    assert "prod/a.yaml:9" in str(info.value)


def test_inner_overlay_patch_loses_to_outer_overlay_patch(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [release.yaml]\n",
            "base/release.yaml": RELEASE.format(version="1.0.0"),
            "mid/kustomization.yaml": "resources: [../base]\npatches:\n  - path: p.yaml\n",
            "mid/p.yaml": RELEASE.format(version="2.0.0"),
            "top/kustomization.yaml": "resources: [../mid]\npatches:\n  - path: p.yaml\n",
            "top/p.yaml": RELEASE.format(version="3.0.0"),
        },
    )
    assert locating.locate(tmp_path, TARGET, kustomization_path="mid").current == "2.0.0"
    location = locating.locate(tmp_path, TARGET, kustomization_path="top")
    assert (location.path, location.current) == ("top/p.yaml", "3.0.0")


def test_patch_selecting_another_release_is_ignored(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/kustomization.yaml": textwrap.dedent("""
            resources: [release.yaml]
            patches:
              - path: p.yaml
                target: {kind: HelmRelease, name: "other.*"}
              - path: q.yaml
                target: {kind: HelmRelease, labelSelector: "tier in (web, api),!legacy"}
            """),
            "app/release.yaml": RELEASE.format(version="1.0.0").replace(
                "  namespace: podinfo\n", "  namespace: podinfo\n  labels: {tier: db}\n"
            ),
            "app/p.yaml": RELEASE.format(version="2.0.0"),
            "app/q.yaml": RELEASE.format(version="3.0.0"),
        },
    )
    location = locating.locate(tmp_path, TARGET, kustomization_path="app")
    assert (location.path, location.via, location.current) == ("app/release.yaml", "base", "1.0.0")


def test_namespace_override_decides_which_object_matches(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/kustomization.yaml": "namespace: team-b\nresources: [release.yaml]\n",
            "app/release.yaml": RELEASE.format(version="1.0.0"),
        },
    )
    with pytest.raises(locating.NotFound, match="does not produce HelmRelease podinfo/podinfo"):
        locating.locate(tmp_path, TARGET, kustomization_path="app", fallback=False)
    moved = locating.Target("HelmRelease", "podinfo", "team-b")
    assert locating.locate(tmp_path, moved, kustomization_path="app").line == 9


def test_object_without_field_is_not_found_not_guessed(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/kustomization.yaml": "resources: [release.yaml, https://example.com/remote.yaml]\n",
            "app/release.yaml": RELEASE.format(version="1.0.0").replace(
                '      version: "1.0.0"\n', "      chart: podinfo\n"
            ),
            "elsewhere/release.yaml": RELEASE.format(version="9.9.9"),
        },
    )
    with pytest.raises(locating.NotFound) as info:
        locating.locate(tmp_path, TARGET, kustomization_path="app")
    assert "app/release.yaml" in str(info.value) and "spec.chart.spec.version" in str(info.value)
    assert "remote resource https://example.com/remote.yaml skipped" in str(info.value)


def test_scan_ambiguity_tie_break_and_stale_value(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "staging/release.yaml": RELEASE.format(version="1.0.0"),
            "production/release.yaml": RELEASE.format(version="2.0.0"),
            ".git/release.yaml": RELEASE.format(version="3.0.0"),
        },
    )
    with pytest.raises(locating.Ambiguous) as info:
        locating.locate(tmp_path, TARGET)
    assert [c.path for c in info.value.candidates] == ["production/release.yaml", "staging/release.yaml"]
    live = locating.Target("HelmRelease", "podinfo", "podinfo", current="1.0.0")
    assert locating.locate(tmp_path, live).path == "staging/release.yaml"
    with pytest.raises(locating.StaleValue) as stale:
        locating.locate(tmp_path, live, search_path="production")
    assert stale.value.location.current == "2.0.0"


def test_scan_namespace_less_documents_count_only_when_alone(tmp_path: Path) -> None:
    no_ns = RELEASE.replace("  namespace: podinfo\n", "")
    write(
        tmp_path,
        {"a/release.yaml": no_ns.format(version="1.0.0"), "b/release.yaml": no_ns.format(version="2.0.0")},
    )
    with pytest.raises(locating.Ambiguous):
        locating.locate(tmp_path, TARGET)
    write(tmp_path, {"c/release.yaml": RELEASE.format(version="3.0.0")})
    assert locating.locate(tmp_path, TARGET).path == "c/release.yaml"


def test_not_found_names_what_was_searched(tmp_path: Path) -> None:
    write(tmp_path, {"x/release.yaml": RELEASE.format(version="1.0.0"), "x/bad.yaml": "podinfo: [\n"})
    other = locating.Target("HelmRelease", "podinfo", "elsewhere")
    with pytest.raises(locating.NotFound) as info:
        locating.locate(tmp_path, other, kustomization_path="missing/dir")
    message = str(info.value)
    assert "'missing/dir' does not exist" in message
    assert "0 matching document(s)" in message and "1 unparsable file(s) skipped: x/bad.yaml" in message


def test_block_scalar_version_is_reported_not_edited(tmp_path: Path) -> None:
    write(tmp_path, {"r.yaml": RELEASE.replace('version: "{version}"', "version: |\n        1.0.0")})
    with pytest.raises(locating.NotFound, match=r"not editable: .*block scalar"):
        locating.locate(tmp_path, TARGET)


def test_target_rejects_unknown_kind_and_field() -> None:
    with pytest.raises(ValueError, match="unsupported kind"):
        locating.Target("Deployment", "x", "y")
    with pytest.raises(ValueError, match=r"spec\.ref\.tag"):
        locating.Target("OCIRepository", "x", "y", field="spec.version")
    assert locating.Target("HelmChart", "x", "y").field == "spec.version"


def test_find_and_check_a_flux_kustomization_directly(tmp_path: Path) -> None:
    root = TESTDATA / "flux-kustomization-inline" / "original"
    found = locating.find_flux_kustomizations(root, "flux-system", "apps")
    assert [(f.path, f.doc_index) for f in found] == [("clusters/production/apps.yaml", 0)]
    location = locating.locate_in_flux_kustomization(root, found[0].path, found[0].doc_index, TARGET)
    assert location is not None and (location.line, location.current) == (23, "6.5.3")
    other = locating.Target("HelmRelease", "other", "podinfo")
    assert locating.locate_in_flux_kustomization(root, found[0].path, 0, other) is None


# --- the real example fleets (read-only; edits happen on a copy) ---------------------------------


def _fleet(name: str) -> Path:
    path = FLEET / name
    if not path.is_dir():
        pytest.skip(f"fixture {path} not present")
    return path


@pytest.mark.parametrize(
    ("overlay", "current"), [("apps/staging", ">=1.0.0-alpha"), ("apps/production", ">=1.0.0")]
)
def test_fleet_podinfo_overlay_patch_wins_over_base(overlay: str, current: str, tmp_path: Path) -> None:
    # apps/base/podinfo/release.yaml has no version; each overlay's podinfo-values.yaml sets one.
    fleet = _fleet("flux2-kustomize-helm-example")
    location = locating.locate(fleet, TARGET, kustomization_path=overlay)
    assert location.path == f"{overlay}/podinfo-values.yaml"
    assert (location.line, location.current, location.doc_index) == (9, current, 0)
    assert location.via == f"strategic-merge patch in {overlay}/podinfo-values.yaml"

    work = tmp_path / "fleet"
    shutil.copytree(fleet, work)
    before = _files(work)
    edited = work / location.path
    edited.write_bytes(editing.edit_scalars(edited.read_bytes(), [location.edit(">=2.0.0")]))
    after = _files(work)
    changed = [path for path in before if before[path] != after[path]]
    assert changed == [location.path]
    old_lines, new_lines = before[location.path].splitlines(), after[location.path].splitlines()
    diff = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert diff == [(f'      version: "{current}"'.encode(), b'      version: ">=2.0.0"')]


def test_fleet_scan_without_cluster_context_is_ambiguous(tmp_path: Path) -> None:
    fleet = _fleet("flux2-kustomize-helm-example")
    with pytest.raises(locating.Ambiguous) as info:
        locating.locate(fleet, TARGET, flux_kustomization=("flux-system", "apps"))
    assert "2 Flux Kustomization documents flux-system/apps found" in str(info.value)
    assert {c.path for c in info.value.candidates} == {
        "apps/staging/podinfo-values.yaml",
        "apps/production/podinfo-values.yaml",
    }
    live = locating.Target("HelmRelease", "podinfo", "podinfo", current=">=1.0.0-alpha")
    assert locating.locate(fleet, live).path == "apps/staging/podinfo-values.yaml"


def test_fleet_oci_semver_ref_has_no_tag_to_edit() -> None:
    fleet = _fleet("flux2-kustomize-helm-example")
    target = locating.Target("OCIRepository", "cert-manager", "cert-manager")
    with pytest.raises(locating.NotFound, match=r"no base or patch sets spec\.ref\.tag"):
        locating.locate(fleet, target, kustomization_path="infrastructure/controllers")


def test_fleet_kyverno_oci_tag_keeps_its_quotes(tmp_path: Path) -> None:
    fleet = _fleet("flux2-multi-tenancy")
    target = locating.Target("OCIRepository", "kyverno-controller", "flux-system", current="v1.14.4")
    location = locating.locate(fleet, target, kustomization_path="infrastructure/kyverno")
    assert (location.path, location.line, location.via) == ("infrastructure/kyverno/source.yaml", 11, "base")
    data = (fleet / location.path).read_bytes()
    result = editing.edit_scalars(data, [location.edit("v1.15.0")])
    assert result == data.replace(b'tag: "v1.14.4"', b'tag: "v1.15.0"')


def test_fleet_dev_team_legacy_patches_strategic_merge() -> None:
    fleet = _fleet("flux2-multi-tenancy@dev-team")
    target = locating.Target("HelmRelease", "podinfo", "apps")
    location = locating.locate(fleet, target, kustomization_path="production")
    assert (location.path, location.current) == ("production/podinfo-values.yaml", ">=1.0.0")


BOMB_LABELS = "".join(
    f"    l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 7)
)


def test_an_alias_bomb_in_a_git_manifest_is_skipped_not_expanded(tmp_path: Path) -> None:
    # Constructing shares the nodes, but reading labels (str() of each) would walk 10**6 elements per file.
    bomb = RELEASE.format(version="6.5.0").replace(
        "  namespace: podinfo\n",
        "  namespace: podinfo\n  labels:\n    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + BOMB_LABELS,
    )
    root = write(tmp_path, {"apps/podinfo.yaml": RELEASE.format(version="6.5.0"), "bombs/podinfo.yaml": bomb})
    location = locating.locate(root, TARGET)
    assert location.path == "apps/podinfo.yaml"
    with pytest.raises(locating.NotFound, match=r"unparsable file\(s\) skipped: bombs/podinfo\.yaml"):
        locating.locate(root, TARGET, search_path="bombs")
