"""The upgrade policy values (checking.policy): validation, ignore rules, the update-step cap."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.checking import policy, versions


def v(text: str) -> versions.Version:
    parsed = versions.parse(text)
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "at least one"),
        ({"versions": ">>7"}, "invalid versions constraint"),
        ({"release": "podinfo"}, "namespace/name"),
    ],
)
def test_bad_ignore_rules_are_rejected(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        policy.IgnoreRule(**kwargs)


def test_bad_allowed_updates_is_rejected() -> None:
    with pytest.raises(ValueError, match="major, minor, patch"):
        policy.Policy(allowed_updates="everything")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "release", "chart", "whole_release"),
    [
        (policy.IgnoreRule(release="apps/podinfo"), "apps/podinfo", "podinfo", True),
        (policy.IgnoreRule(release="apps/podinfo"), "apps/other", "podinfo", False),
        (policy.IgnoreRule(release="apps/*"), "apps/other", "x", True),
        (policy.IgnoreRule(chart="podinfo"), "apps/podinfo", "podinfo", True),
        (policy.IgnoreRule(chart="bitnami-*"), "db/pg", "bitnami-postgresql", True),
        (policy.IgnoreRule(chart="podinfo", versions=">=7.0.0"), "apps/podinfo", "podinfo", False),
        (policy.IgnoreRule(chart="podinfo", release="apps/podinfo"), "other/podinfo", "podinfo", False),
    ],
)
def test_ignores_release(rule: policy.IgnoreRule, release: str, chart: str, whole_release: bool) -> None:
    assert rule.ignores_release(release=release, chart=chart) is whole_release


@pytest.mark.parametrize(
    ("rule", "version", "chart", "ignored"),
    [
        (policy.IgnoreRule(chart="podinfo", versions=">=7.0.0"), "7.0.0", "podinfo", True),
        (policy.IgnoreRule(chart="podinfo", versions=">=7.0.0"), "7.1.0-rc.1", "podinfo", True),  # previews too
        (policy.IgnoreRule(chart="podinfo", versions=">=7.0.0"), "6.9.0", "podinfo", False),
        (policy.IgnoreRule(chart="podinfo", versions=">=7.0.0"), "7.0.0", "nginx", False),
        (policy.IgnoreRule(versions="6.6.x"), "6.6.3", "anything", True),
    ],
)
def test_ignores_version(rule: policy.IgnoreRule, version: str, chart: str, ignored: bool) -> None:
    assert rule.ignores_version(v(version), release="apps/x", chart=chart) is ignored


@pytest.mark.parametrize(
    ("allowed", "base", "candidate", "within"),
    [
        ("major", "6.5.0", "9.0.0", True),
        ("minor", "6.5.0", "6.9.0", True),
        ("minor", "6.5.0", "7.0.0", False),
        ("patch", "6.5.0", "6.5.9", True),
        ("patch", "6.5.0", "6.6.0", False),
    ],
)
def test_within_step(allowed: policy.AllowedUpdates, base: str, candidate: str, within: bool) -> None:
    assert policy.Policy(allowed_updates=allowed).within_step(v(base), v(candidate)) is within
