"""OCI chart sources end to end: a real registry, a seeded Git fleet, the GitHub stand-in and the real operator.

What a user sees for each of Flux's OCI shapes: one PR per release whose diff changes exactly the planned lines —
the HelmRelease's version for an OCI HelmRepository, the OCIRepository's tag (and its digest, in the same commit,
set to what the registry reports for the new tag) for a chartRef to an OCIRepository, the HelmChart's version for a
chartRef to a HelmChart. Registries with Basic and token auth work through the sources' secretRef; a registry
outage fails only the releases that need it while an HTTP release of the same config still gets its proposal.
Skips when /usr/bin/docker-registry is absent (`apt-get install -y docker-registry`).
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from fluxcd_helm_upgrader.sources import oci
from fluxcd_helm_upgrader.testkit import github as standin
from fluxcd_helm_upgrader.testkit.demo import fleet
from fluxcd_helm_upgrader.testkit.demo import running as demo
from tests import builders
from tests.e2e import backends, harness, prs
from tests.support import registry

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.usefixtures("registry_installed", "backend"),  # registry: skips without it; fails under CI=true
]

NS = prs.NAMESPACE
USER, PASSWORD = "flux", "s3cret-OCI-pa55"
OLD_DIGEST = "sha256:" + "0" * 64  # replaced by the real digest of 6.5.0 once pushed


def oci_helm_repository(name: str, url: str, secret: str | None = None) -> str:
    ref = f"\n  secretRef:\n    name: {secret}" if secret else ""
    return f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: {name}
  namespace: {NS}
spec:
  type: oci
  url: {url}
  insecure: true
  interval: 10m{ref}
"""


def release_from_repository(name: str, chart: str, version: str, repository: str) -> str:
    return f"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: apps
spec:
  interval: 10m
  chart:
    spec:
      chart: {chart}
      version: "{version}"
      sourceRef:
        kind: HelmRepository
        name: {repository}
        namespace: {NS}
"""


def release_from_chart_ref(name: str, kind: str, source: str, namespace: str = "apps") -> str:
    return f"""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: apps
spec:
  interval: 10m
  chartRef:
    kind: {kind}
    name: {source}
    namespace: {namespace}
"""


def oci_repository(name: str, url: str, ref: str, secret: str | None = None) -> str:
    auth = f"\n  secretRef:\n    name: {secret}" if secret else ""
    return f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: {name}
  namespace: apps
spec:
  interval: 10m
  url: {url}
  insecure: true{auth}
  ref:
{ref}"""


def helm_chart(name: str, chart: str, version: str, repository: str) -> str:
    """A HelmChart beside its HelmRepository (Flux's HelmChart sourceRef is local: it has no namespace)."""
    return f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: {name}
  namespace: {NS}
spec:
  interval: 10m
  chart: {chart}
  version: {version}  # the chart this cluster runs
  sourceRef:
    kind: HelmRepository
    name: {repository}
