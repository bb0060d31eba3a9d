"""The CRDs in crds/: structural schemas that accept the samples, reject bad objects, document
every field, print the agreed columns, and default exactly like config.parse."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from fluxcd_helm_upgrader import config
from fluxcd_helm_upgrader.structs import kinds
from tests.support import peers

REPO_ROOT = Path(__file__).resolve().parents[2]
CRDS = REPO_ROOT / "crds"
SAMPLES = CRDS / "samples"
KINDS = {"UpgraderConfig": kinds.UPGRADER_CONFIG, "UpgradeProposal": kinds.UPGRADE_PROPOSAL}


def load_crd(kind: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / f"{KINDS[kind].plural}.yaml").read_text())
    assert isinstance(crd, dict)
    return crd


def the_version(crd: Mapping[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    assert isinstance(version, dict)
    return version


def openapi(kind: str) -> dict[str, Any]:
    schema = the_version(load_crd(kind))["schema"]["openAPIV3Schema"]
    assert isinstance(schema, dict)
    return schema


def to_json_schema(node: Any) -> Any:
    """OpenAPI v3 (Kubernetes flavour) to JSON Schema: drop x-kubernetes-*, close known objects."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("x-kubernetes-preserve-unknown-fields"):
        out.pop("additionalProperties", None)
    elif out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        # The API server prunes unknown fields; in tests we want a typo in a sample to fail.
        out["additionalProperties"] = False
    return out


def validator(kind: str) -> jsonschema.Draft7Validator:
    schema = to_json_schema(openapi(kind))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def apply_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    """Structural defaulting as the API server does it: fill absent fields, then recurse."""
    if isinstance(value, dict) and "properties" in schema:
        for name, child in schema["properties"].items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
            if name in value:
                value[name] = apply_defaults(child, value[name])
    elif isinstance(value, list) and "items" in schema:
        return [apply_defaults(schema["items"], item) for item in value]
    return value


