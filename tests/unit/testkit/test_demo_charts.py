"""The demo chart repository backed by a directory: what `demo --serve` tells users to drop a chart into."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import yaml

from fluxcd_helm_upgrader.testkit.demo import charts


def _versions(repo: charts.ChartRepo, chart: str) -> list[str]:
    repo.refresh()
    index = yaml.safe_load(repo.index())
    return [str(entry["version"]) for entry in index["entries"].get(chart, [])]


def test_existing_versions_are_written_as_archives_and_dropped_files_are_published(tmp_path: Path) -> None:
    repo = charts.ChartRepo()
    repo.add("podinfo", "6.7.1")
    directory = repo.publish_to(tmp_path / "charts")
    with tarfile.open(directory / "podinfo-6.7.1.tgz") as archive:
        member = archive.extractfile("podinfo/Chart.yaml")
        assert member is not None and yaml.safe_load(member.read())["version"] == "6.7.1"
    (directory / "podinfo-6.8.0.tgz").touch()  # what the demo prints: an empty file is enough
    (directory / "ingress-nginx-4.11.0-beta.1.tgz").touch()
    (directory / "README.tgz").touch()  # no version in the name: ignored
    assert _versions(repo, "podinfo") == ["6.8.0", "6.7.1"]
    assert _versions(repo, "ingress-nginx") == ["4.11.0-beta.1"]
    assert sorted(yaml.safe_load(repo.index())["entries"]) == ["ingress-nginx", "podinfo"]


def test_a_real_archive_is_read_for_its_name_and_app_version(tmp_path: Path) -> None:
    repo = charts.ChartRepo()
    directory = repo.publish_to(tmp_path)
    chart_yaml = b"apiVersion: v2\nname: redis\nversion: 19.0.0\nappVersion: 7.2.4\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("redis/Chart.yaml")
        info.size = len(chart_yaml)
        archive.addfile(info, io.BytesIO(chart_yaml))
    (directory / "whatever-1.0.0.tgz").write_bytes(buffer.getvalue())
    repo.refresh()
    [entry] = yaml.safe_load(repo.index())["entries"]["redis"]
    assert (entry["version"], entry["appVersion"]) == ("19.0.0", "7.2.4")
