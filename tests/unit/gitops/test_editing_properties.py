"""Properties of gitops.editing (with gitops.scalars) over generated manifest files (hypothesis).

Each example is a multi-document YAML file written by hand: a HelmRelease whose `spec.chart.spec.version` is edited,
decoys holding the same text (the same version under `values`, another HelmRelease, a ConfigMap), block mappings at
any indentation or flow mappings, plain and quoted scalars and keys, comments and blank lines, comment-only
documents, `---`/`...` markers, CRLF line ends, a BOM. Editing the version must

- change exactly that scalar's bytes: everything before and after it is byte-identical;
- keep a quoted scalar's quotes, keep a plain one plain when the new version is a plain semver;
- re-parse (YAML 1.2 with ruamel, YAML 1.1 with PyYAML) to the same documents with only that value changed.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass
from typing import Any

import ruamel.yaml
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluxcd_helm_upgrader.gitops import editing
from tests.support import yaml_text

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
VERSION = ("spec", "chart", "spec", "version")
PLAIN_SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")


@dataclass
class Scalar:
    value: str
    style: str


@dataclass
class Map:
    items: list[tuple[str, Any]]
    flow: bool = False


@dataclass
class Seq:
    items: list[Any]
    flow: bool = False


@dataclass
class Doc:
    root: Map | None  # None: a document of comments only
    start_marker: bool
    end_marker: bool


# --- the model ---------------------------------------------------------------------------------------------------

semver = yaml_text.SEMVER
ranges = st.sampled_from([">=1.0.0 <2.0.0", "1.x", "6.x", "^1.2", "~1.2.3", "*", "1.2.3 || 2.x", ">= 1.0", "1.10"])
versions = st.one_of(semver, semver, ranges, yaml_text.text())
# New values: what the operator writes (semver, ranges) and anything else printable; tricky ones first.
new_values = st.one_of(ranges, yaml_text.text(), semver).filter(str.isprintable)
styles = st.sampled_from(yaml_text.STYLES)
scalars = st.builds(Scalar, value=yaml_text.text(), style=styles)
keys = st.one_of(st.from_regex(r"[a-z][a-zA-Z0-9]{0,8}", fullmatch=True), yaml_text.text(8))


def _maps(leaf: st.SearchStrategy[Any], max_size: int = 3) -> st.SearchStrategy[Map]:
    return st.builds(
        Map,
        items=st.lists(st.tuples(keys, leaf), max_size=max_size, unique_by=lambda kv: kv[0]),
        flow=st.booleans(),
    )


values_trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        _maps(children), st.builds(Seq, items=st.lists(children, max_size=3), flow=st.booleans())
    ),
    max_leaves=8,
)


@dataclass
class Release:
    """What varies in the HelmRelease being edited."""

    version: Scalar
    values: Map
    decoy_in_values: bool
    flow_level: int  # 0: all block; 1: `spec` in flow; 2: `chart`; 3: `chart.spec`


def _release_doc(release: Release, draw: st.DrawFn) -> Map:
    values = copy.deepcopy(release.values)
    if release.decoy_in_values:
        values.items = [(k, v) for k, v in values.items if k != "tag"] + [("tag", copy.deepcopy(release.version))]
    chart_spec = Map(
        _shuffled(
            draw,
            [
                ("chart", Scalar("podinfo", draw(styles))),
                ("version", release.version),
                ("sourceRef", Map([("kind", Scalar("HelmRepository", "plain")), ("name", Scalar("podinfo", "plain"))])),
            ],
        ),
        flow=release.flow_level == 3,
    )
    chart = Map([("spec", chart_spec)], flow=release.flow_level == 2)
    spec = Map(
        _shuffled(draw, [("interval", Scalar("10m", "plain")), ("chart", chart), ("values", values)]),
        flow=release.flow_level == 1,
    )
    metadata = Map(
        [("name", Scalar("podinfo", "plain")), ("namespace", Scalar("apps", draw(styles)))], flow=draw(st.booleans())
    )
    return Map(
        _shuffled(
            draw,
            [
                ("apiVersion", Scalar("helm.toolkit.fluxcd.io/v2", "plain")),
                ("kind", Scalar("HelmRelease", "plain")),
                ("metadata", metadata),
                ("spec", spec),
            ],
        )
    )


def _shuffled(draw: st.DrawFn, items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return list(draw(st.permutations(items)))


# --- writing it out ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    step: int  # block indentation step
    seq_indent: int  # 0: list items level with their key; 2: deeper
    crlf: bool
    bom: bool
    comments: bool
    quoted_keys: bool


shapes = st.builds(
    Shape,
    step=st.integers(1, 4),
    seq_indent=st.sampled_from([0, 2]),
    crlf=st.booleans(),
    bom=st.booleans(),
    comments=st.booleans(),
    quoted_keys=st.booleans(),
)


class Writer:
    """Writes documents line by line and remembers where the target scalar went (line, column, text)."""

    def __init__(self, draw: st.DrawFn, shape: Shape, target: Scalar) -> None:
        self.draw, self.shape, self.target = draw, shape, target
        self.lines: list[str] = []
        self.where: tuple[int, int, str] | None = None

    def key(self, key: str, flow: bool) -> str:
        style = self.draw(styles) if self.shape.quoted_keys else "plain"
        rendered = yaml_text.scalar(key, style, flow)
        return rendered if not yaml_text.is_plain(rendered) or _plain_key_ok(key) else yaml_text.scalar(key, '"')

    def scalar(self, node: Scalar, flow: bool) -> str:
        return yaml_text.scalar(node.value, node.style, flow)

    def add(self, line: str) -> None:
        self.lines.append(line)
        if self.shape.comments and self.draw(st.integers(0, 5)) == 0:
            column = self.draw(st.sampled_from([0, len(line) - len(line.lstrip(" "))]))
            self.lines.append(" " * column + "# " + self.draw(st.sampled_from(["note", "version: 0.0.1", "- x"])))
        if self.shape.comments and self.draw(st.integers(0, 7)) == 0:
            self.lines.append(self.draw(st.sampled_from(["", "  "])))

    def trailing(self) -> str:
        return "  # pinned" if self.shape.comments and self.draw(st.integers(0, 4)) == 0 else ""

    def flow(self, node: Any, parts: list[str]) -> None:
        """Append the flow rendering of `node` to `parts` (the target's column is found from the parts)."""
        if isinstance(node, Scalar):
            text = self.scalar(node, flow=True)
            if node is self.target:
                self.where = (len(self.lines), sum(map(len, parts)), text)
            parts.append(text)
        elif isinstance(node, Map):
            parts.append("{")
            for index, (key, child) in enumerate(node.items):
                parts.append(("" if index == 0 else ", ") + self.key(key, flow=True) + ": ")
                self.flow(child, parts)
            parts.append("}")
        else:
            parts.append("[")
            for index, child in enumerate(node.items):
                if index:
                    parts.append(", ")
                self.flow(child, parts)
            parts.append("]")

    def inline(self, prefix: str, node: Any) -> None:
        """One line: `prefix` then a scalar or a flow collection."""
        parts = [prefix]
        self.flow(node, parts)
        self.add("".join(parts) + self.trailing())

    def block_map(self, node: Map, indent: int, first_prefix: str | None = None) -> None:
        for index, (key, child) in enumerate(node.items):
            lead = first_prefix if index == 0 and first_prefix is not None else " " * indent
            self.entry(lead + self.key(key, flow=False) + ":", indent, child)

    def entry(self, head: str, indent: int, child: Any) -> None:
        empty = isinstance(child, Map | Seq) and not child.items
        if isinstance(child, Scalar) or child.flow or empty:
            self.inline(head + " ", child)
        elif isinstance(child, Map):
            self.add(head + self.trailing())
            self.block_map(child, indent + self.shape.step)
        else:
            self.add(head + self.trailing())
            self.block_seq(child, indent + self.shape.seq_indent)

    def block_seq(self, node: Seq, indent: int) -> None:
        for child in node.items:
            empty = isinstance(child, Map | Seq) and not child.items
            if isinstance(child, Scalar) or child.flow or empty:
                self.inline(" " * indent + "- ", child)
            elif isinstance(child, Map):
                self.block_map(child, indent + 2, first_prefix=" " * indent + "- ")
            else:
                self.add(" " * indent + "-" + self.trailing())
                self.block_seq(child, indent + 2)


def _plain_key_ok(key: str) -> bool:
    # A plain key YAML 1.1 reads as a bool, null, number or date would not be the string key we mean.
    return yaml.safe_load(f"{key}: x") == {key: "x"}


@dataclass
class Generated:
    data: bytes
    doc_index: int
    old: str
    start: int  # byte offsets of the version scalar's text
    end: int
    style: str


@st.composite
def manifests(draw: st.DrawFn) -> Generated:
    release = Release(
        version=Scalar(draw(versions), draw(styles)),
        values=draw(_maps(values_trees, max_size=4)),
        decoy_in_values=draw(st.booleans()),
        flow_level=draw(st.sampled_from([0, 0, 0, 1, 2, 3])),
    )
    shape = draw(shapes)
    target_doc = _release_doc(release, draw)
    decoy_release = Release(copy.deepcopy(release.version), Map([]), False, draw(st.integers(0, 3)))
    others: list[Map | None] = draw(
        st.lists(
            st.sampled_from(["configmap", "release", "comments"]).map(
                lambda kind: {
                    "configmap": Map([
                        ("apiVersion", Scalar("v1", "plain")), ("kind", Scalar("ConfigMap", "plain")),
                        ("data", Map([("version", copy.deepcopy(release.version))])),
                    ]),
                    "release": "release",
                    "comments": None,
                }[kind]
            ),
            max_size=3,
        )
    )  # fmt: skip
    docs_roots = [_release_doc(decoy_release, draw) if other == "release" else other for other in others]
    position = draw(st.integers(0, len(docs_roots)))
    docs_roots.insert(position, target_doc)
    docs = [Doc(root, start_marker=draw(st.booleans()), end_marker=draw(st.booleans())) for root in docs_roots]
    for index, doc in enumerate(docs):
        if index > 0 or doc.root is None:
            doc.start_marker = True  # documents after the first need `---` (YAML 1.1); a comment-only one too

    writer = Writer(draw, shape, release.version)
    doc_index = -1
    for doc in docs:
        if doc.start_marker:
            writer.lines.append("---" + draw(st.sampled_from(["", " # next"])))
        if doc.root is target_doc:
            doc_index = docs.index(doc)
        if doc.root is None:
            writer.lines.append("# only a comment in this document")
        else:
            writer.block_map(doc.root, 0)
        if doc.end_marker:
            writer.lines.append("...")
    assert writer.where is not None
    line, column, rendered = writer.where
    newline = "\r\n" if shape.crlf else "\n"
    text = newline.join(writer.lines) + newline
    before = newline.join(writer.lines[:line]) + (newline if line else "")
    assert text[len(before) + column :].startswith(rendered)
    bom = b"\xef\xbb\xbf" if shape.bom else b""
    start = len(bom) + len((before + writer.lines[line][:column]).encode())
    return Generated(
        data=bom + text.encode(),
        doc_index=doc_index,
        old=release.version.value,
        start=start,
        end=start + len(rendered.encode()),
        style="plain" if yaml_text.is_plain(rendered) else rendered[0],
    )


# --- the property -------------------------------------------------------------------------------------------------


def _ruamel_docs(data: bytes) -> list[Any]:
    return list(ruamel.yaml.YAML(typ="safe", pure=True).load_all(io.BytesIO(data)))


def _pyyaml_docs(data: bytes) -> list[Any]:
    return list(yaml.safe_load_all(data))


def _with_version(docs: list[Any], index: int, value: str) -> list[Any]:
    expected = copy.deepcopy(docs)
    node = expected[index]
    for key in VERSION[:-1]:
        node = node[key]
    node[VERSION[-1]] = value
    return expected


@SETTINGS
@given(manifests(), new_values)
def test_editing_the_version_changes_exactly_its_bytes(generated: Generated, new: str) -> None:
    data = generated.data
    result = editing.edit_scalar(data, generated.doc_index, VERSION, generated.old, new)
    if new == generated.old:
        assert result == data
        return

    tail = len(data) - generated.end
    assert result[: generated.start] == data[: generated.start]
    assert result[len(result) - tail :] == data[generated.end :]
    written = result[generated.start : len(result) - tail].decode()
    if generated.style != "plain":
        assert written[0] == written[-1] == generated.style, written
    elif PLAIN_SEMVER.fullmatch(new):
        assert written == new

    assert _ruamel_docs(result) == _with_version(_ruamel_docs(data), generated.doc_index, new)
    assert _pyyaml_docs(result) == _with_version(_pyyaml_docs(data), generated.doc_index, new)
