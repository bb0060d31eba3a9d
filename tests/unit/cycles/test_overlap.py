"""The overlap rule: the older config (creationTimestamp, then name) keeps a release two configs of one namespace
both cover; a config whose spec does not parse, or in another namespace, keeps nothing."""

from __future__ import annotations

from typing import Any

from fluxcd_helm_upgrader.cycles import overlap
from fluxcd_helm_upgrader.structs import flux


def peer(name: str, created: str, scope: dict[str, Any] | None, namespace: str = "flux-system") -> overlap.Peer:
    spec: dict[str, Any] = {"git": {"url": "https://github.com/acme/fleet.git"}}
    if scope is not None:
        spec["scope"] = scope
    else:
        spec["interval"] = "soon"  # does not parse
    return overlap.peer_of({"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                                         "creationTimestamp": created}, "spec": spec})  # fmt: skip


RELEASES = [flux.HelmRelease("apps", "podinfo", {"team": "a"}), flux.HelmRelease("data", "cache", {"team": "b"})]
T1, T2 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"


def test_the_older_config_keeps_what_both_cover() -> None:
    old = peer("z-old", T1, {"clusterWide": False, "namespaces": ["apps"]})
    new = peer("a-new", T2, {"clusterWide": True})
    assert overlap.yielded(new, [old, new], RELEASES) == {"apps/podinfo": "flux-system/z-old"}
    assert overlap.yielded(old, [old, new], RELEASES) == {}


def test_the_name_breaks_a_tie_and_selectors_count() -> None:
    b = peer("b", T1, {"clusterWide": True, "selector": {"matchLabels": {"team": "b"}}})
    a = peer("a", T1, {"clusterWide": True})
    mine = [r for r in RELEASES if r.labels["team"] == "b"]  # the caller passes the releases in b's scope
    assert overlap.yielded(b, [a, b], mine) == {"data/cache": "flux-system/a"}
    assert overlap.yielded(a, [a, b], RELEASES) == {}


def test_broken_configs_and_other_namespaces_keep_nothing() -> None:
    me = peer("me", T2, {"clusterWide": True})
    broken = peer("broken", T1, None)
    elsewhere = peer("elsewhere", T1, {"clusterWide": True}, namespace="team-a")
    assert overlap.yielded(me, [broken, elsewhere, me], RELEASES) == {}
