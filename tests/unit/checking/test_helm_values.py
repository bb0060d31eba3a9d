"""Helm's values coalescing and the value paths the risk analysis reports."""

from __future__ import annotations

from typing import Any

import pytest

from fluxcd_helm_upgrader.checking import helm_values


@pytest.mark.parametrize(
    ("release", "defaults", "expected"),
    [
        ({}, {"a": 1}, {"a": 1}),
        ({"a": 2}, {"a": 1}, {"a": 2}),
        ({"s": {"port": 80}}, {"s": {"port": 9898, "type": "ClusterIP"}}, {"s": {"port": 80, "type": "ClusterIP"}}),
        ({"a": None}, {"a": 1, "b": 2}, {"b": 2}),  # null deletes the chart's default
        ({"s": {"port": None}}, {"s": {"port": 1, "x": 2}}, {"s": {"x": 2}}),
        ({"x": None}, {}, {"x": None}),  # no default: the null stays, as in Helm
        ({"s": "flat"}, {"s": {"port": 1}}, {"s": "flat"}),  # table vs non-table: the release wins
        ({"s": {"a": 1}}, {"s": "flat"}, {"s": {"a": 1}}),
        ({"l": [1]}, {"l": [2, 3]}, {"l": [1]}),  # lists are replaced
    ],
)
def test_coalesce_like_helm(release: dict[str, Any], defaults: dict[str, Any], expected: dict[str, Any]) -> None:
    before = repr(defaults)
    assert helm_values.coalesce(release, defaults) == expected
    assert repr(defaults) == before  # inputs untouched


@pytest.mark.parametrize(
    ("release", "current", "target", "removed"),
    [
        ({"service": {"port": 80}}, {"service": {"port": 1}}, {"service": {"ports": {}}}, ["service.port"]),
        ({"service": {"port": 80}}, {"service": {"port": 1}}, {}, ["service.port"]),
        ({"podAnnotations": {"a": "b"}}, {"podAnnotations": {}}, {}, ["podAnnotations"]),
        ({"podAnnotations": {"a": "b"}}, {"podAnnotations": {}}, {"podAnnotations": {}}, []),
        ({"extra": 1}, {}, {}, []),  # never a chart default: not "removed"
        ({"a": {"b.c/d": 1}}, {"a": {"b.c/d": 0}}, {"a": {}}, ['a["b.c/d"]']),
    ],
)
def test_removed_keys(
    release: dict[str, Any], current: dict[str, Any], target: dict[str, Any], removed: list[str]
) -> None:
    assert [helm_values.dotted(p) for p in helm_values.removed_keys(release, current, target)] == removed


def test_defaults_diff_leaves_out_what_the_release_sets_and_names_image_tags() -> None:
    current = {"image": {"tag": "6.5.0", "repository": "x"}, "replicas": 1, "service": {"port": 1}, "old": 1}
    target = {"image": {"tag": "6.7.1", "repository": "x"}, "replicas": 2, "service": {"port": 2}, "new": {"a": 1}}
    diff = helm_values.defaults_diff({"service": {"port": 80}}, current, target)
    assert diff.changed == (("image", "tag"), ("replicas",))
    assert diff.added == (("new", "a"),)
    assert diff.removed == (("old",),)
    assert diff.image_tags == ((("image", "tag"), "6.5.0", "6.7.1"),)
    assert helm_values.defaults_diff({}, {"a": 1}, {"a": 1}).empty
    filled = helm_values.defaults_diff({}, {"podAnnotations": {}}, {"podAnnotations": {"a": "b"}})
    assert (filled.added, filled.removed) == ((("podAnnotations", "a"),), ())
