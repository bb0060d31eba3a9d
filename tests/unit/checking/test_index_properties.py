"""Properties of checking.indexes (fast path: checking.index_scanning) over generated index.yaml files (hypothesis).

Each example is a model of an index (chart names, versions with odd spellings, the fields a user sees, changelog
annotations), written out by hand in one of many shapes: block style at any indentation with list items level with
the keys or deeper, quoted keys and values in every quoting style, flow entries, the whole `entries` section or the
whole file as JSON, comments and blank lines anywhere a comment may go, CRLF line ends, a BOM. The reader must

- agree with the full safe parse (`indexes.full_entries`, the bounded loader of checking.safe_yaml) on every
  requested chart, and with the model itself (the versions as written, scalars read as strings as Helm does);
- count the same invalid entries;
- take the fast path whenever the file is shaped as Helm writes it (so the property exercises it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fluxcd_helm_upgrader.checking import index_scanning, indexes
from tests.support import yaml_text

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TRUE_SPELLINGS = ["true", "True", "TRUE", "yes", "Yes", "on", "ON"]
FALSE_SPELLINGS = ["false", "False", "no", "off", "OFF"]


@dataclass
class Change:
    description: str
    kind: str | None = None  # absent when None
    links: list[tuple[str | None, str]] = field(default_factory=list)
    as_string: bool = False  # a plain-string changelog item instead of a mapping


@dataclass
class Entry:
    version: str
    app_version: str | None
    digest: str | None
    deprecated: str | None  # the spelling written, or None for no `deprecated` key
    urls: list[str]
    changes: list[Change] | None  # None: no annotation
    invalid: str | None = None  # "scalar" (a list item that is not a mapping) or "no-version"

    def expected(self, name: str) -> indexes.ChartVersion | None:
        if self.invalid or not self.version:
            return None
        return indexes.ChartVersion(
            name=name,
            version=self.version,
            app_version=self.app_version or None,
            digest=self.digest or None,
            deprecated=self.deprecated in TRUE_SPELLINGS,
            urls=tuple(self.urls),
            changes=tuple(_expected_changes(self.changes or [])),
        )


@dataclass
class Chart:
    name: str
    entries: list[Entry] | None  # None: the chart's value is null


def _expected_changes(changes: list[Change]) -> list[indexes.ChangelogEntry]:
    result = []
    for change in changes:
        if change.as_string:
            if change.description.strip():
                result.append(indexes.ChangelogEntry(description=change.description))
        else:
            kind = change.kind.strip().lower() or None if change.kind is not None else None
            links = tuple(indexes.Link(name, url) for name, url in change.links)
            result.append(indexes.ChangelogEntry(description=change.description, kind=kind, links=links))
    return result


# --- the model ---------------------------------------------------------------------------------------------------

simple_names = st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True)
odd_names = st.sampled_from(["my.chart", "a/b", "A_B", "_x", "1.0", "10", "my chart", "a:b", "#x", "-x", "日本"])
any_text_names = yaml_text.text(12).filter(lambda s: s.strip() == s)
names = st.one_of(simple_names, simple_names, simple_names, odd_names, st.just("it's"), any_text_names)
versions = st.one_of(yaml_text.SEMVER, yaml_text.SEMVER, yaml_text.text())
optional_text = st.none() | yaml_text.text(30)
changes = st.lists(
    st.builds(
        Change,
        description=yaml_text.text(40) | st.just(""),
        kind=st.none() | st.sampled_from(["added", "Changed", "FIXED", " security ", "", "removed"]),
        links=st.lists(st.tuples(st.none() | yaml_text.text(10), yaml_text.text(30)), max_size=2),
        as_string=st.booleans(),
    ),
    max_size=3,
)
entries = st.builds(
    Entry,
    version=versions,
    app_version=optional_text,
    digest=st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    deprecated=st.none() | st.sampled_from(TRUE_SPELLINGS + FALSE_SPELLINGS + ['"true"']),
    urls=st.lists(yaml_text.text(30), max_size=2),
    changes=st.none() | changes,
    invalid=st.sampled_from([None, None, None, None, "scalar", "no-version"]),
)
any_charts = st.lists(
    st.builds(Chart, name=names, entries=st.one_of(st.lists(entries, min_size=1, max_size=3), st.none(), st.just([]))),
    min_size=1,
    max_size=4,
    unique_by=lambda chart: chart.name,
)
# As Helm writes them: simple chart names, every chart with versions.
helm_charts = st.lists(
    st.builds(Chart, name=simple_names, entries=st.lists(entries, min_size=1, max_size=4)),
    min_size=2,
    max_size=4,
    unique_by=lambda chart: chart.name,
)


@dataclass(frozen=True)
class Shape:
    """How the model is written out."""

    layout: str  # "block", "flow-entries" (the entries section as JSON), "json" (the whole file)
    indent: int  # chart keys' indentation
    item_indent: int  # list items' extra indentation under a key (0: level with the key, as Helm writes)
    field_indent: int  # nested mappings' indentation step
    entries_position: int  # where `entries:` sits among the top-level keys
    crlf: bool
    bom: bool
    comments: bool
    flow_items: bool  # some entries as flow mappings `- {version: ..., ...}`


shapes = st.builds(
    Shape,
    layout=st.sampled_from(["block", "block", "block", "block", "flow-entries", "json"]),
    indent=st.integers(1, 4),
    item_indent=st.sampled_from([0, 0, 2]),
    field_indent=st.sampled_from([2, 2, 4]),
    entries_position=st.integers(0, 2),
    crlf=st.booleans(),
    bom=st.booleans(),
    comments=st.booleans(),
    flow_items=st.booleans(),
)


# --- writing it out ----------------------------------------------------------------------------------------------


class Writer:
    """Builds the file line by line; comments go only between lines where YAML allows them."""

    def __init__(self, draw: st.DrawFn, shape: Shape) -> None:
        self.draw, self.shape = draw, shape
        self.lines: list[str] = []

    def style(self) -> str:
        return self.draw(st.sampled_from(yaml_text.STYLES))

    def string(self, value: str, flow: bool = False) -> str:
        """A scalar that reads back as the string `value` (never plain when YAML 1.1 would read a bool or null)."""
        rendered = yaml_text.scalar(value, self.style(), flow)
        if yaml_text.is_plain(rendered) and yaml_text.BOOL_OR_NULL.match(value):
            return yaml_text.scalar(value, '"')
        return rendered

    def add(self, line: str, comment_ok: bool = True, after_literal: bool = False) -> None:
        self.lines.append(line)
        if comment_ok and self.shape.comments and self.draw(st.integers(0, 5)) == 0:
            columns = [0, self.shape.indent]
            if not after_literal:  # a comment at a literal block's indentation would be part of its text
                columns.append(len(line) - len(line.lstrip(" ")))
            column = self.draw(st.sampled_from(columns))
            self.lines.append(" " * column + "# " + self.draw(st.sampled_from(["a comment", "entries:", "- x: 1", ""])))
        if comment_ok and self.shape.comments and self.draw(st.integers(0, 7)) == 0:
            self.lines.append(self.draw(st.sampled_from(["", "   "])))

    def trailing(self) -> str:
        if self.shape.comments and self.draw(st.integers(0, 4)) == 0:
            return "  # trailing"
        return ""

    def entry(self, item: Entry, at: int) -> None:
        step = self.shape.field_indent
        if item.invalid == "scalar":
            self.add(" " * at + "- " + self.string(item.version) + self.trailing())
            return
        fields: list[tuple[str, Any]] = []
        if item.invalid != "no-version":
            fields.append(("version", item.version))
        fields += [("name", "chart"), ("apiVersion", "v2")]
        if item.app_version is not None:
            fields.append(("appVersion", item.app_version))
        if item.digest is not None:
            fields.append(("digest", item.digest))
        if item.deprecated is not None:
            fields.append(("deprecated", item.deprecated))
        fields.append(("urls", item.urls))
        if item.changes is not None:
            fields.append(("annotations", item.changes))
        fields = self.draw(st.permutations(fields))
        if self.shape.flow_items and item.changes is None and self.draw(st.booleans()):
            parts = [f"{key}: {self.flow_value(key, value)}" for key, value in fields]
            self.add(" " * at + "- {" + ", ".join(parts) + "}" + self.trailing())
            return
        for index, (key, value) in enumerate(fields):
            lead = " " * at + "- " if index == 0 else " " * (at + 2)
            self.block_field(lead, at + 2, key, value, step)

    def flow_value(self, key: str, value: Any) -> str:
        if key == "deprecated":
            return str(value)
        if key == "urls":
            return "[" + ", ".join(self.string(url, flow=True) for url in value) + "]"
        return self.string(value, flow=True)

    def block_field(self, lead: str, at: int, key: str, value: Any, step: int) -> None:
        if key == "deprecated":
            self.add(f"{lead}{key}: {value}{self.trailing()}")
        elif key == "urls":
            if not value:
                self.add(f"{lead}urls: []{self.trailing()}")
                return
            self.add(f"{lead}urls:{self.trailing()}")
            list_at = at + self.draw(st.sampled_from([0, step]))
            for url in value:
                self.add(" " * list_at + "- " + self.string(url) + self.trailing())
        elif key == "annotations":
            self.add(f"{lead}annotations:{self.trailing()}")
            self.changelog(at + step, value)
        else:
            self.add(f"{lead}{key}: {self.string(value)}{self.trailing()}")

    def changelog(self, at: int, items: list[Change]) -> None:
        data = _changelog_data(items)
        flow = self.draw(st.booleans())
        inner = yaml_text.dump(data, flow)
        key = yaml_text.scalar(indexes.CHANGES_ANNOTATION, self.style())
        how = self.draw(st.sampled_from(["|", "|-", '"']))
        if how == '"':
            self.add(" " * at + f"{key}: " + yaml_text.scalar(inner, '"') + self.trailing())
            return
        # A literal block keeps its lines verbatim: no comment or blank line may go inside it.
        self.add(" " * at + f"{key}: {how}", comment_ok=False)
        lines = inner.rstrip("\n").split("\n")
        for index, line in enumerate(lines):
            last = index == len(lines) - 1
            self.add(" " * (at + 2) + line if line else "", comment_ok=last, after_literal=last)

    def chart(self, chart: Chart, rendered_key: str) -> None:
        indent, shape = " " * self.shape.indent, self.shape
        if chart.entries is None:
            self.add(f"{indent}{rendered_key}:{self.trailing()}")
            return
        if not chart.entries:
            self.add(f"{indent}{rendered_key}: []{self.trailing()}")
            return
        self.add(f"{indent}{rendered_key}:{self.trailing()}")
        for item in chart.entries:
            self.entry(item, shape.indent + shape.item_indent)


def _json_entries(model: list[Chart]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for chart in model:
        if chart.entries is None:
            result[chart.name] = None
            continue
        result[chart.name] = []
        for item in chart.entries:
            if item.invalid == "scalar":
                result[chart.name].append(item.version)
                continue
            body: dict[str, Any] = {} if item.invalid == "no-version" else {"version": item.version}
            if item.app_version is not None:
                body["appVersion"] = item.app_version
            if item.digest is not None:
                body["digest"] = item.digest
            if item.deprecated is not None:
                body["deprecated"] = item.deprecated in TRUE_SPELLINGS  # JSON has one spelling
            body["urls"] = item.urls
            if item.changes is not None:
                text = yaml_text.dump(_changelog_data(item.changes), flow=False)
                body["annotations"] = {indexes.CHANGES_ANNOTATION: text}
            result[chart.name].append(body)
    return result


def _changelog_data(items: list[Change]) -> list[Any]:
    data: list[Any] = []
    for change in items:
        if change.as_string:
            data.append(change.description)
            continue
        body: dict[str, Any] = {"description": change.description}
        if change.kind is not None:
            body["kind"] = change.kind
        if change.links:
            body["links"] = [{"url": url} if name is None else {"name": name, "url": url} for name, url in change.links]
        data.append(body)
    return data


@st.composite
def indexes_with_model(draw: st.DrawFn, helm_like: bool = False) -> tuple[bytes, list[Chart], Shape, bool]:
    """(file bytes, model, shape, whether the file is shaped as Helm writes it and the fast path must be taken)."""
    model = draw(helm_charts if helm_like else any_charts)
    shape = draw(shapes.filter(lambda shape: shape.layout == "block") if helm_like else shapes)
    writer = Writer(draw, shape)
    helm_shaped = shape.layout == "block"
    top = [("apiVersion", "v1"), ("generated", "2024-10-01T10:00:00.000000000Z")]
    top.insert(shape.entries_position, ("entries", None))
    if shape.layout == "json":
        document = {key: (_json_entries(model) if key == "entries" else value) for key, value in top}
        text = json.dumps(document, ensure_ascii=False, indent=draw(st.sampled_from([None, 2])))
    else:
        for key, value in top:
            if key != "entries":
                writer.add(f"{key}: {writer.string(value)}{writer.trailing()}")
            elif shape.layout == "flow-entries":
                writer.add("entries: " + json.dumps(_json_entries(model), ensure_ascii=False))
            else:
                writer.add(f"entries:{writer.trailing()}")
                for chart in model:
                    rendered = writer.string(chart.name)
                    helm_shaped = helm_shaped and chart.entries != [] and _simple_key(rendered)
                    writer.chart(chart, rendered)
        text = "\n".join(writer.lines) + "\n"
    if shape.crlf:
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    if shape.bom:
        data = b"\xef\xbb\xbf" + data
    return data, model, shape, helm_shaped


def _simple_key(rendered: str) -> bool:
    """A chart key the fast path reads by itself (module doc of checking.index_scanning)."""
    return bool(index_scanning._KEY.fullmatch(rendered.encode() + b":"))


# --- the properties ----------------------------------------------------------------------------------------------


@SETTINGS
@given(indexes_with_model(helm_like=True), st.data())
def test_helm_shaped_indexes_take_the_fast_path_and_read_every_version(
    generated: tuple[bytes, list[Chart], Shape, bool], data: st.DataObject
) -> None:
    raw, model, _, helm_shaped = generated
    assert helm_shaped
    wanted = data.draw(st.lists(st.sampled_from([c.name for c in model]), min_size=1, unique=True))
    read = indexes.read_charts(raw, wanted)
    assert read.used_fast_path
    _assert_reads_as_model(read, model, wanted)
    _assert_agrees_with_full_parse(read, raw, wanted)


@SETTINGS
@given(indexes_with_model(), st.data())
def test_any_index_reads_as_the_full_safe_parse(
    generated: tuple[bytes, list[Chart], Shape, bool], data: st.DataObject
) -> None:
    raw, model, shape, helm_shaped = generated
    wanted = data.draw(st.lists(st.sampled_from([c.name for c in model]), min_size=1, unique=True))
    wanted.append("not-in-this-index")
    read = indexes.read_charts(raw, wanted)
    _assert_reads_as_model(read, model, wanted)
    _assert_agrees_with_full_parse(read, raw, wanted)
    event(f"layout={shape.layout} fast={read.used_fast_path}")
    if helm_shaped:
        assert read.used_fast_path, "a Helm-shaped index must not need the full parse"
    if shape.layout != "block":
        assert not read.used_fast_path


def _assert_reads_as_model(read: indexes.IndexRead, model: list[Chart], wanted: list[str]) -> None:
    expected: dict[str, tuple[indexes.ChartVersion, ...]] = {}
    expected_invalid = 0
    for chart in model:
        if chart.name not in wanted:
            continue
        versions = [item.expected(chart.name) for item in chart.entries or []]
        expected[chart.name] = tuple(v for v in versions if v is not None)
        expected_invalid += sum(v is None for v in versions)
    assert read.charts == expected
    assert read.invalid_entries == expected_invalid


def _assert_agrees_with_full_parse(read: indexes.IndexRead, raw: bytes, wanted: list[str]) -> None:
    full = indexes.full_entries(raw)
    from_full = {name: indexes.chart_versions_from_raw(name, full[name]) for name in wanted if name in full}
    assert read.charts == {name: versions for name, (versions, _) in from_full.items() if versions is not None}
    assert read.invalid_entries == sum(bad for _, bad in from_full.values())
