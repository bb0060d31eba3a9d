"""Which HelmReleases an UpgraderConfig covers: namespaces and a Kubernetes label selector. Pure.

Called by the check cycle for every release in the view. The selector follows metav1.LabelSelector:
`matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist), all terms ANDed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


class SelectorError(ValueError):
    """The label selector cannot be understood; the message says which term."""


def matches(labels: Mapping[str, str], selector: Mapping[str, Any] | None) -> bool:
    """True when `labels` satisfy the metav1.LabelSelector (an empty or missing selector matches all)."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    return all(_expression(labels, term) for term in selector.get("matchExpressions") or ())


def _expression(labels: Mapping[str, str], term: Mapping[str, Any]) -> bool:
    key = term.get("key")
    operator = term.get("operator")
    values = [str(v) for v in term.get("values") or ()]
    if not key:
        raise SelectorError("spec.scope.selector.matchExpressions: every term needs a key")
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise SelectorError(
        f"spec.scope.selector.matchExpressions: operator {operator!r} for key {key!r} "
        "is not one of In, NotIn, Exists, DoesNotExist"
    )


def in_scope(
    namespace: str,
    labels: Mapping[str, str],
    *,
    cluster_wide: bool,
    namespaces: Collection[str],
    selector: Mapping[str, Any] | None,
    excluded: Collection[str] = (),
) -> bool:
    """True when a release in `namespace` with `labels` is covered by the scope; never in `excluded` namespaces
    (those the config's ServiceAccount may not list HelmReleases in)."""
    if namespace in excluded or (not cluster_wide and namespace not in namespaces):
        return False
    return matches(labels, selector)
