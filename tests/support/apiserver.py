"""A real kube-apiserver (with an embedded etcd) for the e2e tier, and a cluster object that gives tests the same
helpers as the emulator's `LocalCluster`: apply, get, list, delete, audit, failures, run_operator.

The server is `scripts/kube-apiserver` (built from Go modules in hack/kube-apiserver, cached by go.sum), started
once per test session by the `apiserver` fixture in tests/conftest.py. Each test gets a clean slate: `reset()`
deletes every object the tests may have made (namespaced objects outside the system namespaces, and the
cluster-scoped RBAC objects a test added), stripping finalizers that no controller would remove.

The operator never runs as the admin: each `RealCluster` block creates a ServiceAccount for it and writes a
kubeconfig with a token from the TokenRequest API, bound to cluster-admin, or to exactly the `rules` a test
gives (the emulator's rule format: a PolicyRule plus an optional `namespaces` list that makes it a Role in
those namespaces). The audit log (Metadata level, no bodies) is filtered by that identity, so `audit` lists the
operator's writes and `failures` its refused calls, as the emulator's logs do.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf
import yaml

from fluxcd_helm_upgrader.testkit import emulator
from fluxcd_helm_upgrader.testkit.demo import cluster as demo_cluster
from fluxcd_helm_upgrader.testkit.emulator import server as emulator_server
from tests.support import kubehttp

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "kube-apiserver"
SHARED_FLUX_CRDS = REPO_ROOT.parent / "shared" / "fixtures" / "flux-crds"
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
OPERATOR_NAMESPACE = "upgrader-e2e"  # where the operator's ServiceAccounts live; never reset
TEST_LABEL = "e2e.helmupgrader.io/test"  # on cluster-scoped objects a test made, so reset() can find them
INSTALL_LABEL = "app.kubernetes.io/part-of=fluxcd-helm-upgrader"  # what `kubectl apply -k deploy/` labels
# What reset() clears in every non-system namespace: the kinds tests and the operator create.
RESET_GROUPS = frozenset(
    {"", "apps", "rbac.authorization.k8s.io", "networking.k8s.io", "policy", "helmupgrader.io",
     "helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io"}
)  # fmt: skip
VERBS = {"create": "POST", "update": "PUT", "patch": "PATCH", "delete": "DELETE", "deletecollection": "DELETE"}


class ApiServerUnavailable(Exception):
    """The real API server cannot run here (no Go, a module missing); the message says what to install."""


@dataclass
class ApiServerProcess:
    """A running `scripts/kube-apiserver DIR --audit`; `url` is https://127.0.0.1:PORT."""

    process: subprocess.Popen[bytes]
    directory: Path
    url: str
    state_dir: Path
    port: int

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.directory / "audit.log"

    def stop(self) -> None:
        """SIGTERM, as a user would; the server removes its temporary directories and exits 0."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def discard(self) -> None:
        """Stop for good: the etcd data and certificates kept for restarts go too."""
        self.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)


def build() -> Path:
    """Build (or reuse) the binary; the path of the cached binary. A missing Go is `ApiServerUnavailable`."""
    result = subprocess.run(
        ["bash", str(SCRIPT), "--build-only"], capture_output=True, text=True, timeout=3600, check=False
    )
    if result.returncode != 0:
        raise ApiServerUnavailable(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "build failed")
    return Path(result.stdout.strip().splitlines()[-1])


def state_directory() -> Path:
    """Where etcd keeps its data for a test session: memory (/dev/shm) when there is one, else the temp dir.

    etcd writes on every API write; on a busy shared disk that, not the API server, sets the pace of a test.
    """
    shm = Path("/dev/shm")
    root = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="upgrader-etcd-", dir=root))


def start(directory: Path, *, state_dir: Path | None = None, port: int = 0, timeout: float = 120.0) -> ApiServerProcess:
    """Start the server with its state in `state_dir` (kept, so `restart` can reuse it) and wait for `ready`.

    The garbage collector, namespace and service account controllers run beside it, as in a real cluster
    (ownerReferences are collected, namespaces get their `default` ServiceAccount).
    """
    directory.mkdir(parents=True, exist_ok=True)
    state = state_dir or state_directory()
    argv = ["bash", str(SCRIPT), str(directory), "--audit", "--controllers", "--state-dir", str(state)]
    if port:
        argv += ["--port", str(port)]
    log = (directory / "script.log").open("ab")
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            break
    if not line.startswith(b"ready "):
        process.kill()
        process.wait()
        tail = (directory / "script.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"kube-apiserver did not become ready in {timeout}s: {line!r}\n{tail}")
    url = line.decode().split()[1]
    return ApiServerProcess(process, directory, url, state, int(url.rsplit(":", 1)[1]))


def restart(server: ApiServerProcess) -> ApiServerProcess:
    """Stop the server and start it again on the same etcd data, certificates and address."""
    server.stop()
    return start(server.directory, state_dir=server.state_dir, port=server.port)


def flux_crd_documents() -> list[dict[str, Any]] | None:
    """Flux's real CRDs from ../shared/fixtures, or None when that reference data is not beside the checkout."""
    if not SHARED_FLUX_CRDS.is_dir():
        return None
    docs: list[dict[str, Any]] = []
    for path in sorted(SHARED_FLUX_CRDS.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)
    return docs


