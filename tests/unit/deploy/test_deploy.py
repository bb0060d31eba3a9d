"""The kustomize manifests in deploy/, rendered offline with `kubectl kustomize`: valid Kubernetes objects
(kubernetes-validate's bundled schemas), a Deployment that meets the restricted Pod Security Standard and matches
the image and the operator's defaults, one image name across the repository, and alerts that use real metrics."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import prometheus_client.parser
import pytest
import yaml

from fluxcd_helm_upgrader import cli, metrics, settings
from tests.unit.deploy import dockerfiles, rendering

K8S_VERSION = "1.30.0"
WEBHOOK_PORT = 9292  # deploy/ reserves it; UPGRADER_WEBHOOK_PORT=9292 turns the receiver on
INSTALLS = {"cluster-wide": rendering.CLUSTER_WIDE, "namespaced": rendering.NAMESPACED, "lockdown": rendering.LOCKDOWN}
# Volume types the restricted Pod Security Standard allows.
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
REGISTRY_REFERENCE = re.compile(
    r"\b(?:ghcr\.io|docker\.io|quay\.io|gcr\.io|public\.ecr\.aws)/[\w./-]*upgrader[\w.:@/-]*"
)
SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".import_linter_cache",
    "build",
    "dist",
    "cache",
}


def project_version() -> str:
    version = tomllib.loads((rendering.REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert isinstance(version, str)
    return version


def image_entry() -> dict[str, str]:
    kustomization = yaml.safe_load((rendering.DEPLOY / "base" / "kustomization.yaml").read_text())
    (entry,) = kustomization["images"]
    assert isinstance(entry, dict)
    return entry


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec = rendering.one(objects, "Deployment")["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What in a pod spec breaks the restricted Pod Security Standard (v1.30), as readable messages."""
    problems = [f"spec.{key}" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key)]
    pod_ctx = pod.get("securityContext") or {}
    for volume in pod.get("volumes") or []:
        kinds_ = set(volume) - {"name"}
        if not kinds_ <= RESTRICTED_VOLUMES:
            problems.append(f"volume {volume['name']}: {sorted(kinds_)} not allowed")
    for container in [*(pod.get("initContainers") or []), *pod["containers"]]:
        name, ctx = container["name"], container.get("securityContext") or {}

        def effective(key: str, ctx: dict[str, Any] = ctx) -> Any:
            return ctx.get(key, pod_ctx.get(key))

        if ctx.get("privileged"):
            problems.append(f"{name}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        if effective("runAsNonRoot") is not True:
            problems.append(f"{name}: runAsNonRoot must be true")
        if effective("runAsUser") == 0:
            problems.append(f"{name}: runAsUser 0")
        if (effective("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost")
        caps = ctx.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{name}: capabilities must drop ALL")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities {caps['add']}")
        if any(port.get("hostPort") for port in container.get("ports") or []):
            problems.append(f"{name}: hostPort")
    return problems


# --- every object is a valid Kubernetes object ------------------------------------------------------------------


@pytest.mark.parametrize("install", sorted(INSTALLS))
def test_every_rendered_object_validates_against_the_kubernetes_schema(install: str) -> None:
    validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    objects = rendering.render(INSTALLS[install])
    kinds_ = {obj["kind"] for obj in objects}
    assert {"Namespace", "CustomResourceDefinition", "ServiceAccount", "Deployment", "Service"} <= kinds_
    for obj in objects:
        try:
            validate.validate(obj, K8S_VERSION, strict=True)
        except validate.ValidationError as error:
            pytest.fail(f"{install}: {obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")


def test_monitoring_objects_are_well_formed_and_scrape_the_metrics_service() -> None:
    validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    objects = rendering.render(rendering.MONITORING)
    for obj in objects:
        # Prometheus-operator kinds are CRD-backed: no bundled schema, so they are checked by hand below.
        with pytest.raises(validate.SchemaNotFoundError):
            validate.validate(obj, K8S_VERSION, strict=True)
    monitor = rendering.one(objects, "ServiceMonitor")
    service = rendering.one(rendering.render(rendering.CLUSTER_WIDE), "Service")
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items(), "the ServiceMonitor selects no Service"
    port_names = {port["name"] for port in service["spec"]["ports"]}
    assert [endpoint["port"] for endpoint in monitor["spec"]["endpoints"]] == ["metrics"]
    assert "metrics" in port_names


# --- the Deployment ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("install", sorted(INSTALLS))
def test_deployment_meets_the_restricted_pod_security_standard(install: str) -> None:
    objects = rendering.render(INSTALLS[install])
    assert restricted_violations(pod_spec(objects)) == []
    container = pod_spec(objects)["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    namespace = rendering.one(objects, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_restricted_check_catches_a_root_pod() -> None:
    bad = {
        "hostNetwork": True,
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
        "containers": [
            {
                "name": "c",
                "securityContext": {"runAsUser": 0, "capabilities": {"add": ["SYS_ADMIN"]}},
                "ports": [{"containerPort": 80, "hostPort": 80}],
            }
        ],
    }
    problems = " | ".join(restricted_violations(bad))
    for expected in (
        "hostNetwork",
        "hostPath",
        "allowPrivilegeEscalation",
        "runAsNonRoot",
        "runAsUser 0",
        "seccompProfile",
        "drop ALL",
        "SYS_ADMIN",
        "hostPort",
    ):
        assert expected in problems


def test_deployment_runs_one_operator_at_a_time() -> None:
    deployment = rendering.one(rendering.render(rendering.CLUSTER_WIDE), "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}, "Kopf runs standalone: pods must not overlap"


def test_deployment_runs_the_one_image_at_the_project_version() -> None:
    entry = image_entry()
    assert entry["newTag"] == project_version(), "bump deploy/base/kustomization.yaml images with the version"
    for install, directory in INSTALLS.items():
        container = pod_spec(rendering.render(directory))["containers"][0]
        assert container["image"] == f"{entry['newName']}:{entry['newTag']}", install


def test_deployment_user_is_the_image_user() -> None:
    final = dockerfiles.parse((rendering.REPO_ROOT / "Dockerfile").read_text()).final
    user = final.last("USER")
    assert user is not None
    uid, _, gid = user.args.partition(":")
    pod = pod_spec(rendering.render(rendering.CLUSTER_WIDE))
    container = pod["containers"][0]["securityContext"]
    assert (container["runAsUser"], container["runAsGroup"]) == (int(uid), int(gid))
    assert pod["securityContext"]["fsGroup"] == int(gid), "the emptyDir volumes must be writable by the image user"


def test_liveness_probe_and_ports_match_the_operator() -> None:
    container = pod_spec(rendering.render(rendering.CLUSTER_WIDE))["containers"][0]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    probe = container["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz"
    liveness = cli.build_parser().parse_args(["run"]).liveness
    assert liveness.endswith(f":{ports[probe['port']]}/healthz"), liveness
    assert ports["metrics"] == settings.Settings().metrics_port


def test_writable_paths_are_empty_dirs_and_env_names_are_real_settings() -> None:
    pod = pod_spec(rendering.render(rendering.CLUSTER_WIDE))
    container = pod["containers"][0]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in container["volumeMounts"]}
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert set(mounts) == {"/tmp", str(settings.DEFAULT_CACHE_DIR), env["UPGRADER_KEY_DIR"]}
    assert all("emptyDir" in volume for volume in mounts.values())
    known = {settings.env_name(field) for field in settings.Settings.__dataclass_fields__}
    assert set(env) <= known, f"unknown settings: {set(env) - known}"
    # The values given must be ones the operator accepts (directories are checked on the node, not here).
    settings.Settings.from_env(
        {name: value for name, value in env.items() if value is not None and not name.endswith("_DIR")}
    )


@pytest.mark.parametrize("install", sorted(INSTALLS))
def test_key_material_lives_on_a_memory_backed_volume(install: str) -> None:
    pod = pod_spec(rendering.render(INSTALLS[install]))
    container = pod["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == env["UPGRADER_KEY_DIR"]]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["emptyDir"]["medium"] == "Memory"
    assert volume["emptyDir"]["sizeLimit"], "a memory volume counts against the pod's memory: bound it"


@pytest.mark.parametrize("install", sorted(INSTALLS))
def test_the_operator_namespace_comes_from_the_pod(install: str) -> None:
    container = pod_spec(rendering.render(INSTALLS[install]))["containers"][0]
    (item,) = [e for e in container["env"] if e["name"] == settings.env_name("namespace")]
    assert item == {"name": "UPGRADER_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}


@pytest.mark.parametrize("install", sorted(INSTALLS))
def test_network_policy_admits_only_the_metrics_and_webhook_ports(install: str) -> None:
    objects = rendering.render(INSTALLS[install])
    policy = rendering.one(objects, "NetworkPolicy")
    deployment = rendering.one(objects, "Deployment")
    assert policy["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]  # egress stays open: registries, Git, the API server
    (rule,) = policy["spec"]["ingress"]
    assert "from" not in rule  # scrapers and webhook senders may be anywhere; the ports are what is limited
    allowed = {(port["port"], port["protocol"]) for port in rule["ports"]}
    assert allowed == {("metrics", "TCP"), ("webhook", "TCP")}
    ports = {port["name"]: port["containerPort"] for port in pod_spec(objects)["containers"][0]["ports"]}
    assert ports["metrics"] == settings.Settings().metrics_port
    assert ports["webhook"] == WEBHOOK_PORT  # the port README tells users to set UPGRADER_WEBHOOK_PORT to


def test_resources_are_requested_and_memory_is_limited() -> None:
    resources = pod_spec(rendering.render(rendering.CLUSTER_WIDE))["containers"][0]["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]


def test_metrics_service_selects_the_operator_pod() -> None:
    objects = rendering.render(rendering.CLUSTER_WIDE)
    service = rendering.one(objects, "Service")
    labels = rendering.one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert (port["name"], port["port"], port["targetPort"]) == ("metrics", 9090, "metrics")


# --- one image name ---------------------------------------------------------------------------------------------


def repository_texts() -> Iterator[tuple[Path, str]]:
    for directory, subdirs, files in os.walk(rendering.REPO_ROOT):
        subdirs[:] = [d for d in subdirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for name in files:
            path = Path(directory) / name
            try:
                yield path, path.read_text()
            except (UnicodeDecodeError, OSError):
                continue


def test_the_image_is_spelled_one_way_across_the_repository() -> None:
    canonical = image_entry()["newName"]
    found = 0
    for path, text in repository_texts():
        for match in REGISTRY_REFERENCE.finditer(text):
            ref = dockerfiles.image_ref(match.group(0).rstrip(".,:"))
            found += 1
            assert ref.repository == canonical, f"{path.relative_to(rendering.REPO_ROOT)}: {match.group(0)}"
    assert found >= 1, "the image name is not written anywhere the scan looks"


# --- alerts use the metrics the operator exports ----------------------------------------------------------------

SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")


def alert_rules() -> list[dict[str, Any]]:
    rule = rendering.one(rendering.render(rendering.MONITORING), "PrometheusRule")
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def exported_samples() -> set[tuple[str, str, str]]:
    """(sample name, label, value) of what a Metrics object exports after one of each reported event."""
    exported = metrics.Metrics(process_metrics=False)
    exported.observe_cycle("flux-system/fleet", 1.0, "error", checked=3, outdated=1, failed=1)
    exported.set_proposals("flux-system/fleet", {"Pending": 1})
    exported.index_fetch("error")
    exported.pull_request("created", "failed")
    return {
        (sample.name, label, value)
        for family in prometheus_client.parser.text_string_to_metric_families(exported.exposition())
        for sample in family.samples
        for label, value in sample.labels.items()
    }


def test_every_alert_selects_series_the_operator_exports() -> None:
    samples = exported_samples()
    used = set()
    for rule in alert_rules():
        for name, matchers in SELECTOR.findall(rule["expr"]):
            if name == "up":
                continue
            for label, value in re.findall(r'(\w+)="([^"]*)"', matchers):
                used.add(name)
                series = f"{name}{{{label}={value!r}}}"
                assert (name, label, value) in samples, f"{rule['alert']}: {series} is never exported"
    assert used == {
        "fluxcd_helm_upgrader_cycles_total",
        "fluxcd_helm_upgrader_pull_requests_total",
        "fluxcd_helm_upgrader_proposals",
        "fluxcd_helm_upgrader_index_fetches_total",
    }


def test_down_alert_watches_the_job_of_the_metrics_service() -> None:
    service = rendering.one(rendering.render(rendering.CLUSTER_WIDE), "Service")
    (down,) = [rule for rule in alert_rules() if "up{" in rule["expr"]]
    assert f'job="{service["metadata"]["name"]}"' in down["expr"]
    assert down["expr"].startswith("absent(") and down["for"] == "5m"


def test_every_alert_has_a_severity_and_a_summary() -> None:
    rules = alert_rules()
    assert len(rules) == 5
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
