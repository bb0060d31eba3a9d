"""Paths in the GitOps repository never lead the locator outside the checkout (issue 10, item 9): `spec.git.path`,
a Flux Kustomization's `spec.path`, kustomize resources, components, patches and the kustomization file itself,
symlinks included. Such a path is reported (the message says it leaves the repository), never read.

Each case puts a tempting manifest outside the checkout (a HelmRelease that sets the version, or a patch that
would win); the locator must neither return it nor crash on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fluxcd_helm_upgrader.gitops import locating
from tests.unit.gitops.test_locating import RELEASE, TARGET, write

INLINE_PATCH = """\
patches:
  - target: {kind: HelmRelease, name: podinfo}
    patch: |
      - op: replace
        path: /spec/chart/spec/version
        value: 9.9.9
"""


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the checkout with what a hostile repository would like the operator to read."""
    return write(tmp_path / "outside", {
        "release.yaml": RELEASE.format(version="9.9.9"),
        "component/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                        + INLINE_PATCH,
        "kustomization.yaml": "resources: [release.yaml]\n" + INLINE_PATCH,
    })  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write(tmp_path / "repo", {
        "apps/kustomization.yaml": "resources: [release.yaml]\n",
        "apps/release.yaml": RELEASE.format(version="1.0.0"),
    })  # fmt: skip


def test_a_git_path_symlinked_out_of_the_checkout_is_reported(repo: Path, outside: Path) -> None:
    os.symlink(outside, repo / "clusters")
    with pytest.raises(locating.NotFound, match="'clusters' resolves outside the repository"):
        locating.locate(repo, TARGET, search_path="clusters")


def test_a_kustomization_path_outside_the_checkout_is_reported(repo: Path, outside: Path) -> None:
    with pytest.raises(locating.NotFound, match=r"'\.\./outside' resolves outside the repository"):
        locating.locate(repo, TARGET, kustomization_path="../outside", search_path="apps")


def test_a_component_outside_the_checkout_is_never_read(repo: Path, outside: Path) -> None:
    write(repo, {"apps/kustomization.yaml": "resources: [release.yaml]\ncomponents: [../../outside/component]\n"})
    location = locating.locate(repo, TARGET, kustomization_path="apps")
    assert (location.path, location.current) == ("apps/release.yaml", "1.0.0")


def test_a_symlinked_component_is_never_read(repo: Path, outside: Path) -> None:
    os.symlink(outside / "component", repo / "component")
    write(repo, {"apps/kustomization.yaml": "resources: [release.yaml]\ncomponents: [../component]\n"})
    location = locating.locate(repo, TARGET, kustomization_path="apps")
    assert (location.path, location.current) == ("apps/release.yaml", "1.0.0")


def test_a_symlinked_kustomization_file_is_never_read(repo: Path, outside: Path) -> None:
    (repo / "apps" / "kustomization.yaml").unlink()
    os.symlink(outside / "kustomization.yaml", repo / "apps" / "kustomization.yaml")
    location = locating.locate(repo, TARGET, kustomization_path="apps")
    assert (location.path, location.current) == ("apps/release.yaml", "1.0.0")


def test_symlinked_patch_and_resource_files_are_reported_not_read(repo: Path, outside: Path) -> None:
    os.symlink(outside / "release.yaml", repo / "apps" / "linked.yaml")
    write(repo, {"apps/kustomization.yaml": "resources: [release.yaml, linked.yaml, ../../outside/release.yaml]\n"
                                            "patches:\n  - path: linked.yaml\n"})  # fmt: skip
    other = locating.Target("HelmRelease", "podinfo", "elsewhere")
    with pytest.raises(locating.NotFound) as info:
        locating.locate(repo, other, kustomization_path="apps", fallback=False)
    message = str(info.value)
    assert "resource linked.yaml of apps resolves outside the repository; not read" in message
    assert "resource ../../outside/release.yaml of apps resolves outside the repository; not read" in message
    assert "patch file linked.yaml of apps/kustomization.yaml resolves outside the repository; not read" in message