def crd_documents() -> list[dict[str, Any]]:
    """Flux's real CRDs when present (else the emulator's minimal ones), then ours."""
    docs = flux_crd_documents() or emulator.builtin_flux_crds()
    for path in sorted((REPO_ROOT / "crds").glob("*.yaml")):
        found = yaml.safe_load_all(path.read_text(encoding="utf-8"))
        docs.extend(d for d in found if d and d.get("kind") == "CustomResourceDefinition")
    return docs


def install_crds(server: ApiServerProcess, kubectl: str) -> None:
    """Apply every CRD with kubectl (server-side: Flux's CRDs are too big for the last-applied annotation)."""
    bundle = server.directory / "crds.yaml"
    bundle.write_text(yaml.safe_dump_all(crd_documents(), sort_keys=False), encoding="utf-8")
    env = {**os.environ, "KUBECONFIG": str(server.kubeconfig)}
    for argv in (
        [kubectl, "apply", "--server-side", "--force-conflicts", "-f", str(bundle)],
        [kubectl, "wait", "--for=condition=Established", "--timeout=60s", "-f", str(bundle)],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:3])} failed:\n{done.stderr}")
    # Established is not servable yet: each new resource's watch cache answers 429 "storage is (re)initializing"
    # for a moment. Tests start when every kind lists; the operator's own retry on 429 is tested elsewhere.
    admin = kubehttp.KubeHttp(server.kubeconfig)
    deadline = time.monotonic() + 60
    for doc in crd_documents():
        resource = admin.resource(f"{doc['spec']['names']['plural']}.{doc['spec']['group']}")
        while True:
            try:
                admin.request("GET", resource.path(), query={"limit": "1"})
                break
            except kubehttp.ApiError as error:
                if error.status != 429 or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    admin.close()


