"""Scope filtering: namespaces and label selectors as Kubernetes defines them."""

import pytest

from fluxcd_helm_upgrader.checking import scope

LABELS = {"team": "a", "tier": "web"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, True),
        ({}, True),
        ({"matchLabels": {"team": "a"}}, True),
        ({"matchLabels": {"team": "b"}}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, False),
        ({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, False),
        ({"matchLabels": {"team": "a"}, "matchExpressions": [{"key": "x", "operator": "Exists"}]}, False),
    ],
)
def test_selector(selector: dict | None, expected: bool) -> None:
    assert scope.matches(LABELS, selector) is expected


def test_bad_operator_names_the_term() -> None:
    with pytest.raises(scope.SelectorError, match="'Like'"):
        scope.matches(LABELS, {"matchExpressions": [{"key": "team", "operator": "Like"}]})


@pytest.mark.parametrize(
    ("namespace", "cluster_wide", "namespaces", "expected"),
    [("apps", True, [], True), ("apps", False, ["apps"], True), ("apps", False, ["other"], False)],
)
def test_namespaces(namespace: str, cluster_wide: bool, namespaces: list[str], expected: bool) -> None:
    assert scope.in_scope(namespace, {}, cluster_wide=cluster_wide, namespaces=namespaces, selector=None) is expected


@pytest.mark.parametrize(("cluster_wide", "namespaces"), [(True, []), (False, ["team-a", "team-b"])])
def test_excluded_namespaces_are_never_in_scope(cluster_wide: bool, namespaces: list[str]) -> None:
    """What a config's ServiceAccount may not list (a SubjectAccessReview said no) is out, however it was named."""
    covered = {
        namespace: scope.in_scope(
            namespace, {}, cluster_wide=cluster_wide, namespaces=namespaces, selector=None, excluded={"team-a"}
        )
        for namespace in ("team-a", "team-b")
    }
    assert covered == {"team-a": False, "team-b": True}
