"""Branch names after the edit (`naming.edit_branch`): the same line of the same file gives the same branch on every
cluster, another file or line another branch, and every name is one Git accepts (`git check-ref-format`)."""

from __future__ import annotations

import subprocess

import pytest

from fluxcd_helm_upgrader.proposals import naming

VERSION = ("spec", "chart", "spec", "version")
PREFIX = "helm-upgrader/"


def test_readable_names_from_the_edited_files_directory_and_the_object() -> None:
    staging = naming.edit_branch(PREFIX, "apps/staging/podinfo-values.yaml", "podinfo", 0, VERSION)
    assert staging.startswith("helm-upgrader/apps/staging/podinfo-")
    assert len(staging.rsplit("-", 1)[1]) == 8
    assert naming.edit_branch(PREFIX, "release.yaml", "podinfo", 0, VERSION).startswith("helm-upgrader/podinfo-")


def test_the_same_line_of_the_same_file_shares_a_branch_other_edits_never_do() -> None:
    base = naming.edit_branch(PREFIX, "apps/base/podinfo/release.yaml", "podinfo", 0, VERSION)
    assert naming.edit_branch(PREFIX, "apps/base/podinfo/release.yaml", "podinfo", 0, VERSION) == base
    others = {
        naming.edit_branch(PREFIX, "apps/staging/podinfo-values.yaml", "podinfo", 0, VERSION),
        naming.edit_branch(PREFIX, "apps/production/podinfo-values.yaml", "podinfo", 0, VERSION),
        naming.edit_branch(PREFIX, "apps/base/podinfo/other.yaml", "podinfo", 0, VERSION),  # same directory and name
        naming.edit_branch(PREFIX, "apps/base/podinfo/release.yaml", "podinfo", 1, VERSION),  # another document
        naming.edit_branch(PREFIX, "apps/base/podinfo/release.yaml", "podinfo", 0, ("spec", "ref", "tag")),
    }
    assert len(others) == 5 and base not in others


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (".hidden/a b/x..y/c.lock/release.yaml", ".we ird~^:?*[name"),
        ("apps/@{x}/-dash/release.yaml", "podinfo.lock"),
        ("/".join(["d" * 60] * 8) + "/release.yaml", "p" * 250),
        ("apps/ünïcödé/release.yaml", "…"),
    ],
    ids=["git-specials", "at-brace-and-lock", "long", "non-ascii"],
)
def test_every_name_is_a_valid_git_ref_within_the_length_limit(path: str, name: str) -> None:
    branch = naming.edit_branch(PREFIX, path, name, 0, VERSION)
    assert len(branch) <= naming.MAX_BRANCH
    assert branch.startswith(PREFIX) and branch != PREFIX
    done = subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True, text=True, check=False)
    assert done.returncode == 0, (branch, done.stderr)
    assert naming.edit_branch(PREFIX, path, name, 0, VERSION) == branch
