"""What a branch another cluster pushed decides (`joining.decide`, pure over file contents): exactly our edit is
joined (no push), an absent branch or an older value on that line is pushed over, a newer one is never dropped."""

from __future__ import annotations

import pytest

from fluxcd_helm_upgrader.gitops import locating
from fluxcd_helm_upgrader.proposals import changes, failures, joining

PATH = "apps/base/podinfo/release.yaml"
TEMPLATE = "kind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  chart:\n    spec:\n      version: {v} # pin\n"
LOCATION = locating.Location(PATH, 0, ("spec", "chart", "spec", "version"), 7, "6.5.0", "test")
OURS = changes.Change({PATH: TEMPLATE.format(v="6.7.1").encode()}, LOCATION)


@pytest.mark.parametrize(
    ("theirs", "decision"),
    [
        ({PATH: None}, joining.Decision.PUSH),  # no such branch (or file) yet
        ({PATH: TEMPLATE.format(v="6.7.1").encode()}, joining.Decision.JOIN),  # another cluster's identical edit
        ({PATH: TEMPLATE.format(v="6.6.3").encode()}, joining.Decision.PUSH),  # older target: the newer updates it
        ({PATH: TEMPLATE.format(v='">=6.0.0"').encode()}, joining.Decision.PUSH),  # not a version: ours replaces it
        ({PATH: b"not: [valid"}, joining.Decision.PUSH),  # unreadable: ours replaces it
    ],
    ids=["absent", "identical", "older", "range", "unreadable"],
)
def test_decide(theirs: dict[str, bytes | None], decision: joining.Decision) -> None:
    assert joining.decide("helm-upgrader/apps/base/podinfo/podinfo-0", OURS, theirs, "6.7.1") is decision


def test_a_newer_target_on_the_branch_is_never_overwritten() -> None:
    theirs: dict[str, bytes | None] = {PATH: TEMPLATE.format(v="6.8.0").encode()}
    with pytest.raises(failures.JobError) as caught:
        joining.decide("helm-upgrader/apps/base/podinfo/podinfo-0", OURS, theirs, "6.7.1")
    assert caught.value.reason == "NewerTargetOnBranch"
    assert str(caught.value) == (
        f"branch helm-upgrader/apps/base/podinfo/podinfo-0 already sets {PATH}:7 to 6.8.0, newer than 6.7.1 "
        "(another cluster asked for it); not overwritten"
    )
