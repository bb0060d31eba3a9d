"""The bounded, C-accelerated YAML loader for every YAML the operator reads: all of it is untrusted.

Used by `checking.indexes` (whole-index fallback and per-chart blocks), `checking.index_scanning` (changelog
annotations), `sources.oci_charts` (a chart's Chart.yaml), `gitops.manifests` (every manifest and kustomization
file of the GitOps repository, `load_all`) and, as `check`, by `gitops.scalars` / `gitops.editing` before
ruamel.yaml parses a file for the one-line edit (ruamel is pure Python: a file nested a few hundred levels deep
exhausts its recursion, and its safe loader would expand an alias bomb). `load_typed` (typed scalars, bounded
merge keys) serves `checking.chart_archive` (a chart's values.yaml and crds/) and the typed manifest reads of
`gitops.manifests` (the locator and the repository scan). Pure; no I/O.

Why not plain ``yaml.CSafeLoader``:

- **Types as Helm sees them.** Helm reads index.yaml into Go string fields, so ``version: 1.10``
  is the string "1.10", not the float 1.1. Only ``null`` and booleans are resolved here; numbers
  and timestamps stay strings exactly as written.
- **No YAML bombs.** Aliases are counted while constructing (an alias is a node constructed
  twice); more than `MAX_ALIASES` -> `UnsafeYAML`. Helm (Go yaml) never writes anchors or
  aliases, so the limit never bites a real index. Merge keys (``<<``) are not resolved, and an
  explicit ``!!merge`` is refused: merges copy node lists and can blow up before construction.
- **Bounded scalars**: one scalar over `MAX_SCALAR_CHARS` -> `UnsafeYAML`.
- **Bounded depth**: libyaml refuses nesting deeper than 1000 levels; the pure-Python fallback
  (used only when PyYAML was built without libyaml) hits Python's recursion limit first, which
  `load` reports as `UnsafeYAML` too. `check` is stricter (`MAX_CHECKED_DEPTH`), for the files that
  ruamel parses afterwards.

Git manifests may use anchors (a few aliases are fine) but not merge keys (`<<`): a file that does is
reported as unparsable, never half-read.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
import yaml.constructor
import yaml.nodes
import yaml.resolver

MAX_ALIASES = 50
MAX_SCALAR_CHARS = 1 << 20
# `load_typed` only: merge keys copy pairs and share values, so it bounds what a reader walking the result visits
# (every value counted as often as it is reachable, `MAX_EXPANDED_NODES`) rather than the alias count alone.
MAX_MERGED_PAIRS = 100_000
MAX_TYPED_ALIASES = 100_000
MAX_EXPANDED_NODES = 2_000_000
MAX_CHECKED_DEPTH = 100  # Kubernetes manifests nest a few dozen levels at most; ruamel fails near 900

try:
    from yaml._yaml import CParser as _Parser

    C_ACCELERATED = True
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: Any) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)

    C_ACCELERATED = False


class UnsafeYAML(yaml.YAMLError):
    """The document exceeds a safety bound (aliases, scalar size, nesting, merge keys)."""


class _Resolver(yaml.resolver.BaseResolver):
    """Resolves only null and booleans (YAML 1.1 spellings, like PyYAML and Go yaml.v2)."""


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"),
    list("yYnNtTfFoO"),
)
_Resolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


class _NoMergeConstructor(yaml.constructor.SafeConstructor):
    def flatten_mapping(self, node: yaml.nodes.MappingNode) -> None:
        if any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value):
            raise UnsafeYAML("YAML merge keys (<<) are not supported")
        super().flatten_mapping(node)


class _Constructor(_NoMergeConstructor):
    _alias_hits = 0
    _max_aliases = MAX_ALIASES

    def construct_object(self, node: yaml.nodes.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            # Constructing a node a second time means it was reached through an alias.
            self._alias_hits += 1
            if self._alias_hits > self._max_aliases:
                raise UnsafeYAML(f"more than {self._max_aliases} YAML aliases: refusing a possible YAML bomb")
        elif isinstance(node, yaml.nodes.ScalarNode) and len(node.value) > MAX_SCALAR_CHARS:
            raise UnsafeYAML(f"a YAML scalar is longer than {MAX_SCALAR_CHARS} characters")
        return super().construct_object(node, deep)


class Loader(_Parser, _Constructor, _Resolver):
    """CParser (libyaml) when available, our bounded constructor, strings-first resolver."""

    def __init__(self, stream: Any) -> None:
        _Parser.__init__(self, stream)
        _Constructor.__init__(self)
        _Resolver.__init__(self)


class _TrustedShapeLoader(_Parser, _NoMergeConstructor, _Resolver):
    """Without the per-node bounds: only for input that cannot break them (see `load`)."""

    def __init__(self, stream: Any) -> None:
        _Parser.__init__(self, stream)
        _NoMergeConstructor.__init__(self)
        _Resolver.__init__(self)


class _TypedResolver(yaml.resolver.Resolver):
    """YAML 1.1 scalars as Go's yaml (Helm's values, Kubernetes manifests) reads them: null, booleans, ints and
    floats; timestamps stay strings (JSON, which Helm validates against, has no timestamps)."""


_TypedResolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}


class _MergingConstructor(_Constructor):
    """Merge keys (`<<: *defaults`, used in Helm values and manifests) with a bound on the pairs they copy: nested
    merges double the copied pairs at each level, so the total is counted and capped."""

    _merged_pairs = 0
    _max_aliases = MAX_TYPED_ALIASES

    def flatten_mapping(self, node: yaml.nodes.MappingNode) -> None:
        merges = any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value)
        yaml.constructor.SafeConstructor.flatten_mapping(self, node)
        if merges:
            self._merged_pairs += len(node.value)
            if self._merged_pairs > MAX_MERGED_PAIRS:
                raise UnsafeYAML(f"YAML merge keys copy more than {MAX_MERGED_PAIRS} pairs: refusing a possible bomb")


class TypedLoader(_Parser, _MergingConstructor, _TypedResolver):
    """Typed scalars with the bounds of `Loader` (aliases, scalar size, nesting); merge keys allowed, bounded."""

    def __init__(self, stream: Any) -> None:
        _Parser.__init__(self, stream)
        _MergingConstructor.__init__(self)
        _TypedResolver.__init__(self)


def load_typed(data: bytes | str) -> list[Any]:
    """Every document of a YAML stream with typed scalars, within the bounds. Raises `yaml.YAMLError`."""
    loader = TypedLoader(data)
    try:
        documents = []
        expanded: dict[int, int] = {}
        while loader.check_data():  # type: ignore[no-untyped-call]
            documents.append(loader.get_data())
            if _expanded_size(documents[-1], expanded) > MAX_EXPANDED_NODES:
                raise UnsafeYAML(f"the YAML expands to more than {MAX_EXPANDED_NODES} values: refusing a YAML bomb")
        return documents
    except RecursionError as error:
        raise UnsafeYAML("YAML nesting is too deep (or recursive)") from error
    finally:
        loader.dispose()


def _expanded_size(value: Any, memo: dict[int, int]) -> int:
    """How many values a full walk of `value` visits (shared values counted each time), computed in linear time."""
    if not isinstance(value, dict | list):
        return 1
    known = memo.get(id(value))
    if known is not None:
        return known
    children = value.values() if isinstance(value, dict) else value
    size = 1 + sum(_expanded_size(child, memo) for child in children)
    memo[id(value)] = size
    return size


def load(data: bytes | str) -> Any:
    """Parse one YAML document safely. Raises `yaml.YAMLError` (incl. `UnsafeYAML`)."""
    # Counting aliases and measuring scalars costs ~15% of parse time. Input without any "&"
    # has no anchor, hence no alias; input shorter than the scalar bound has no longer scalar
    # (escapes and folding only shrink text). Such input skips the per-node checks.
    marker: bytes | str = b"&" if isinstance(data, bytes) else "&"
    safe_shape = len(data) <= MAX_SCALAR_CHARS and marker not in data  # type: ignore[operator]
    loader = _TrustedShapeLoader(data) if safe_shape else Loader(data)
    try:
        return loader.get_single_data()
    except RecursionError as error:
        raise UnsafeYAML("YAML nesting is too deep") from error
    finally:
        loader.dispose()


def load_all(data: bytes | str) -> list[Any]:
    """Parse every document of a YAML stream with the bounds of `load` (counted over the whole stream)."""
    marker: bytes | str = b"&" if isinstance(data, bytes) else "&"
    safe_shape = len(data) <= MAX_SCALAR_CHARS and marker not in data  # type: ignore[operator]
    loader = _TrustedShapeLoader(data) if safe_shape else Loader(data)
    try:
        documents = []
        while loader.check_data():  # type: ignore[no-untyped-call]
            documents.append(loader.get_data())
        return documents
    except RecursionError as error:
        raise UnsafeYAML("YAML nesting is too deep") from error
    finally:
        loader.dispose()


def check(data: bytes | str, *, max_depth: int = MAX_CHECKED_DEPTH) -> None:
    """Raise `UnsafeYAML` (or another `yaml.YAMLError`) unless the stream stays within the bounds: at most
    `max_depth` nested collections, `MAX_ALIASES` aliases, scalars of `MAX_SCALAR_CHARS`. Reads events only
    (libyaml), so it is cheap next to the parse it protects."""
    parser = _Parser(data)
    depth = aliases = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    raise UnsafeYAML(f"YAML nesting is deeper than {max_depth} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise UnsafeYAML(f"more than {MAX_ALIASES} YAML aliases: refusing a possible YAML bomb")
            elif isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
                raise UnsafeYAML(f"a YAML scalar is longer than {MAX_SCALAR_CHARS} characters")
    finally:
        parser.dispose()
