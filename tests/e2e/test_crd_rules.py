"""What only a real API server checks: the CRDs' validation rules (patterns and CEL `x-kubernetes-validations`)
reject an object that is certain to be a mistake, with a message that says what to write instead; the samples in
crds/samples/ are accepted with the server's validation on.

The emulator validates the OpenAPI schema but evaluates no CEL; the operator still reports such values on the
config itself (Ready=False, InvalidConfig) when a CRD without these rules let them through.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import apiserver as real
from tests.support import kubehttp, peers

pytestmark = pytest.mark.e2e

NAMESPACE = "flux-system"
CANARY = "s3cret-in-the-url"


def config(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "helmupgrader.io/v1alpha1",
        "kind": "UpgraderConfig",
        "metadata": {"name": "fleet", "namespace": NAMESPACE},
        "spec": {"git": {"url": "ssh://git@github.com/acme/fleet.git"}},
    }
    for path, value in spec.items():
        target = body["spec"]
        *parents, leaf = path.split("__")
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value
    return body


@pytest.fixture
def admin(apiserver: real.ApiServerProcess) -> Iterator[kubehttp.KubeHttp]:
    client = kubehttp.KubeHttp(apiserver.kubeconfig)
    client.ensure_namespace(NAMESPACE)
    try:
        yield client
    finally:
        real.reset(client)
        client.close()


@pytest.mark.parametrize(
    ("spec", "field", "says"),
    [
        ({"interval": "0s"}, "spec.interval", "interval must be longer than zero"),
        ({"interval": "5 minutes"}, "spec.interval", "should match"),
        ({"scope__clusterWide": False}, "spec.scope", "namespaces must be listed when clusterWide is false"),
        ({"scope__namespaces": ["apps"]}, "spec.scope", "left out when it is true"),
        ({"git__url": "not a url"}, "spec.git.url", "url must be ssh://, https://"),
        ({"git__url": "file:relative/path"}, "spec.git.url", "not file:path"),
        ({"git__url": f"https://bot:{CANARY}@github.com/acme/fleet.git"}, "spec.git.url", "must not carry a password"),
        ({"pullRequests__branchPrefix": "../escape/"}, "spec.pullRequests.branchPrefix", "should match"),
        ({"pullRequests__branchPrefix": "bot//x/"}, "spec.pullRequests.branchPrefix", 'no "..", "//"'),
        ({"pullRequests__provider": "gitlab"}, "spec.pullRequests.provider", "Unsupported value"),
    ],
)
def test_the_server_rejects_a_config_that_is_certainly_wrong(
    admin: kubehttp.KubeHttp, spec: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(kubehttp.ApiError) as raised:
        admin.apply(config(**spec))
    error = raised.value
    assert error.status == 422, error
    message = str(error)
    assert field in message and says in message, message
    assert CANARY not in message  # the password rule is FieldValueForbidden: the server never echoes the value
    assert admin.get("upgraderconfigs", NAMESPACE, "fleet") is None


@pytest.mark.parametrize(
    "spec",
    [
        {"interval": "1h30m"},
        {"scope__clusterWide": False, "scope__namespaces": ["apps", "data"]},
        {"git__url": "git@github.com:acme/fleet.git"},
        {"git__url": "https://github.com/acme/fleet"},
        {"git__url": "file:///tmp/fleet.git"},
        {"git__url": "ssh://git@[::1]:2222/srv/fleet.git"},
        {"pullRequests__branchPrefix": "bots/helm-upgrader/"},
    ],
)
def test_the_server_accepts_what_users_write(admin: kubehttp.KubeHttp, spec: dict[str, Any]) -> None:
    stored = admin.apply(config(**spec))
    assert stored["metadata"]["name"] == "fleet"
    assert stored["spec"]["pullRequests"]["branchPrefix"]  # defaults applied by the server


def test_a_proposal_needs_a_target(admin: kubehttp.KubeHttp) -> None:
    proposal = {
        "apiVersion": "helmupgrader.io/v1alpha1",
        "kind": "UpgradeProposal",
        "metadata": {"name": "apps.podinfo", "namespace": NAMESPACE},
        "spec": {"configRef": {"name": "fleet"}, "release": {"namespace": "apps", "name": "podinfo"},
                 "chart": "podinfo", "currentVersion": "6.5.0", "targetVersion": ""},
    }  # fmt: skip
    with pytest.raises(kubehttp.ApiError) as raised:
        admin.apply(copy.deepcopy(proposal))
    assert raised.value.status == 422 and "spec.targetVersion" in str(raised.value)


def test_the_samples_apply_with_validation_on(apiserver: real.ApiServerProcess, admin: kubehttp.KubeHttp) -> None:
    kubectl = peers.require_binary("kubectl", package="kubectl")
    samples = Path(real.REPO_ROOT, "crds", "samples")
    for path in sorted(samples.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc.get("metadata", {}).get("namespace"):
                admin.ensure_namespace(doc["metadata"]["namespace"])
    done = subprocess.run(
        [kubectl, "apply", "--validate=strict", "-f", str(samples)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "KUBECONFIG": str(apiserver.kubeconfig)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout, done.stdout
