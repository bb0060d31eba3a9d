"""Reading Helm index.yaml files (checking.indexes): the fast path agrees with a full parse, safely."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxcd_helm_upgrader.checking import indexes

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(REPO_ROOT).parent / "shared" / "fixtures" / "helm-index"
FIXTURE_FILES = ["argo-helm-index.yaml", "bitnami-index.yaml", "ingress-nginx-index.yaml", "podinfo-index.yaml"]


def reference(data: bytes, names: list[str], loader: Any = yaml.SafeLoader) -> dict[str, Any]:
    """What a plain whole-document SafeLoader parse yields, through the same extraction."""
    entries = yaml.load(data, Loader=loader)["entries"] or {}
    result = {}
    for name in names:
        if name in entries:
            versions, _ = indexes.chart_versions_from_raw(name, entries[name])
            if versions is not None:
                result[name] = versions
    return result


# --- real indexes ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=FIXTURE_FILES)
def real_index(request: pytest.FixtureRequest) -> tuple[str, bytes, dict[str, Any]]:
    path = FIXTURES / request.param
    if not path.is_file():
        pytest.skip(f"reference data not present: {path}")
    data = path.read_bytes()
    entries = yaml.load(data, Loader=yaml.CSafeLoader)["entries"]
    return request.param, data, entries


def test_real_index_fast_path_agrees_with_full_parse_for_every_chart(
    real_index: tuple[str, bytes, dict[str, Any]],
) -> None:
    _, data, entries = real_index
    names = list(entries)
    read = indexes.read_charts(data, names)
    assert read.used_fast_path
    assert read.invalid_entries == 0
    assert set(read.charts) == set(names)
    for name in names:
        expected, _ = indexes.chart_versions_from_raw(name, entries[name])
        assert read.charts[name] == expected, name
        assert len(read.charts[name]) == len(entries[name])


def test_real_index_single_chart_matches_and_unknown_is_absent(
    real_index: tuple[str, bytes, dict[str, Any]],
) -> None:
    _, data, entries = real_index
    name = sorted(entries)[len(entries) // 2]
    read = indexes.read_charts(data, [name, "no-such-chart"])
    assert read.used_fast_path
    assert list(read.charts) == [name]
    assert [cv.version for cv in read.charts[name]] == [e["version"] for e in entries[name]]


def test_real_index_content_user_sees() -> None:
    argo = FIXTURES / "argo-helm-index.yaml"
    if not argo.is_file():
        pytest.skip("reference data not present")
    read = indexes.read_charts(argo.read_bytes(), ["argo-cd"])
    versions = read.charts["argo-cd"]
    with_changes = [cv for cv in versions if cv.changes]
    assert with_changes, "argo-cd entries carry artifacthub.io/changes"
    assert all(c.description for cv in with_changes for c in cv.changes)
    assert {c.kind for cv in with_changes for c in cv.changes} <= {
        None,
        "added",
        "changed",
        "deprecated",
        "removed",
        "fixed",
        "security",
    }
    assert all(cv.digest and cv.urls and cv.created for cv in versions)


# --- generated indexes -------------------------------------------------------------------------

ENTRIES: dict[str, Any] = {
    "podinfo": [
        {
            "apiVersion": "v2",
            "name": "podinfo",
            "version": "6.7.1",
            "appVersion": "6.7.1",
            "created": "2024-10-01T10:00:00Z",
            "digest": "a" * 64,
            "urls": ["https://stefanprodan.github.io/podinfo/podinfo-6.7.1.tgz"],
            "annotations": {
                "artifacthub.io/changes": "- kind: fixed\n  description: Fix probes\n"
                "  links:\n  - name: PR\n    url: https://github.com/x/y/pull/1\n"
            },
        },
        {
            "apiVersion": "v2",
            "name": "podinfo",
            "version": "6.5.0",
            "appVersion": "1.10",
            "description": "Podinfo: a tiny web application\nwith a second line",
            "deprecated": True,
            "urls": ["charts/podinfo-6.5.0.tgz"],
        },
    ],
    "my.chart": [{"name": "my.chart", "version": "0.1.0-rc.1", "urls": []}],
    "nginx": [
        {
            "name": "nginx",
            "version": "15.0.0",
            "keywords": ["web", "proxy"],
            "annotations": {"artifacthub.io/changes": "- Bump nginx\n- Fix a typo\n"},
        }
    ],
}
NAMES = ["podinfo", "my.chart", "nginx", "missing"]


class _DeeperListDumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump(document: dict[str, Any], **options: Any) -> bytes:
    text: str = yaml.dump(document, allow_unicode=True, **{"Dumper": yaml.SafeDumper, **options})
    return text.encode()


def _helm(**options: Any) -> bytes:
    return _dump({"apiVersion": "v1", "entries": ENTRIES, "generated": "2024-10-01T10:00:00Z"}, **options)


GENERATED: list[tuple[str, bytes, bool]] = [
    ("helm-style", _helm(), True),
    ("crlf", _helm().replace(b"\n", b"\r\n"), True),
    ("bom", b"\xef\xbb\xbf" + _helm(), True),
    ("bom-crlf", b"\xef\xbb\xbf" + _helm().replace(b"\n", b"\r\n"), True),
    ("quoted-keys", _helm().replace(b"\n  podinfo:", b'\n  "podinfo":').replace(b"\n  nginx:", b"\n  'nginx':"), True),
    ("entries-not-first", _dump({"generated": "2024", "entries": ENTRIES, "apiVersion": "v1"}, sort_keys=False), True),
    ("entries-last", _dump({"apiVersion": "v1", "generated": "2024", "entries": ENTRIES}, sort_keys=False), True),
    ("entries-only", _dump({"entries": ENTRIES}), True),
    ("lists-deeper-than-keys", _helm(Dumper=_DeeperListDumper), True),
    ("four-space-indent", _helm(indent=4), True),
    (
        "comments",
        _helm()
        .replace(b"entries:\n", b"# top\nentries: # the charts\n  # podinfo first\n")
        .replace(b"\n  nginx:", b"\n# a column-0 comment\n  nginx:  # trailing\n"),
        True,
    ),
    ("trailing-spaces-blank-lines", _helm().replace(b"\n  nginx:", b"\n   \n\n  nginx:   "), True),
    ("json", json.dumps({"apiVersion": "v1", "entries": ENTRIES}).encode(), False),
    ("json-pretty", json.dumps({"apiVersion": "v1", "entries": ENTRIES}, indent=2).encode(), False),
    ("flow-style", _helm(default_flow_style=True), False),
    ("flow-entries", _dump({"apiVersion": "v1", "entries": ENTRIES}, default_flow_style=None), True),
    ("document-marker", b"---\n" + _helm(), False),
    ("explicit-end", _helm() + b"...\n", False),
    ("quoted-entries-key", _helm().replace(b"\nentries:", b'\n"entries":'), False),
    # An anchor in one chart and its alias in another wanted chart: that block alone cannot parse.
    (
        "anchor-across-charts",
        _helm()
        .replace(b"  - name: my.chart\n", b"  - &shared\n    name: my.chart\n")
        .replace(b"\n  nginx:\n  - annotations:", b"\n  nginx:\n  - *shared\n  - annotations:"),
        False,
    ),
    # ... but an alias in a chart nobody asked for does not matter.
    (
        "anchor-in-unwanted-chart",
        _helm()
        .replace(b"  - name: my.chart\n", b"  - &shared\n    name: my.chart\n")
        .replace(b"\n  nginx:\n  - annotations:", b"\n  other:\n  - *shared\n  nginx:\n  - annotations:"),
        True,
    ),
    (
        "duplicate-chart-key",
        _helm().replace(b"\n  nginx:", b"\n  podinfo:\n  - version: 0.0.1\n    name: p\n  nginx:"),
        False,
    ),
]


@pytest.mark.parametrize(("label", "data", "fast"), GENERATED, ids=[g[0] for g in GENERATED])
def test_generated_index_both_paths_agree(label: str, data: bytes, fast: bool) -> None:
    read = indexes.read_charts(data, NAMES)
    assert read.used_fast_path is fast
    assert read.charts == reference(data, NAMES)
    assert "missing" not in read.charts
    if label != "duplicate-chart-key":
        assert [cv.version for cv in read.charts["podinfo"]] == ["6.7.1", "6.5.0"]


def test_values_a_user_sees() -> None:
    read = indexes.read_charts(_helm(), NAMES)
    latest, old = read.charts["podinfo"]
    assert latest.changes == (
        indexes.ChangelogEntry("Fix probes", "fixed", (indexes.Link("PR", "https://github.com/x/y/pull/1"),)),
    )
    assert (latest.app_version, latest.created, latest.digest, latest.deprecated) == (
        "6.7.1",
        "2024-10-01T10:00:00Z",
        "a" * 64,
        False,
    )
    # Helm reads strings as written: an appVersion of 1.10 is "1.10", not the float 1.1.
    assert old.app_version == "1.10" and old.deprecated
    assert [c.description for c in read.charts["nginx"][0].changes] == ["Bump nginx", "Fix a typo"]
    assert read.charts["my.chart"][0].urls == ()


def test_unquoted_numbers_stay_strings_in_both_paths() -> None:
    text = b"apiVersion: v1\nentries:\n  app:\n  - version: 1.10\n    appVersion: 2.0\n"
    fast = indexes.read_charts(text, ["app"])
    slow = indexes.read_charts(
        json.dumps({"entries": {"app": [{"version": "1.10", "appVersion": "2.0"}]}}).encode(), ["app"]
    )
    assert fast.used_fast_path and not slow.used_fast_path
    assert fast.charts == slow.charts
    assert fast.charts["app"][0].version == "1.10"


MALFORMED = {
    "good": [
        {"version": "1.0.0"},
        "not a mapping",
        {"name": "good"},
        {"version": None},
        {"version": ["1"]},
        {"version": "2.0.0"},
    ],
    "scalar": "oops",
    "null": None,
}


@pytest.mark.parametrize("form", ["block", "json"])
def test_malformed_entries_are_skipped_and_counted(form: str) -> None:
    document = {"apiVersion": "v1", "entries": MALFORMED}
    data = _dump(document) if form == "block" else json.dumps(document).encode()
    read = indexes.read_charts(data, ["good", "scalar", "null"])
    assert read.used_fast_path is False  # `scalar: oops` is not a chart block: full parse
    assert [cv.version for cv in read.charts["good"]] == ["1.0.0", "2.0.0"]
    assert read.charts["null"] == ()
    assert "scalar" not in read.charts
    assert read.invalid_entries == 4 + 1
    only_lists = indexes.read_charts(_dump({"entries": {"good": MALFORMED["good"]}}), ["good"])
    assert only_lists.used_fast_path
    assert (only_lists.charts, only_lists.invalid_entries) == ({"good": read.charts["good"]}, 4)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\xff\xfe garbage", "not"),
        (b"just a string", "not a YAML mapping"),
        (b"- a\n- list\n", "not a YAML mapping"),
        (b"", "not a YAML mapping"),
        (b"apiVersion: v1\n", "no 'entries'"),
        (b"apiVersion: v1\nentries:\n- a\n", "'entries' is not a mapping"),
        (b"apiVersion: v1\nentries: {unclosed\n", "not valid YAML"),
        (b"apiVersion: v1\nentries:\n  app:\n  \t- version: 1.0.0\n", "not valid YAML"),  # tab indentation
    ],
)
def test_invalid_index_raises_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(indexes.InvalidIndex, match=message):
        indexes.read_charts(data, ["app"])


def test_empty_entries_is_an_empty_index() -> None:
    for data in (b"apiVersion: v1\nentries: {}\n", b"apiVersion: v1\nentries:\n", b"entries: null\n"):
        read = indexes.read_charts(data, ["app"])
        assert read.charts == {} and read.invalid_entries == 0


def _billion_laughs(levels: int = 9) -> bytes:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return ("\n".join(lines) + f"\nentries:\n  app:\n  - version: 1.0.0\n    keywords: *a{levels - 1}\n").encode()


@pytest.mark.parametrize(
    "data",
    [
        _billion_laughs(),
        # The bomb inside the wanted chart's own block: the fast path parses it and must refuse too.
        b"apiVersion: v1\nentries:\n  app:\n  - version: 1.0.0\n    x: &a [1,2,3,4,5,6,7,8,9]\n"
        + b"".join(
            b"    y%d: &a%d [" % (i, i) + b",".join([b"*a" if i == 0 else b"*a%d" % (i - 1)] * 9) + b"]\n"
            for i in range(12)
        ),
        b"apiVersion: v1\nentries:\n  app:\n  - !!merge <<: {version: 1.0.0}\n",
    ],
    ids=["billion-laughs", "bomb-in-wanted-block", "merge-key"],
)
def test_yaml_bombs_are_refused_quickly(data: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(indexes.InvalidIndex, match="refused"):
        indexes.read_charts(data, ["app"])
    assert time.monotonic() - started < 2


def test_a_few_aliases_are_fine() -> None:
    data = b"apiVersion: v1\nentries:\n  app:\n  - &v1\n    version: 1.0.0\n    urls: [u]\n  - *v1\n"
    read = indexes.read_charts(data, ["app"])
    assert [cv.version for cv in read.charts["app"]] == ["1.0.0", "1.0.0"]


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused_quickly(style: str) -> None:
    depth = 20_000
    if style == "flow":
        nested = b"[" * depth + b"]" * depth
        data = b"apiVersion: v1\nentries:\n  app:\n  - version: 1.0.0\n    x: " + nested + b"\n"
    else:
        data = b"apiVersion: v1\nentries:\n  app:\n  - version: 1.0.0\n" + b"".join(
            b"    " + b"  " * i + b"k:\n" for i in range(depth)
        )
    started = time.monotonic()
    with pytest.raises(indexes.InvalidIndex):
        indexes.read_charts(data, ["app"])
    assert time.monotonic() - started < 5


def test_oversized_scalar_is_refused() -> None:
    document = {"entries": {"app": [{"version": "1.0.0", "description": "x" * (2 << 20)}]}}
    with pytest.raises(indexes.InvalidIndex, match="longer than"):
        indexes.read_charts(json.dumps(document).encode(), ["app"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- kind: added\n  description: New flag\n", [("added", "New flag")]),
        ("- Plain line\n- kind: security\n  description: CVE fix\n", [(None, "Plain line"), ("security", "CVE fix")]),
        ("- kind: fixed\n", []),  # no description
        ("[unclosed", []),
        ("just text", []),
        ("- 1.10\n", [(None, "1.10")]),
    ],
)
def test_parse_changes(text: str, expected: list[tuple[str | None, str]]) -> None:
    assert [(c.kind, c.description) for c in indexes.parse_changes(text)] == expected


@pytest.mark.parametrize(
    ("repo", "chart", "expected"),
    [
        (
            "https://argoproj.github.io/argo-helm",
            "argo-cd-7.0.0.tgz",
            "https://argoproj.github.io/argo-helm/argo-cd-7.0.0.tgz",
        ),
        (
            "https://argoproj.github.io/argo-helm/",
            "argo-cd-7.0.0.tgz",
            "https://argoproj.github.io/argo-helm/argo-cd-7.0.0.tgz",
        ),
        ("https://h/charts", "sub/x-1.tgz", "https://h/charts/sub/x-1.tgz"),
        ("https://h/charts", "/abs/x-1.tgz", "https://h/abs/x-1.tgz"),
        ("https://h/charts?token=q", "x-1.tgz", "https://h/charts/x-1.tgz?token=q"),
        ("https://h/charts", "https://cdn/x-1.tgz", "https://cdn/x-1.tgz"),
        ("https://h/charts", "oci://reg/x", "oci://reg/x"),
    ],
)
def test_resolve_url(repo: str, chart: str, expected: str) -> None:
    assert indexes.resolve_url(repo, chart) == expected