class RealCluster:
    """The session's real API server, seen as one test's cluster (see the module docstring)."""

    def __init__(self, server: ApiServerProcess, workdir: Path, rules: Iterable[Mapping[str, Any]] | None) -> None:
        self.server = server
        self.admin = kubehttp.KubeHttp(server.kubeconfig)
        self.workdir = workdir
        self.rules = None if rules is None else [dict(r) for r in rules]
        self.service_account = "operator" if self.rules is None else "operator-rules"
        self.user = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{self.service_account}"
        self.kubeconfig = workdir / "kubeconfig"
        self._audit_offset = 0

    # The LocalCluster surface.

    def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.admin.apply(body)

    def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.admin.get(plural, namespace, name)

    def list(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.admin.list(plural, namespace)

    def delete(self, plural: str, namespace: str | None, name: str) -> None:
        self.admin.delete(plural, namespace, name)

    @property
    def audit(self) -> list[emulator_server.AuditEntry]:
        """The operator's writes since this block began (Kopf's and ours), like the emulator's `audit`."""
        return [e for e in self._entries() if e.method != "GET"]

    @property
    def failures(self) -> list[emulator_server.AuditEntry]:
        """The operator's calls answered with >= 400 since this block began."""
        return [e for e in self._entries() if e.status >= 400]

    def run_operator(self, namespaces: tuple[str, ...] = ()) -> contextlib.AbstractAsyncContextManager[kopf.Memo]:
        return demo_cluster.operator_running(namespaces)

    # Set-up and tear-down.

    def prepare(self) -> None:
        """The operator's ServiceAccount, its permissions and a token kubeconfig; the audit mark."""
        self.admin.ensure_namespace(OPERATOR_NAMESPACE)
        account = {"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": self.service_account, "namespace": OPERATOR_NAMESPACE}}  # fmt: skip
        self.admin.apply(account)
        for body in self._bindings():
            self.admin.apply(body)
        self.write_token_kubeconfig(self.kubeconfig, OPERATOR_NAMESPACE, self.service_account)
        self._audit_offset = self.server.audit_log.stat().st_size if self.server.audit_log.exists() else 0

    def write_token_kubeconfig(self, path: Path, namespace: str, service_account: str) -> Path:
        """A kubeconfig that authenticates as `namespace/service_account` with a TokenRequest token."""
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                   "spec": {"expirationSeconds": 7200}}  # fmt: skip
        token = self.admin.request(
            "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token", request
        )["status"]["token"]
        admin = yaml.safe_load(self.server.kubeconfig.read_text(encoding="utf-8"))
        ca = admin["clusters"][0]["cluster"]["certificate-authority-data"]
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "operator", "preferences": {},
            "clusters": [{"name": "e2e", "cluster": {"server": self.server.url, "certificate-authority-data": ca}}],
            "users": [{"name": service_account, "user": {"token": token}}],
            "contexts": [{"name": "operator", "context": {"cluster": "e2e", "user": service_account}}],
        }  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    def _bindings(self) -> list[dict[str, Any]]:
        subject = [{"kind": "ServiceAccount", "name": self.service_account, "namespace": OPERATOR_NAMESPACE}]
        labels = {TEST_LABEL: "true"}
        if self.rules is None:
            return [_binding("ClusterRoleBinding", "upgrader-e2e-operator", None, "ClusterRole", "cluster-admin",
                             subject, labels)]  # fmt: skip
        bodies: list[dict[str, Any]] = []
        cluster_rules = [_policy_rule(r) for r in self.rules if r.get("namespaces") is None]
        if cluster_rules:
            name = "upgrader-e2e-rules"
            bodies.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                           "metadata": {"name": name, "labels": labels}, "rules": cluster_rules})  # fmt: skip
            bodies.append(_binding("ClusterRoleBinding", name, None, "ClusterRole", name, subject, labels))
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for rule in self.rules:
            for namespace in rule.get("namespaces") or ():
                by_namespace.setdefault(namespace, []).append(_policy_rule(rule))
        for namespace, rules in by_namespace.items():
            self.admin.ensure_namespace(namespace)
            meta = {"name": "upgrader-e2e-rules", "namespace": namespace}
            bodies.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
                           "rules": rules})  # fmt: skip
            bodies.append(_binding("RoleBinding", "upgrader-e2e-rules", namespace, "Role", "upgrader-e2e-rules",
                                   subject, labels))  # fmt: skip
        return bodies

    def _entries(self) -> list[emulator_server.AuditEntry]:
        return self.entries_of(self.user)

    def entries_of(self, user: str) -> list[emulator_server.AuditEntry]:
        """Every call made with `user`'s authority since this block began (writes, and every read but the admin's).

        That is the user a call was authorized as: a call made while impersonating a ServiceAccount
        (`Impersonate-User`) counts for that account, not for the client that sent it.
        """
        entries = []
        with self.server.audit_log.open("rb") as log:
            log.seek(self._audit_offset)
            for raw in log:
                event = json.loads(raw)
                acting = (event.get("impersonatedUser") or event.get("user") or {}).get("username")
                if event.get("stage") != "ResponseComplete" or acting != user:
                    continue
                ref = event.get("objectRef") or {}
                verb = str(event.get("verb"))
                entries.append(
                    emulator_server.AuditEntry(
                        method=VERBS.get(verb, "GET"),
                        path=str(event.get("requestURI", "")).split("?")[0],
                        group=str(ref.get("apiGroup") or ""),
                        resource=str(ref.get("resource") or ""),
                        namespace=ref.get("namespace"),
                        name=ref.get("name"),
                        subresource=ref.get("subresource"),
                        status=int((event.get("responseStatus") or {}).get("code") or 0),
                    )
                )
        return entries

    def reset(self) -> None:
        """Delete what tests made: namespaced objects outside the system namespaces, labelled RBAC objects."""
        reset(self.admin)