def walk(node: Mapping[str, Any], path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every property schema under `node`, with its path."""
    for name, child in node.get("properties", {}).items():
        yield f"{path}.{name}", child
        yield from walk(child, f"{path}.{name}")
    if "items" in node:
        yield f"{path}[]", node["items"]
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield f"{path}{{}}", node["additionalProperties"]
        yield from walk(node["additionalProperties"], f"{path}{{}}")


def samples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(SAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found.append((path.name, doc))
    return found


def sample_of(kind: str, name: str) -> dict[str, Any]:
    found = [doc for _, doc in samples() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    return copy.deepcopy(found[0])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_names_scope_and_version(kind: str) -> None:
    crd = load_crd(kind)
    expected = KINDS[kind]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{expected.plural}.{expected.group}"
    assert crd["spec"]["group"] == expected.group
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["kind"] == expected.kind
    assert crd["spec"]["names"]["plural"] == expected.plural
    assert crd["spec"]["names"]["categories"] == ["helmupgrader"]
    version = the_version(crd)
    assert (version["name"], version["served"], version["storage"]) == (expected.version, True, True)
    assert version["subresources"] == {"status": {}}


def test_short_names() -> None:
    assert load_crd("UpgraderConfig")["spec"]["names"]["shortNames"] == ["ucfg"]
    assert load_crd("UpgradeProposal")["spec"]["names"]["shortNames"] == ["uprop"]


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        ("UpgraderConfig", [
            ("Ready", '.status.conditions[?(@.type=="Ready")].status', "string"),
            ("Status", '.status.conditions[?(@.type=="Ready")].message', "string"),
            ("Waiting", ".status.proposalsWaiting", "integer"),  # priority 1: `kubectl get -o wide` only
            ("Last check", ".status.lastCheckTime", "date"),
            ("Age", ".metadata.creationTimestamp", "date"),
        ]),
        ("UpgradeProposal", [
            ("Release Namespace", ".spec.release.namespace", "string"),
            ("Release", ".spec.release.name", "string"),
            ("Chart", ".spec.chart", "string"),
            ("Current", ".spec.currentVersion", "string"),
            ("Target", ".spec.targetVersion", "string"),
            ("Risk", ".status.risk.level", "string"),
            ("Phase", ".status.phase", "string"),
            ("PR", ".status.pullRequest.url", "string"),
            ("Age", ".metadata.creationTimestamp", "date"),
        ]),
    ],
)  # fmt: skip
def test_printer_columns(kind: str, columns: list[tuple[str, str, str]]) -> None:
    got = the_version(load_crd(kind))["additionalPrinterColumns"]
    assert [(c["name"], c["jsonPath"], c["type"]) for c in got] == columns


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_printer_columns_point_at_schema_fields(kind: str) -> None:
    paths = {path.replace("[]", "") for path, _ in walk(openapi(kind), "")}
    for column in the_version(load_crd(kind))["additionalPrinterColumns"]:
        json_path = column["jsonPath"].split("[?")[0]
        assert json_path == ".metadata.creationTimestamp" or json_path in paths, column


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_property_has_a_description(kind: str) -> None:
    schema = openapi(kind)
    assert schema.get("description")
    missing = [path for path, node in walk(schema, kind) if not str(node.get("description", "")).strip()]
    # The API server documents metadata itself and refuses a CRD that says anything about it but its type.
    assert missing == [f"{kind}.metadata"]
    assert openapi(kind)["properties"]["metadata"] == {"type": "object"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_status_fields_are_all_declared(kind: str) -> None:
    for path, node in walk(openapi(kind), ""):
        assert not node.get("x-kubernetes-preserve-unknown-fields"), path
        if node.get("type") == "object" and path.startswith(".status"):
            assert "properties" in node or "additionalProperties" in node, path


def test_the_samples_cover_both_kinds_and_both_providers() -> None:
    found = samples()
    assert {doc["kind"] for _, doc in found} == set(KINDS)
    providers = {
        doc["spec"]["pullRequests"]["provider"] for _, doc in found if doc["kind"] == "UpgraderConfig"
    }
    assert providers == {"github", "none"}


@pytest.mark.parametrize(("file", "doc"), samples(), ids=[name for name, _ in samples()])
def test_sample_validates_against_its_crd(file: str, doc: dict[str, Any]) -> None:
    assert doc["apiVersion"] == kinds.API_VERSION
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(doc["kind"]).iter_errors(doc)]
    assert errors == []


CONFIG_SAMPLES = [(name, doc) for name, doc in samples() if doc["kind"] == "UpgraderConfig"]


@pytest.mark.parametrize(("file", "doc"), CONFIG_SAMPLES, ids=[name for name, _ in CONFIG_SAMPLES])
def test_config_samples_parse_with_and_without_server_defaults(file: str, doc: dict[str, Any]) -> None:
    defaulted = apply_defaults(openapi("UpgraderConfig")["properties"]["spec"], copy.deepcopy(doc["spec"]))
    assert config.parse(doc["spec"]) == config.parse(defaulted)


@pytest.mark.parametrize(
    "spec",
    [
        {"git": {"url": "ssh://git@github.com/acme/fleet.git"}},
        {"git": {"url": "git@github.com:acme/fleet.git", "author": {}}, "pullRequests": {}, "policy": {}},
        {"git": {"url": "file:///srv/fleet"}, "pullRequests": {"provider": "none"}, "scope": {}},
    ],
)
def test_crd_defaults_equal_the_operator_defaults(spec: dict[str, Any]) -> None:
    defaulted = apply_defaults(openapi("UpgraderConfig")["properties"]["spec"], copy.deepcopy(spec))
    assert defaulted != spec  # the server did fill something in
    assert config.parse(defaulted) == config.parse(spec)


def test_every_spec_default_is_one_the_operator_knows() -> None:
    schema = openapi("UpgraderConfig")["properties"]["spec"]
    defaults = {path: node["default"] for path, node in walk(schema, "spec") if "default" in node}
    assert defaults == {
        "spec.interval": config.DEFAULT_INTERVAL,
        "spec.suspend": False,
        "spec.scope": {},
        "spec.scope.clusterWide": True,
        "spec.git.path": config.DEFAULT_GIT_PATH,
        "spec.git.author": {},
        "spec.git.author.name": config.DEFAULT_AUTHOR_NAME,
        "spec.git.author.email": config.DEFAULT_AUTHOR_EMAIL,
        "spec.pullRequests": {},
        "spec.pullRequests.provider": config.Provider.GITHUB.value,
        "spec.pullRequests.apiURL": config.DEFAULT_API_URL,
        "spec.pullRequests.branchPrefix": config.DEFAULT_BRANCH_PREFIX,
        "spec.pullRequests.labels": list(config.DEFAULT_LABELS),
        "spec.pullRequests.draft": False,
        "spec.pullRequests.maxOpen": config.DEFAULT_MAX_OPEN,
        "spec.pullRequests.maxPerHour": 0,
        "spec.policy": {},
        "spec.policy.includePrerelease": False,
        "spec.policy.allowedUpdates": config.AllowedUpdates.MAJOR.value,
    }


def test_enums_match_the_operator() -> None:
    spec = openapi("UpgraderConfig")["properties"]["spec"]["properties"]
    assert spec["pullRequests"]["properties"]["provider"]["enum"] == [p.value for p in config.Provider]
    assert spec["policy"]["properties"]["allowedUpdates"]["enum"] == [a.value for a in config.AllowedUpdates]
    phase = openapi("UpgradeProposal")["properties"]["status"]["properties"]["phase"]
    assert phase["enum"] == ["Pending", "Open", "Merged", "Closed", "Applied", "Failed"]


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, leaf = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("kind", "name", "path", "value", "complaint"),
    [
        ("UpgraderConfig", "fleet", "spec.interval", "30 minutes", "does not match"),
        ("UpgraderConfig", "fleet", "spec.interval", "1d", "does not match"),
        ("UpgraderConfig", "fleet", "spec.pullRequests.provider", "gitlab", "is not one of"),
        ("UpgraderConfig", "fleet", "spec.policy.allowedUpdates", "everything", "is not one of"),
        ("UpgraderConfig", "fleet", "spec.git.url", _DELETE, "'url' is a required property"),
        ("UpgraderConfig", "fleet", "spec.git", _DELETE, "'git' is a required property"),
        ("UpgraderConfig", "fleet", "spec.git.url", "", "should be non-empty"),
        ("UpgraderConfig", "fleet", "spec.suspend", "no", "is not of type 'boolean'"),
        ("UpgraderConfig", "fleet", "spec.pullRequests.repository", "fleet", "does not match"),
        ("UpgraderConfig", "fleet", "spec.policy.ignore", [{}], "should be non-empty"),
        ("UpgraderConfig", "fleet", "spec.policy.ignore", [{"release": "podinfo"}], "does not match"),
        ("UpgraderConfig", "fleet", "spec.scope.selector.matchExpressions", [{"key": "a", "operator": "Is"}],
         "is not one of"),
        ("UpgraderConfig", "fleet", "spec.gitt", {}, "Additional properties"),
        ("UpgraderConfig", "fleet", "spec.serviceAccountName", "system:serviceaccount:kube-system:admin",
         "does not match"),
        ("UpgraderConfig", "fleet", "spec.serviceAccountName", "", "does not match"),
        ("UpgraderConfig", "fleet", "spec.serviceAccountName", "a" * 254, "is too long"),
        ("UpgradeProposal", "apps-podinfo", "spec.targetVersion", _DELETE, "'targetVersion' is a required"),
        ("UpgradeProposal", "apps-podinfo", "spec.configRef", _DELETE, "'configRef' is a required"),
        ("UpgradeProposal", "apps-podinfo", "spec.release", {"name": "podinfo"}, "'namespace' is a required"),
        ("UpgradeProposal", "apps-podinfo", "status.phase", "Superseded", "is not one of"),
        ("UpgradeProposal", "apps-podinfo", "status.pullRequest.number", "12", "is not of type 'integer'"),
        ("UpgradeProposal", "apps-podinfo", "status.skippedTargets", "6.6.0", "is not of type 'array'"),
        ("UpgradeProposal", "apps-podinfo", "spec.source.kind", "GitRepository", "is not one of"),
        ("UpgradeProposal", "apps-podinfo", "status.kopf", {}, "Additional properties"),
    ],
)  # fmt: skip
def test_invalid_objects_are_rejected(kind: str, name: str, path: str, value: Any, complaint: str) -> None:
    doc = _set(sample_of(kind, name), path, value)
    messages = [e.message for e in validator(kind).iter_errors(doc)]
    assert any(complaint in m for m in messages), messages


def test_kustomize_renders_both_crds() -> None:
    kustomization = yaml.safe_load((CRDS / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == ["upgradeproposals.yaml", "upgraderconfigs.yaml"]
    kubectl = peers.require_binary("kubectl", package="kubectl")
    run = subprocess.run([kubectl, "kustomize", str(CRDS)], capture_output=True, text=True, timeout=60)
    if run.returncode != 0 and "unknown command" in run.stderr:
        peers.unavailable("this kubectl has no kustomize")
    assert run.returncode == 0, run.stderr
    rendered = {doc["metadata"]["name"] for doc in yaml.safe_load_all(run.stdout) if doc}
    assert rendered == {"upgraderconfigs.helmupgrader.io", "upgradeproposals.helmupgrader.io"}


# What the operator itself writes into spec.targetVersion: versions, OCI tags and ranges rewritten in their style
# (checking.ranges.rewrite keeps the user's operators, wildcards, commas and spaces).
WRITTEN_TARGETS = [
    "6.7.1", "v7.2.3", "=7.2.3", "7.0.0-rc.1", "6.7.1+build.2", "6.7.1_build.2", "7.x", "7.*", "7.X", "7", "v7.x",
    "7.2.x", "6.3", "^7.2.3", "^7", "^7.x", "^0.3.1", "~7.2.3", "~7.2", "~>6.2.4", ">=7.0.0 <8.0.0",
    ">=8.0.0, <9.0.0", ">=7.2.0, <7.4.0", ">=7 <8", "<8.0.0 >=7.0.0", ">=7.2 <7.7", ">7.0.0 <8.0.0", ">=6.0.0",
]  # fmt: skip
FORGED_TARGETS = [
    "1.0.0\nkind: Secret", "6.0.0 # pinned", "'6.0.0'", '"6.0.0"', "${VERSION}", "-1.0.0", " 1.0.0", "1.0.0 ",
    "1.0.0: x", "{a: b}", "1" * 257, "&anchor", "6.0.0|7.0.0",
]  # fmt: skip


@pytest.mark.parametrize("name", ["sa-b", "fluxcd-helm-upgrader", "a.b", "a" * 253])
def test_service_account_name_pattern_admits_service_account_names(name: str) -> None:
    doc = _set(sample_of("UpgraderConfig", "fleet"), "spec.serviceAccountName", name)
    assert [e.message for e in validator("UpgraderConfig").iter_errors(doc)] == []


@pytest.mark.parametrize("target", WRITTEN_TARGETS)
def test_target_version_pattern_admits_what_the_operator_writes(target: str) -> None:
    doc = _set(sample_of("UpgradeProposal", "apps-podinfo"), "spec.targetVersion", target)
    assert [e.message for e in validator("UpgradeProposal").iter_errors(doc)] == []


@pytest.mark.parametrize("target", FORGED_TARGETS)
def test_target_version_pattern_refuses_what_no_version_looks_like(target: str) -> None:
    doc = _set(sample_of("UpgradeProposal", "apps-podinfo"), "spec.targetVersion", target)
    messages = [e.message for e in validator("UpgradeProposal").iter_errors(doc)]
    assert any("does not match" in m or "is too long" in m for m in messages), messages
