"""Upgrade risk findings and levels, table-driven: what a reviewer reads in status.risk and the PR."""

from __future__ import annotations

from typing import Any

import pytest

from fluxcd_helm_upgrader.checking import chart_archive, risk

CRD_V1 = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "versions": [
            {"name": "v1beta1", "served": True, "storage": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"properties": {"spec": {"properties": {"size": {"type": "integer"}}}}}},
            },
        ]
    },
}


def _crd(**change: Any) -> dict[str, Any]:
    crd: dict[str, Any] = {**CRD_V1, "spec": {"versions": [dict(v) for v in CRD_V1["spec"]["versions"]]}}
    if change.get("drop"):
        crd["spec"]["versions"] = [v for v in crd["spec"]["versions"] if v["name"] != change["drop"]]
    if change.get("unserve"):
        next(v for v in crd["spec"]["versions"] if v["name"] == change["unserve"])["served"] = False
    if change.get("field"):
        props = {"size": {"type": "integer"}, change["field"]: {"type": "string"}}
        crd["spec"]["versions"][-1]["schema"] = {"openAPIV3Schema": {"properties": {"spec": {"properties": props}}}}
    return crd


def _chart(version: str, values: dict[str, Any] | None = None, **kwargs: Any) -> chart_archive.Chart:
    crds = kwargs.pop("crds", None)
    files = (chart_archive.CrdFile("crds/widgets.yaml", (crds,)),) if crds else ()
    return chart_archive.Chart("podinfo", version, values=values or {}, crds=files, **kwargs)


BASE = {"service": {"port": 9898}, "replicaCount": 1}
SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"replicaCount": {"type": "integer", "minimum": 1}},
}

CASES = [
    # (id, release values, current chart, target chart, cluster, expected level, [(type, path)])
    ("nothing-changed", {}, _chart("6.5.0", BASE), _chart("6.5.1", BASE), "v1.31.0", "Low", []),
    (
        "only-adds-a-key",
        {"replicaCount": 2},
        _chart("6.5.0", BASE),
        _chart("6.6.0", {**BASE, "newKey": True}),
        "v1.31.0",
        "Low",
        [("DefaultsChanged", None)],
    ),
    (
        "value-removed",
        {"service": {"port": 80}},
        _chart("6.5.0", BASE),
        _chart("6.6.0", {"service": {"ports": {"http": 9898}}}),
        None,
        "High",
        [("ValueRemoved", "service.port"), ("DefaultsChanged", None)],
    ),
    (
        "schema-violation",
        {"replicaCount": "two"},
        _chart("6.5.0", BASE),
        _chart("6.6.0", BASE, schema=SCHEMA),
        None,
        "High",
        [("SchemaViolation", "replicaCount")],
    ),
    (
        "schema-sees-merged-defaults",
        {},
        _chart("6.5.0", BASE),
        _chart("6.6.0", {**BASE, "replicaCount": 0}, schema=SCHEMA),
        None,
        "High",
        [("SchemaViolation", "replicaCount"), ("DefaultsChanged", None)],
    ),
    (
        "kube-version-too-old",
        {},
        _chart("6.5.0"),
        _chart("6.6.0", kube_version=">=1.32.0-0"),
        "v1.31.0-emulator",
        "High",
        [("KubeVersion", None)],
    ),
    ("kube-version-prerelease-ok", {}, _chart("6.5.0"), _chart("6.6.0", kube_version=">=1.25.0-0"),
     "v1.31.0-emulator", "Low", []),
    ("k3s-build-metadata-ignored", {}, _chart("6.5.0"), _chart("6.6.0", kube_version=">=1.26.0"),
     "v1.26.4+k3s1", "Low", []),
    ("k3s-too-new", {}, _chart("6.5.0"), _chart("6.6.0", kube_version="<1.26.0"), "v1.26.4+k3s1", "High",
     [("KubeVersion", None)]),
    ("crd-version-removed", {}, _chart("6.5.0", crds=CRD_V1), _chart("6.6.0", crds=_crd(drop="v1beta1")), None,
     "High", [("CRDChanged", None)]),
    ("crd-version-unserved", {}, _chart("6.5.0", crds=CRD_V1), _chart("6.6.0", crds=_crd(unserve="v1beta1")),
     None, "High", [("CRDChanged", None)]),
    ("crd-field-added", {}, _chart("6.5.0", crds=CRD_V1), _chart("6.6.0", crds=_crd(field="color")), None,
     "Medium", [("CRDChanged", None)]),
    ("major", {}, _chart("6.5.0"), _chart("7.0.0"), None, "Medium", [("MajorVersion", None)]),
    ("zero-minor", {}, _chart("0.3.0"), _chart("0.4.0"), None, "Medium", [("MajorVersion", None)]),
    ("deprecated", {}, _chart("6.5.0"), _chart("6.6.0", deprecated=True), None, "Medium", [("Deprecated", None)]),
]


