"""Unit tests for gitops.editing: one scalar's bytes change, everything else stays byte-for-byte."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.gitops import editing

VERSION = ("spec", "chart", "spec", "version")


def release(version: str, *, eol: str = "\n", comment: str = "") -> bytes:
    lines = [
        "apiVersion: helm.toolkit.fluxcd.io/v2",
        "kind: HelmRelease",
        "metadata: {name: podinfo, namespace: podinfo}",
        "spec:",
        "  chart:",
        "    spec:",
        f"      version: {version}{comment}",
        "      chart: podinfo",
    ]
    return eol.join(lines).encode() + eol.encode()


@pytest.mark.parametrize(
    ("before", "new", "after"),
    [
        ("6.5.3", "6.5.4", "6.5.4"),
        ('"6.5.3"', "6.5.4", '"6.5.4"'),
        ("'6.5.3'", "6.5.4", "'6.5.4'"),
        ("6.x", "7.x", "7.x"),
        ("6.x", "^7.0.0", "^7.0.0"),
        ("6.x", ">=7.0.0 <8.0.0", '">=7.0.0 <8.0.0"'),
        ("6.x", "*", '"*"'),
        ("6.x", "1.10", '"1.10"'),  # plain 1.10 would read back as the float 1.1
        ("6.x", "1:20", '"1:20"'),  # YAML 1.1 sexagesimal integer
        ("6.x", "yes", '"yes"'),  # YAML 1.1 boolean
        ("6.x", "7.0.0 # not a comment", '"7.0.0 # not a comment"'),
        ("'6.x'", "it's", "'it''s'"),
        ('"6.x"', 'say "hi"', '"say \\"hi\\""'),
    ],
)
def test_new_value_keeps_style_or_gets_quoted_when_plain_would_change_meaning(
    before: str, new: str, after: str
) -> None:
    current = before.strip("'\"")
    result = editing.edit_scalar(release(before), 0, VERSION, current, new)
    assert result == release(after)


def test_crlf_comment_and_bom_are_kept() -> None:
    data = b"\xef\xbb\xbf" + release("6.5.3", eol="\r\n", comment="  # pinned")
    result = editing.edit_scalar(data, 0, VERSION, "6.5.3", "6.6.0")
    assert result == b"\xef\xbb\xbf" + release("6.6.0", eol="\r\n", comment="  # pinned")


def test_second_document_only() -> None:
    data = b"---\n" + release("6.5.3") + b"---\n" + release("6.5.3") + b"...\n"
    result = editing.edit_scalar(data, 1, VERSION, "6.5.3", "6.5.4")
    assert result == b"---\n" + release("6.5.3") + b"---\n" + release("6.5.4") + b"...\n"


def test_json6902_op_value() -> None:
    data = b"- op: replace\n  path: /spec/chart/spec/version\n  value: '6.5.3'\n"
    result = editing.edit_scalar(data, 0, (0, "value"), "6.5.3", "7.0.0")
    assert result == b"- op: replace\n  path: /spec/chart/spec/version\n  value: '7.0.0'\n"


def test_flow_sequence_plain_value_with_comma_gets_quoted() -> None:
    data = b"versions: [6.5.3, other]\n"
    assert editing.edit_scalar(data, 0, ("versions", 0), "6.5.3", "a,b") == b'versions: ["a,b", other]\n'


def test_tag_and_digest_in_one_atomic_edit() -> None:
    data = b"spec:\n  ref:\n    tag: v1.0.0\n    digest: 'sha256:aa'  # both\n"
    edits = [
        editing.ScalarEdit(0, ("spec", "ref", "tag"), "v1.0.0", "v1.1.0"),
        editing.ScalarEdit(0, ("spec", "ref", "digest"), "sha256:aa", "sha256:bb"),
    ]
    expected = b"spec:\n  ref:\n    tag: v1.1.0\n    digest: 'sha256:bb'  # both\n"
    assert editing.edit_scalars(data, edits) == expected


def test_one_bad_edit_fails_the_whole_batch() -> None:
    data = b"spec:\n  ref:\n    tag: v1.0.0\n    digest: sha256:aa\n"
    edits = [
        editing.ScalarEdit(0, ("spec", "ref", "tag"), "v1.0.0", "v1.1.0"),
        editing.ScalarEdit(0, ("spec", "ref", "digest"), "sha256:stale", "sha256:bb"),
    ]
    with pytest.raises(editing.EditError, match="sha256:stale"):
        editing.edit_scalars(data, edits)


def test_inline_patch_inside_literal_block() -> None:
    data = (
        b"patches:\r\n"
        b"  - patch: |-\r\n"
        b"      - op: replace\r\n"
        b"        path: /spec/chart/spec/version\r\n"
        b"        value: 6.x  # bump me\r\n"
        b"    target: {kind: HelmRelease}\r\n"
    )
    edit = editing.ScalarEdit(0, ("patches", 0, "patch"), "6.x", ">=7.0.0", editing.Embedded(0, (0, "value")))
    assert editing.edit_scalars(data, [edit]) == data.replace(b"value: 6.x ", b'value: ">=7.0.0" ')


def test_unchanged_value_is_a_no_op() -> None:
    data = release("6.5.3")
    assert editing.edit_scalar(data, 0, VERSION, "6.5.3", "6.5.3") is data


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        (b"spec:\n  chart:\n    spec:\n      version: |\n        6.5.3\n", VERSION, "block scalar"),
        (b"spec:\n  chart:\n    spec:\n      version: >-\n        6.5.3\n", VERSION, "block scalar"),
        (b"spec:\n  chart:\n    spec:\n      version: &v 6.5.3\nother: *v\n", VERSION, "anchor"),
        (b"spec:\n  chart:\n    spec:\n      version: !!str 6.5.3\n", VERSION, "tag"),
        (b'spec:\n  chart:\n    spec:\n      version: "6.5\n        .3"\n', VERSION, "several lines"),
        (b"spec:\n  chart:\n    spec: {}\n", VERSION, "no spec.chart.spec.version"),
        (b"spec:\n  chart: {spec: {version: 6.5.3}}\n", ("spec", "chart"), "not a scalar"),
        (b"spec:\n  chart:\n    spec:\n      version: 6.5.2\n", VERSION, "expected '6.5.3'"),
    ],
)
def test_refuses_unsafe_edits(data: bytes, path: tuple[str, ...], message: str) -> None:
    with pytest.raises(editing.EditError, match=message):
        editing.edit_scalar(data, 0, path, "6.5.3", "6.5.4")


def test_refuses_missing_document_and_bad_new_value() -> None:
    with pytest.raises(editing.EditError, match="document 3 does not exist"):
        editing.edit_scalar(release("6.5.3"), 3, VERSION, "6.5.3", "6.5.4")
    with pytest.raises(editing.EditError, match="control characters"):
        editing.edit_scalar(release("6.5.3"), 0, VERSION, "6.5.3", "6.5.4\nfoo: bar")


def test_verification_catches_a_wrong_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    # If rendering ever produced text that means something else, the re-parse must refuse it.
    monkeypatch.setattr(editing, "render", lambda value, style, flow=False: "6.5.4\n      extra: 1")
    with pytest.raises(editing.EditError, match="more than the requested value"):
        editing.edit_scalar(release("6.5.3"), 0, VERSION, "6.5.3", "6.5.4")
    monkeypatch.setattr(editing, "render", lambda value, style, flow=False: "6.5.4 # x")
    data = b"a: [6.5.3, b]\n"
    with pytest.raises(editing.EditError):
        editing.edit_scalar(data, 0, ("a", 0), "6.5.3", "6.5.4")


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("7.x", True),
        ("v1.2.3", True),
        ("7.0.0-rc.1+build.5", True),
        ("sha256:abcd", True),
        (">=1.0.0", False),
        ("~1.2", True),
        ("null", False),
        ("1e3", False),
        ("", False),
        (" 1", False),
    ],
)
def test_plain_is_safe(value: str, safe: bool) -> None:
    assert editing.plain_is_safe(value) is safe


@pytest.mark.parametrize("depth", [150, 900])
def test_deeply_nested_files_are_refused_before_ruamel_parses_them(depth: int) -> None:
    data = ("version: 1.0.0\nvalues: " + "[" * depth + "]" * depth + "\n").encode()
    with pytest.raises(editing.EditError, match="nesting is deeper"):
        editing.edit_scalars(data, [editing.ScalarEdit(0, ("version",), "1.0.0", "2.0.0")])
