"""Helm values as Helm treats them: coalescing a release's values over a chart's defaults, and value paths. Pure.

Called by `checking.risk`. `coalesce` follows Helm's `chartutil.CoalesceValues` for the top-level chart (the
release's `spec.values` win; maps are merged key by key; a `null` the release sets deletes the default; a map
and a non-map never merge: the release's value is kept, as Helm does after its "cannot overwrite table" warning;
lists are replaced whole). Subchart and `global` propagation are not modelled: the risk analysis validates the
top-level chart's schema only.

Paths are dotted (`service.port`); a key holding a dot is written in brackets (`podAnnotations["a.b/c"]`), so a
path names exactly one key. Lists are leaves: a release that sets `tolerations` sets the whole list.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Path = tuple[str, ...]
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def coalesce(release: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The values Helm renders with: `release` over `defaults`. Neither input is modified; the result shares the
    defaults' subtrees the release does not touch (read it, do not modify it: a chart's defaults are cached)."""
    merged = copy.deepcopy(dict(release))
    _coalesce_into(merged, defaults)
    return merged


def _coalesce_into(dest: dict[str, Any], defaults: Mapping[str, Any]) -> None:
    for key, default in defaults.items():
        if key not in dest:
            dest[key] = default
        elif dest[key] is None:
            del dest[key]  # `key: null` in the release removes the chart's default
        elif isinstance(dest[key], dict) and isinstance(default, Mapping):
            _coalesce_into(dest[key], default)
        # otherwise the release's value wins (Helm warns when a table meets a non-table, and keeps the user's);
        # a null the chart has no default for stays null, as in Helm


def leaves(values: Mapping[str, Any]) -> dict[Path, Any]:
    """Every leaf (see `leaf_paths`) with its value, in one walk."""
    found: dict[Path, Any] = {}
    pending: list[tuple[Path, Mapping[str, Any]]] = [((), values)]
    while pending:
        prefix, node = pending.pop()
        for key, value in node.items():
            path = (*prefix, str(key))
            if isinstance(value, Mapping) and value:
                pending.append((path, value))
            else:
                found[path] = value
    return found


def leaf_paths(values: Mapping[str, Any], prefix: Path = ()) -> Iterator[Path]:
    """Every path that holds a non-map value (lists, scalars, null); an empty map counts as a leaf too."""
    for key, value in values.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from leaf_paths(value, path)
        else:
            yield path


def get(values: Mapping[str, Any], path: Path) -> tuple[bool, Any]:
    """(True, value) when `path` exists in `values` (through maps only), else (False, None)."""
    node: Any = values
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def has(values: Mapping[str, Any], path: Path) -> bool:
    return get(values, path)[0]


def dotted(path: Path) -> str:
    """`("service", "port")` -> `service.port`; keys that are not plain names go in brackets."""
    text = ""
    for key in path:
        if _PLAIN_KEY.match(key):
            text += f".{key}" if text else key
        else:
            text += "[" + repr(key).replace("'", '"') + "]" if key.isprintable() else "[…]"
    return text


def removed_keys(release: Mapping[str, Any], current: Mapping[str, Any], target: Mapping[str, Any]) -> list[Path]:
    """Paths the release sets whose key the current chart defaults and the target chart no longer has.

    For each value the release sets, the deepest prefix the current chart knows is the key compared: a release
    setting `podAnnotations.a` on a chart defaulting `podAnnotations: {}` reports `podAnnotations` when the target
    drops it. Sorted, without duplicates."""
    found: dict[Path, None] = {}
    for path in leaf_paths(release):
        known = next((path[:n] for n in range(len(path), 0, -1) if has(current, path[:n])), None)
        if known is not None and not has(target, known):
            found[known] = None
    return sorted(found)


@dataclass(frozen=True)
class DefaultsDiff:
    """How the chart's own defaults changed under keys the release does not set."""

    changed: tuple[Path, ...]
    added: tuple[Path, ...]
    removed: tuple[Path, ...]
    image_tags: tuple[tuple[Path, Any, Any], ...]  # (path, old, new) of changed `...image.tag`-like values

    @property
    def empty(self) -> bool:
        return not (self.changed or self.added or self.removed)


def defaults_diff(
    release: Mapping[str, Any],
    current: Mapping[str, Any],
    target: Mapping[str, Any],
    flat: tuple[Mapping[Path, Any], Mapping[Path, Any]] | None = None,
) -> DefaultsDiff:
    """Compare the two charts' defaults, leaving out everything at or below a path the release sets.

    `flat` is the two charts' `leaves` when the caller has them cached (a big chart is then walked once per chart,
    not once per release); the comparison itself is linear in the leaves."""
    old, new = flat if flat is not None else (leaves(current), leaves(target))
    set_paths = set(leaf_paths(release))
    heads = {path[0] for path in set_paths}

    def unset(path: Path) -> bool:
        return path[0] not in heads or not any(path[:n] in set_paths for n in range(1, len(path) + 1))

    changed = tuple(sorted(p for p, value in old.items() if p in new and new[p] != value and unset(p)))
    return DefaultsDiff(
        changed=changed,
        added=tuple(sorted(p for p in new if p not in old and unset(p) and not has(current, p))),
        removed=tuple(sorted(p for p in old if p not in new and unset(p) and not has(target, p))),
        image_tags=tuple((p, old[p], new[p]) for p in changed if _is_image_tag(p)),
    )


def _is_image_tag(path: Path) -> bool:
    return path[-1] == "imageTag" or (len(path) >= 2 and path[-1] == "tag" and "image" in path[-2].lower())
