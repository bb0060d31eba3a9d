"""The checkout scan's own rules: what it builds, where the root is, and what it says without a cluster."""

from __future__ import annotations

import io
import json
from pathlib import Path

from fluxcd_helm_upgrader import repository_scanning

RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web}
spec:
  chart:
    spec: {chart: nginx, version: 1.0.0, sourceRef: {kind: HelmRepository, name: private}}
"""
REPO = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: private}
spec: {url: "https://charts.example.invalid", secretRef: {name: creds}}
"""


def _checkout(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)
    (root / "apps").mkdir()
    (root / "apps" / "web.yaml").write_text(RELEASE + "---\n" + REPO)
    return root


def test_build_defaults_namespaces_and_remembers_each_objects_directory(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "repo")
    built = repository_scanning.build(root, ["apps"], [])
    assert list(built.view.releases) == [("default", "web")]
    assert built.view.releases[("default", "web")].source is not None
    assert built.directory_of[("HelmRelease", "default", "web")] == "apps"
    assert built.view.helm_repositories[("default", "private")].secret_name == "creds"
    assert repository_scanning.checkout_root(root / "apps") == root.resolve()


async def test_sources_with_a_secret_are_reported_not_guessed(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "repo")
    out, err = io.StringIO(), io.StringIO()
    code = await repository_scanning.main(
        paths=[str(root / "apps")], sources=[], namespaces=(), include_prerelease=False, allowed_updates="major",
        minimum_release_age="", output="json", exit_code=True, risk=False, write=False, kube_version=None,
        out=out, err=err,
    )  # fmt: skip
    assert code == 0  # nothing known to be outdated
    [row] = json.loads(out.getvalue())
    assert (row["name"], row["status"]) == ("web", "AuthFailed")
    assert "scan --path reads no Secrets" in row["message"] and "default/creds" in row["message"]


async def test_a_directory_outside_the_checkout_is_an_error(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "repo")
    (tmp_path / "elsewhere").mkdir()
    err = io.StringIO()
    code = await repository_scanning.main(
        paths=[str(root / "apps")], sources=[str(tmp_path / "elsewhere")], namespaces=(), include_prerelease=False,
        allowed_updates="major", minimum_release_age="", output="table", exit_code=False, risk=False, write=False,
        kube_version=None, out=io.StringIO(), err=err,
    )  # fmt: skip
    assert code == 2 and "outside the checkout root" in err.getvalue()
