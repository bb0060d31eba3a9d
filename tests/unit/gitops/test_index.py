"""The batch index (gitops.index): a checkout's files are read once for many targets, again only when changed."""

from __future__ import annotations

from pathlib import Path

import yaml

from fluxcd_helm_upgrader.gitops import index, locating


def _release(name: str, version: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {"chart": {"spec": {"chart": "c", "version": version}}},
    })  # fmt: skip


def _fleet(root: Path, count: int, kustomization: bool = False) -> None:
    for i in range(count):
        path = root / "apps" / f"app{i}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_release(f"app{i}", "1.0.0"))
    (root / "apps" / "broken.yaml").write_text("app3: [unclosed\n")
    if kustomization:
        (root / "apps" / "kustomization.yaml").write_text(
            "resources:\n" + "".join(f"  - app{i}.yaml\n" for i in range(count))
        )


def _target(i: int) -> locating.Target:
    return locating.Target("HelmRelease", f"app{i}", "apps", current="1.0.0")


def test_scanning_many_targets_reads_each_file_once(tmp_path: Path) -> None:
    _fleet(tmp_path, 40)
    files = index.ManifestIndex(tmp_path)
    found = [locating.locate(tmp_path, _target(i), files=files) for i in range(40)]
    assert [f.path for f in found] == [f"apps/app{i}.yaml" for i in range(40)]
    assert files.reads == 41  # 40 releases and the unparsable file, each once
    # The unparsable file is still named when it mentions the release, as the scan from disk names it.
    (tmp_path / "apps" / "app3.yaml").write_text("kind: ConfigMap\nmetadata: {name: other}\n")
    files = index.ManifestIndex(tmp_path)
    try:
        locating.locate(tmp_path, _target(3), files=files)
    except locating.NotFound as error:
        assert "1 unparsable file(s) skipped: apps/broken.yaml" in str(error)
    else:
        raise AssertionError("app3 is defined nowhere any more")


def test_one_kustomize_build_serves_every_release_of_the_path(tmp_path: Path) -> None:
    _fleet(tmp_path, 30, kustomization=True)
    files = index.ManifestIndex(tmp_path)
    builds = 0
    real = files.build

    def counting(key, make):  # type: ignore[no-untyped-def]
        nonlocal builds
        builds += key not in files._builds
        return real(key, make)

    files.build = counting  # type: ignore[method-assign]
    found = [locating.locate(tmp_path, _target(i), kustomization_path="apps", files=files) for i in range(30)]
    assert {f.via for f in found} == {"base"} and builds == 1
    assert files.reads == 31  # the kustomization and the 30 releases


def test_refresh_reads_only_the_changed_files(tmp_path: Path) -> None:
    _fleet(tmp_path, 10)
    files = index.ManifestIndex(tmp_path, "sha-1")
    for i in range(10):
        locating.locate(tmp_path, _target(i), files=files)
    reads = files.reads
    (tmp_path / "apps" / "app4.yaml").write_text(_release("app4", "1.1.0"))
    files.refresh("sha-1", ["apps/app4.yaml"])  # the same commit: nothing to do
    assert locating.locate(tmp_path, _target(5), files=files).current == "1.0.0" and files.reads == reads
    files.refresh("sha-2", ["apps/app4.yaml"])
    moved = locating.Target("HelmRelease", "app4", "apps", current="1.1.0")
    assert locating.locate(tmp_path, moved, files=files).current == "1.1.0"
    assert locating.locate(tmp_path, _target(5), files=files).current == "1.0.0"
    assert files.reads == reads + 1