@pytest.mark.parametrize(
    ("values", "current", "target", "cluster", "level", "found"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_findings_and_level(
    values: dict[str, Any],
    current: chart_archive.Chart,
    target: chart_archive.Chart,
    cluster: str | None,
    level: str,
    found: list[tuple[str, str | None]],
) -> None:
    upgrade = risk.Upgrade("podinfo", current.version, target.version)
    result = risk.assess(upgrade, risk.Release(values=values), current, target, cluster)
    assert result.level == level
    assert [(f.type, f.path) for f in result.findings] == found


def test_kube_version_message_names_both_and_explains_prereleases() -> None:
    upgrade = risk.Upgrade("podinfo", "6.5.0", "6.6.0")
    target = _chart("6.6.0", kube_version=">=1.25.0")
    [finding] = risk.assess(upgrade, risk.Release(), _chart("6.5.0"), target, "v1.31.0-emulator").findings
    assert "'>=1.25.0'" in finding.message and "v1.31.0-emulator" in finding.message
    assert "prerelease" in finding.message


def test_crd_message_says_what_flux_does_for_each_upgrade_policy() -> None:
    upgrade = risk.Upgrade("podinfo", "6.5.0", "6.6.0")
    current, target = _chart("6.5.0", crds=CRD_V1), _chart("6.6.0", crds=_crd(drop="v1beta1"))
    for policy, words in (("Skip", "applies no CRD change"), ("Create", "NOT updated"), ("CreateReplace", "replaces")):
        [finding] = risk.assess(upgrade, risk.Release(upgrade_crds=policy), current, target, None).findings
        assert "widgets.example.com" in finding.message and "v1beta1 removed" in finding.message
        assert words in finding.message


def test_schema_messages_never_echo_the_release_values() -> None:
    schema = {"type": "object", "properties": {"auth": {"type": "object", "properties": {"port": {"type": "integer"}}}}}
    values = {"auth": {"port": "hunter2-secret"}}
    result = risk.assess(
        risk.Upgrade("x", "1.0.0", "1.1.0"), risk.Release(values=values), _chart("1.0.0"),
        _chart("1.1.0", schema=schema), None,
    )
    [finding] = result.findings
    assert finding.path == "auth.port"
    assert "must be of type integer, not string" in finding.message
    assert "hunter2" not in str(result.to_status())


def test_remote_refs_are_never_fetched() -> None:
    schema = {"$ref": "https://example.invalid/schema.json"}
    result = risk.assess(
        risk.Upgrade("x", "1.0.0", "1.1.0"), risk.Release(), _chart("1.0.0"), _chart("1.1.0", schema=schema), None
    )
    assert [f.type for f in result.findings] == ["SchemaViolation"]
    assert "not in the chart" in result.findings[0].message and result.level == "Medium"


def test_an_invalid_schema_is_reported() -> None:
    result = risk.assess(
        risk.Upgrade("x", "1.0.0", "1.1.0"), risk.Release(), _chart("1.0.0"),
        _chart("1.1.0", schema={"type": 12}), None,
    )
    assert result.level == "High" and "not a valid JSON Schema" in result.findings[0].message


def test_unknown_keeps_the_findings_that_need_no_chart_and_the_reason() -> None:
    result = risk.unknown(risk.Upgrade("x", "1.0.0", "2.0.0", deprecated=True), "HTTP 404 fetching x-2.0.0.tgz")
    assert result.to_status() == {
        "level": "Unknown",
        "reason": "HTTP 404 fetching x-2.0.0.tgz",
        "fromVersion": "1.0.0",
        "toVersion": "2.0.0",
        "findings": [
            {"type": "Deprecated", "message": "x 2.0.0 is marked deprecated by its maintainers"},
            {
                "type": "MajorVersion",
                "message": "x 1.0.0 -> 2.0.0 is a new major version: read the chart's upgrade notes",
            },
        ],
    }


def test_notes_say_what_was_not_checked() -> None:
    result = risk.assess(
        risk.Upgrade("x", "1.0.0", "1.1.0"), risk.Release(values_from=True), _chart("1.0.0"),
        _chart("1.1.0", kube_version=">=1.20.0-0"), None,
    )
    assert any("valuesFrom" in note for note in result.notes)
    assert any("kubeVersion '>=1.20.0-0' was not checked" in note for note in result.notes)
