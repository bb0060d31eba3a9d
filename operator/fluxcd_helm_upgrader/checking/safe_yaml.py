"""The bounded, C-accelerated YAML loader for every YAML the operator reads: all of it is untrusted.

Used by `checking.indexes` (whole-index fallback and per-chart blocks), `checking.index_scanning` (changelog
annotations), `sources.oci_charts` (a chart's Chart.yaml), `gitops.manifests` (every manifest and kustomization
file of the GitOps repository, `load_all`) and, as `check`, by `gitops.scalars` / `gitops.editing` before
ruamel.yaml parses a file for the one-line edit (ruamel is pure Python: a file nested a few hundred levels deep
exhausts its recursion, and its safe loader would expand an alias bomb). Pure; no I/O.

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

    def construct_object(self, node: yaml.nodes.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            # Constructing a node a second time means it was reached through an alias.
            self._alias_hits += 1
            if self._alias_hits > MAX_ALIASES:
                raise UnsafeYAML(f"more than {MAX_ALIASES} YAML aliases: refusing a possible YAML bomb")
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