"""


@dataclass
class Fleet:
    local: backends.Cluster
    github: standin.GitHubStandIn
    git_url: str

    def phase(self, name: str) -> str | None:
        body = self.local.get("upgradeproposals", NS, name) or {}
        return (body.get("status") or {}).get("phase")

    def proposal(self, name: str) -> dict[str, Any]:
        body = self.local.get("upgradeproposals", NS, name)
        assert body is not None, name
        return body

    def pull(self, release: str) -> standin.PullRequestRecord:
        found = [p for p in self.github.pull_requests() if p.head == f"helm-upgrader/apps/{release}"]
        assert len(found) == 1, [p.head for p in self.github.pull_requests()]
        return found[0]

    def changed(self, release: str) -> list[str]:
        diff = fleet.branch_diff(self.git_url, f"helm-upgrader/apps/{release}")
        return [
            line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]  # fmt: skip

    def changed_files(self, release: str) -> list[str]:
        diff = fleet.branch_diff(self.git_url, f"helm-upgrader/apps/{release}")
        return [line.removeprefix("+++ b/") for line in diff.splitlines() if line.startswith("+++ b/")]


@contextlib.asynccontextmanager
async def seeded(tmp_path: Path, files: dict[str, str], extra: Sequence[dict[str, Any]] = ()) -> AsyncIterator[Fleet]:
    """Seed the fleet, start the GitHub stand-in and the emulator; apply every manifest of `files` as the cluster's
    objects, plus `extra` (secrets, objects not in Git); then an UpgraderConfig for the fleet."""
    git_url = fleet.seed(tmp_path, files)
    async with (
        standin.GitHubStandIn(token=prs.CANARY, repositories=("acme/fleet",)) as github,
        backends.cluster(tmp_path) as local,
    ):
        for text in files.values():
            for doc in yaml.safe_load_all(text):
                if doc and doc.get("kind") != "Kustomization":
                    local.apply(doc)
        for body in extra:
            local.apply(body)
        local.apply(builders.secret("github", {"token": prs.CANARY}))
        config = demo.upgrader_config(git_url)
        config["metadata"]["name"] = "fleet"
        config["spec"]["pullRequests"] = {
            "provider": "github", "apiURL": github.api_url, "repository": "acme/fleet", "secretRef": {"name": "github"},
        }  # fmt: skip
        local.apply(config)
        yield Fleet(local, github, git_url)


async def push(url: str, repository: str, versions: list[str], headers: dict[str, str] | None = None) -> dict[str, str]:
    """Push podinfo charts; return {tag: manifest digest} as the registry answered."""
    async with aiohttp.ClientSession() as session:
        return {
            v: await registry.push_chart(session, url, repository, "podinfo", v, f"app-{v}", headers=headers)
            for v in versions
        }


async def test_each_oci_shape_gets_one_correct_pr(tmp_path: Path, anonymous_registry: registry.RegistryProcess) -> None:
    host = anonymous_registry.host
    digests = await push(anonymous_registry.url, "charts/podinfo", ["6.5.0", "6.6.0", "6.7.1", "7.0.0-rc.1"])
    tagged = oci_repository("tagged", f"oci://{host}/charts/podinfo", "    tag: 6.5.0\n")
    pinned = oci_repository(
        "pinned", f"oci://{host}/charts/podinfo", f"    tag: 6.5.0\n    digest: {digests['6.5.0']}\n"
    )
    files = {
        "infra/oci-charts.yaml": oci_helm_repository("oci-charts", f"oci://{host}/charts"),
        "apps/podinfo.yaml": release_from_repository("podinfo", "podinfo", "6.5.0", "oci-charts"),
        "apps/tagged.yaml": tagged + "---\n" + release_from_chart_ref("tagged", "OCIRepository", "tagged"),
        "apps/pinned-source.yaml": pinned,
        "apps/pinned.yaml": release_from_chart_ref("pinned", "OCIRepository", "pinned"),
        "apps/charted.yaml": helm_chart("charted", "podinfo", "6.6.0", "oci-charts")
        + "---\n"
        + release_from_chart_ref("charted", "HelmChart", "charted", namespace=NS),
    }
    async with seeded(tmp_path, files) as s, s.local.run_operator():
        for name in ("podinfo", "tagged", "pinned", "charted"):
            await harness.wait_for(lambda n=name: s.phase(f"apps.{n}") == "Open", what=f"{name} PR", timeout=30)
        assert len(s.github.pull_requests()) == 4

        # OCI HelmRepository: the HelmRelease's version, as for HTTP.
        pr = s.pull("podinfo")
        assert pr.title == "Update podinfo to 6.7.1 in apps/podinfo"
        assert f"oci://{host}/charts" in (pr.body or "")
        assert s.changed("podinfo") == ['-      version: "6.5.0"', '+      version: "6.7.1"']
        spec = s.proposal("apps.podinfo")["spec"]
        assert spec["source"] == {"kind": "HelmRepository", "namespace": NS, "name": "oci-charts",
                                  "url": f"oci://{host}/charts"}  # fmt: skip

        # OCIRepository tag: the OCIRepository's manifest, not the HelmRelease's.
        pr = s.pull("tagged")
        assert pr.title == "Update podinfo to 6.7.1 in apps/tagged"
        assert f"oci://{host}/charts/podinfo" in (pr.body or "")
        # appVersion read from the chart's config blob, for the current and the new version.
        assert "app-6.5.0" in (pr.body or "") and "app-6.7.1" in (pr.body or ""), pr.body
        assert s.changed("tagged") == ["-    tag: 6.5.0", "+    tag: 6.7.1"]
        assert s.proposal("apps.tagged")["spec"]["source"]["kind"] == "OCIRepository"
        assert s.proposal("apps.tagged")["status"]["manifest"] == {"path": "apps/tagged.yaml", "line": 11}

        # OCIRepository tag + digest: both lines in one commit; the digest is the registry's for 6.7.1.
        assert s.changed_files("pinned") == ["apps/pinned-source.yaml"]
        assert s.changed("pinned") == [
            "-    tag: 6.5.0",
            f"-    digest: {digests['6.5.0']}",
            "+    tag: 6.7.1",
            f"+    digest: {digests['6.7.1']}",
        ]
        async with aiohttp.ClientSession() as session:
            reported = await oci.OciClient(session).manifest_digest(
                oci.parse_ref(f"oci://{host}/charts/podinfo", insecure=True), "6.7.1"
            )
        assert reported == digests["6.7.1"]
        commits = fleet.git("log", "--format=%s", "main..helm-upgrader/apps/pinned", cwd=Path(s.git_url[7:]))
        assert commits.splitlines() == ["Update podinfo to 6.7.1 in apps/pinned"]

        # HelmChart chartRef: the HelmChart's spec.version; spec.source names the HelmChart.
        assert s.pull("charted").title == "Update podinfo to 6.7.1 in apps/charted"
        assert s.changed("charted") == [
            "-  version: 6.6.0  # the chart this cluster runs",
            "+  version: 6.7.1  # the chart this cluster runs",
        ]
        assert s.proposal("apps.charted")["spec"]["source"] == {
            "kind": "HelmChart", "namespace": NS, "name": "charted", "url": f"oci://{host}/charts"
        }  # fmt: skip
        config = s.local.get("upgraderconfigs", NS, "fleet") or {}
        assert config["status"]["failedReleases"] == []
        assert config["status"]["releasesOutdated"] == 4


def _dockerconfig(host: str) -> bytes:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return json.dumps({"auths": {host: {"auth": auth}}}).encode()


async def test_basic_and_token_auth(tmp_path: Path) -> None:
    pytest.importorskip("bcrypt", reason="distribution's htpasswd needs bcrypt hashes: pip install bcrypt")
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(registry.htpasswd_line(USER, PASSWORD))
    basic = registry.start_registry(tmp_path / "basic", {"htpasswd": {"realm": "test", "path": str(htpasswd)}})
    issuer = registry.TokenIssuer()
    server = await registry.start_token_server(issuer, username=USER, password=PASSWORD)
    token = registry.start_registry(tmp_path / "token", {"token": {
        "realm": server.realm, "service": registry.TOKEN_SERVICE, "issuer": registry.TOKEN_ISSUER,
        "rootcertbundle": str(issuer.write_bundle(tmp_path / "bundle.pem")),
    }})  # fmt: skip
    try:
        push_auth = {"Authorization": oci.RegistryCreds(USER, PASSWORD).basic_header()}
        await push(basic.url, "private/podinfo", ["6.5.0", "6.7.1"], push_auth)
        # A push token, as `helm push` would get one.
        query = {"service": registry.TOKEN_SERVICE, "scope": "repository:private/podinfo:pull,push"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.realm, params=query, headers=push_auth) as resp,
        ):
            bearer = {"Authorization": f"Bearer {(await resp.json())['token']}"}
        await push(token.url, "private/podinfo", ["6.5.0", "6.8.0"], bearer)
        files = {
            "infra/basic.yaml": oci_helm_repository(
                "basic-charts", f"oci://{basic.host}/private", secret="basic-creds"
            ),
            "apps/basic.yaml": release_from_repository("basic", "podinfo", "6.5.0", "basic-charts"),
            "apps/token.yaml": oci_repository(
                "token", f"oci://{token.host}/private/podinfo", "    tag: 6.5.0\n", secret="token-creds"
            ) + "---\n" + release_from_chart_ref("token", "OCIRepository", "token"),
        }  # fmt: skip
        secrets = [
            builders.secret("basic-creds", {"username": USER, "password": PASSWORD}),
            {**builders.secret("token-creds", {".dockerconfigjson": _dockerconfig(token.host)}), "metadata": {
                "name": "token-creds", "namespace": "apps"}, "type": "kubernetes.io/dockerconfigjson"},
        ]  # fmt: skip
        server.requests.clear()
        async with seeded(tmp_path / "fleet", files, secrets) as s, s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.basic") == "Open", what="basic-auth PR", timeout=30)
            await harness.wait_for(lambda: s.phase("apps.token") == "Open", what="token-auth PR", timeout=30)
            assert s.changed("basic") == ['-      version: "6.5.0"', '+      version: "6.7.1"']
            assert s.changed("token") == ["-    tag: 6.5.0", "+    tag: 6.8.0"]
            # The operator authenticated to the token service with the Secret's credentials.
            assert any(r["authenticated"] and "repository:private/podinfo:pull" in r["scopes"] for r in server.requests)
            status = (s.local.get("upgraderconfigs", NS, "fleet") or {})["status"]
            assert status["failedReleases"] == []
            assert PASSWORD not in json.dumps(s.local.list("upgradeproposals")) + json.dumps(status)
    finally:
        basic.stop()
        token.stop()
        await server.runner.cleanup()


async def test_registry_outage_fails_only_its_releases(
    tmp_path: Path, anonymous_registry: registry.RegistryProcess
) -> None:
    host = anonymous_registry.host
    await push(anonymous_registry.url, "charts/podinfo", ["6.5.0", "6.7.1"])
    anonymous_registry.stop()  # the registry is down when the operator checks
    charts_server = demo.chart_server()
    await charts_server.start()
    try:
        files = {
            "infra/oci-charts.yaml": oci_helm_repository("oci-charts", f"oci://{host}/charts"),
            "infra/http-charts.yaml": yaml.safe_dump(
                builders.helm_repository("http-charts", charts_server.repo_url("demo"), namespace=NS)
            ),
            "apps/oci.yaml": release_from_repository("oci", "podinfo", "6.5.0", "oci-charts"),
            "apps/tagged.yaml": oci_repository("tagged", f"oci://{host}/charts/podinfo", "    tag: 6.5.0\n")
            + "---\n"
            + release_from_chart_ref("tagged", "OCIRepository", "tagged"),
            "apps/http.yaml": release_from_repository("http", "podinfo", "6.5.0", "http-charts"),
        }
        async with seeded(tmp_path, files) as s, s.local.run_operator():
            await harness.wait_for(lambda: s.phase("apps.http") == "Open", what="HTTP release PR", timeout=30)
            status = (s.local.get("upgraderconfigs", NS, "fleet") or {})["status"]
            failed = {entry["release"]: entry for entry in status["failedReleases"]}
            assert sorted(failed) == ["apps/oci", "apps/tagged"]
            assert {entry["reason"] for entry in failed.values()} == {"FetchFailed"}
            assert "cannot connect" in failed["apps/oci"]["message"]
            assert status["releasesChecked"] == 1
            assert s.local.get("upgradeproposals", NS, "apps.oci") is None
            assert [p.head for p in s.github.pull_requests()] == ["helm-upgrader/apps/http"]
    finally:
        await charts_server.stop()


async def test_oci_repository_semver_is_a_range(tmp_path: Path, anonymous_registry: registry.RegistryProcess) -> None:
    host = anonymous_registry.host
    await push(anonymous_registry.url, "charts/podinfo", ["6.5.0", "6.7.1", "7.0.0", "7.1.0"])
    url = f"oci://{host}/charts/podinfo"
    files = {
        "apps/behind.yaml": oci_repository("behind", url, '    semver: "6.x"\n')
        + "---\n"
        + release_from_chart_ref("behind", "OCIRepository", "behind"),
        "apps/current.yaml": oci_repository("current", url, '    semver: ">=6.0.0"\n')
        + "---\n"
        + release_from_chart_ref("current", "OCIRepository", "current"),
    }
    async with seeded(tmp_path, files) as s, s.local.run_operator():
        await harness.wait_for(lambda: s.phase("apps.behind") == "Open", what="semver PR", timeout=30)
        config = s.local.get("upgraderconfigs", NS, "fleet")
        assert config["status"]["releasesChecked"] == 2
        # A range that admits the newest version gets nothing: Flux picks it up by itself.
        assert s.local.get("upgradeproposals", NS, "apps.current") is None
        assert s.proposal("apps.behind")["spec"]["targetVersion"] == "7.x"
        assert s.changed("behind") == ['-    semver: "6.x"', '+    semver: "7.x"']
        assert s.pull("behind").title == "Update podinfo to 7.x in apps/behind"