def _policy_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if k != "namespaces"}


def _binding(
    kind: str, name: str, namespace: str | None, role_kind: str, role: str,
    subjects: list[dict[str, Any]], labels: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": subjects}  # fmt: skip


def reset(admin: kubehttp.KubeHttp) -> None:
    """Clear the cluster for the next test (see RealCluster.reset)."""
    namespaces = [
        n["metadata"]["name"]
        for n in admin.list("namespaces")
        if n["metadata"]["name"] not in SYSTEM_NAMESPACES | {OPERATOR_NAMESPACE}
    ]
    resources = {
        (r.group, r.version, r.plural): r
        for r in admin.resources(refresh=True).values()
        if r.namespaced and r.group in RESET_GROUPS and {"list", "delete"} <= r.verbs
    }
    for resource in resources.values():
        for namespace in namespaces:
            _clear(admin, resource, namespace)
    cluster_scoped = [admin.resource("clusterrolebindings"), admin.resource("clusterroles")]
    for resource in cluster_scoped:
        for selector in (TEST_LABEL, INSTALL_LABEL):
            answer = admin.request("GET", resource.path(), query={"labelSelector": selector})
            for item in answer.get("items") or ():
                admin.request("DELETE", resource.path(None, item["metadata"]["name"]))


def _clear(admin: kubehttp.KubeHttp, resource: kubehttp.Resource, namespace: str) -> None:
    """Delete every object of one resource in one namespace; strip finalizers no controller will remove here."""
    path = resource.path(namespace)
    if not admin.request("GET", path, query={"limit": "1"}).get("items"):
        return
    if resource.kind == "Namespace":
        return
    with contextlib.suppress(kubehttp.ApiError):
        admin.request("DELETE", path)  # deletecollection
    for item in admin.request("GET", path).get("items") or ():
        name = item["metadata"]["name"]
        if item["metadata"].get("finalizers"):
            with contextlib.suppress(kubehttp.ApiError):
                admin.request("PATCH", resource.path(namespace, name), {"metadata": {"finalizers": None}},
                              content_type=kubehttp.MERGE_PATCH)  # fmt: skip
        with contextlib.suppress(kubehttp.ApiError):
            admin.request("DELETE", resource.path(namespace, name))


@contextlib.contextmanager
def kubeconfig_env(path: Path) -> Iterator[None]:
    """Point $KUBECONFIG at `path` for the block (Kopf and our client read it at login)."""
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous


@contextlib.asynccontextmanager
async def real_cluster(
    server: ApiServerProcess, workdir: Path, rules: Iterable[Mapping[str, Any]] | None = None
) -> AsyncIterator[RealCluster]:
    """One test's view of the session's server: the operator's identity prepared, the cluster reset after."""
    local = RealCluster(server, workdir, rules)
    local.prepare()
    try:
        with kubeconfig_env(local.kubeconfig):
            yield local
    finally:
        local.reset()
        local.admin.close()
