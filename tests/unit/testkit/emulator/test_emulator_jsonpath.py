"""The emulator's JSONPath follows k8s.io/client-go/util/jsonpath (AllowMissingKeys) as printer columns use it."""

from __future__ import annotations

from typing import Any

import pytest

from fluxcd_helm_upgrader.testkit.emulator import jsonpath

OBJ: dict[str, Any] = {
    "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "podinfo"}},
    "spec": {"replicas": 3, "ratio": 0.5, "on": True, "tags": ["a", "b", "c"], "empty": None},
    "status": {
        "conditions": [
            {"type": "Reconciling", "status": "False", "priority": 1},
            {"type": "Ready", "status": "True", "message": "ok <done>", "priority": 2},
        ],
        "pullRequest": {"url": "https://example/pull/1", "number": 1},
    },
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.replicas", [3]),
        ("{.spec.replicas}", [3]),
        ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
        (".status.conditions[?(@.type=='Ready')].message", ["ok <done>"]),
        ('.status.conditions[?(@.type!="Ready")].type', ["Reconciling"]),
        (".status.conditions[?(@.priority>1)].type", ["Ready"]),
        (".status.conditions[?(@.message)].type", ["Ready"]),
        (".status.conditions[*].type", ["Reconciling", "Ready"]),
        (".status.conditions[-1].type", ["Ready"]),
        (".spec.tags[0:2]", ["a", "b"]),
        (".spec.tags[::2]", ["a", "c"]),
        (".metadata.labels['app.kubernetes.io/name']", ["podinfo"]),
        ("..number", [1]),
        (".status.missing.deeper", []),
        ('.status.nothing[?(@.type=="Ready")].status', []),
        ('.status.conditions[?(@.type=="Stalled")].status', []),
        (".spec.empty", [None]),
    ],
)
def test_paths_select_what_client_go_selects(path: str, expected: list[Any]) -> None:
    assert jsonpath.parse(path).find(OBJ) == expected


@pytest.mark.parametrize(
    "path",
    [".spec.tags[5]", '.spec.replicas[?(@.x=="y")]', '.status.conditions[?(@.priority=="2")].type'],
)
def test_evaluation_errors_like_client_go(path: str) -> None:
    """Out-of-range index, filtering a non-list, comparing a number with a string: client-go returns an error."""
    with pytest.raises(jsonpath.JsonPathError):
        jsonpath.parse(path).find(OBJ)


def test_unparseable_path_is_an_error() -> None:
    with pytest.raises(jsonpath.JsonPathError):
        jsonpath.parse(".spec[?(broken")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        (12, "12"),
        (True, "true"),
        (0.5, "0.5"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (0.00001, "1e-05"),
        (None, "<no value>"),
        ({"b": 1, "a": "<x>"}, '{"a":"\\u003cx\\u003e","b":1}'),
        (["a", 1], '["a",1]'),
    ],
)
def test_text_prints_like_jsonpath_print_results(value: Any, text: str) -> None:
    assert jsonpath.text(value) == text
