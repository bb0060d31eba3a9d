"""Reading packaged charts in memory: the parts the risk analysis needs, and the hard limits on hostile archives."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from fluxcd_helm_upgrader.checking import chart_archive
from fluxcd_helm_upgrader.testkit.demo import charts


def _tgz(members: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                archive.addfile(info, io.BytesIO(member[1]))
    return gzip.compress(raw.getvalue())


def test_reads_metadata_values_schema_and_crds() -> None:
    data = charts.package(
        "podinfo",
        "7.0.0",
        {
            "values.yaml": "service:\n  port: 9898\nreplicaCount: 1\nwhen: 2001-12-14\n",
            "values.schema.json": '{"type": "object", "required": ["service"]}',
            "crds/widgets.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
            "metadata: {name: widgets.example.com}\n---\n",
            "charts/sub/values.yaml": "ignored: true\n",
            "templates/deployment.yaml": "{{ .Values.replicaCount }}",
        },
        kube_version=">=1.25.0-0",
    )
    chart = chart_archive.read(data)
    assert (chart.name, chart.version, chart.kube_version) == ("podinfo", "7.0.0", ">=1.25.0-0")
    assert chart.values == {"service": {"port": 9898}, "replicaCount": 1, "when": "2001-12-14"}
    assert chart.schema == {"type": "object", "required": ["service"]}
    assert [(c.path, len(c.documents)) for c in chart.crds] == [("crds/widgets.yaml", 2)]
    assert chart.problems == ()


def test_an_unreadable_values_file_is_a_problem_not_a_guess() -> None:
    chart = chart_archive.read(charts.package("x", "1.0.0", {"values.yaml": "a: [unclosed\n"}))
    assert chart.values == {}
    assert chart.problems and chart.problems[0].startswith("values.yaml could not be read")


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("x/values.yaml", b"{}")], "no <chart>/Chart.yaml"),
        ([("x/Chart.yaml", b"name: x"), ("../evil", b"")], "outside the chart"),
        ([("/x/Chart.yaml", b"name: x")], "outside the chart"),
        ([("x/" + "a" * 1100, b"")], "longer than 1024"),
    ],
)
def test_refuses_unsafe_archives(members: list[tuple[str, bytes]], message: str) -> None:
    with pytest.raises(chart_archive.ChartError, match=message):
        chart_archive.read(_tgz(list(members)))


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE])
def test_refuses_links_and_special_files(kind: bytes) -> None:
    link = tarfile.TarInfo("x/values.yaml")
    link.type, link.linkname = kind, "/etc/passwd"
    with pytest.raises(chart_archive.ChartError, match="link or special file"):
        chart_archive.read(_tgz([("x/Chart.yaml", b"name: x\nversion: 1.0.0\n"), link]))


def test_a_gzip_bomb_stops_at_the_uncompressed_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_archive, "MAX_UNPACKED", 2 << 20)
    bomb = _tgz([("x/Chart.yaml", b"name: x\n"), ("x/templates/big.yaml", b"\0" * (8 << 20))])
    assert len(bomb) < 64 << 10
    with pytest.raises(chart_archive.ChartError, match="unpacks to more than"):
        chart_archive.read(bomb)


def test_limits_on_member_count_compressed_size_and_file_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_archive, "MAX_MEMBERS", 3)
    many = _tgz([("x/Chart.yaml", b"name: x\n")] + [(f"x/templates/{i}.yaml", b"") for i in range(5)])
    with pytest.raises(chart_archive.ChartError, match="more than 3 members"):
        chart_archive.read(many)
    monkeypatch.setattr(chart_archive, "MAX_COMPRESSED", 10)
    with pytest.raises(chart_archive.ChartError, match="over the 10-byte limit"):
        chart_archive.read(many)
    monkeypatch.setattr(chart_archive, "MAX_COMPRESSED", 1 << 20)
    monkeypatch.setattr(chart_archive, "MAX_FILE", 4)
    with pytest.raises(chart_archive.ChartError, match=r"values\.yaml is 9 bytes"):
        chart_archive.read(_tgz([("x/Chart.yaml", b"a: b"), ("x/values.yaml", b"a: 123456")]))


@pytest.mark.parametrize("data", [b"", b"not gzip at all", gzip.compress(b"not a tar archive" * 100)])
def test_garbage_is_a_chart_error(data: bytes) -> None:
    with pytest.raises(chart_archive.ChartError):
        chart_archive.read(data)


def test_merge_keys_in_values_are_read() -> None:
    values = "defaults: &d {cpu: 1, memory: 2}\nweb:\n  <<: *d\n  cpu: 3\n"
    chart = chart_archive.read(charts.package("x", "1.0.0", {"values.yaml": values}))
    assert chart.values["web"] == {"cpu": 3, "memory": 2}


@pytest.mark.parametrize(
    "text",
    [
        # each level holds the previous one twice: 2**30 values for whoever walks it
        "l0: &l0 [1, 2]\n" + "".join(f"l{n}: &l{n} [*l{n - 1}, *l{n - 1}]\n" for n in range(1, 30)),
        "a: &a [*a]\n",  # recursive
    ],
    ids=["shared-sequences", "recursive"],
)
def test_structures_that_explode_when_walked_are_refused(text: str) -> None:
    chart = chart_archive.read(charts.package("x", "1.0.0", {"values.yaml": text}))
    assert chart.values == {} and ("expands to more than" in chart.problems[0] or "recursive" in chart.problems[0])
