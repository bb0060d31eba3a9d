"""UpgradeProposal bodies read into frozen values (`structs.proposals`): every field the operator reads back."""

from __future__ import annotations

from typing import Any

from fluxcd_helm_upgrader.structs import proposals

BODY: dict[str, Any] = {
    "metadata": {"namespace": "flux-system", "name": "apps.podinfo"},
    "spec": {
        "configRef": {"name": "fleet"},
        "release": {"namespace": "apps", "name": "podinfo"},
        "chart": "podinfo",
        "source": {"kind": "HelmRepository", "namespace": "flux-system", "name": "podinfo", "url": "https://s/"},
        "currentVersion": "6.5.0",
        "targetVersion": "6.7.1",
    },
    "status": {
        "phase": "Open",
        "message": "pull request #12 opened",
        "skippedTargets": ["6.6.0", 7, None, "6.7.0"],
        "risk": {"level": "High"},
    },
}


def test_every_field_is_read() -> None:
    proposal = proposals.upgrade_proposal(BODY)
    assert (proposal.namespace, proposal.name) == ("flux-system", "apps.podinfo")
    assert proposal.spec == proposals.ProposalSpec(
        config_name="fleet",
        release_namespace="apps",
        release_name="podinfo",
        chart="podinfo",
        current_version="6.5.0",
        target_version="6.7.1",
        source=proposals.ProposalSource("HelmRepository", "flux-system", "podinfo", "https://s/"),
    )
    assert proposal.spec.release_key == "apps/podinfo"
    # Anyone who may edit the namespace may write status: entries that are not strings are no targets.
    assert proposal.status == proposals.ProposalStatus("Open", "pull request #12 opened", ("6.6.0", "6.7.0"), "High")


def test_a_new_proposal_has_an_empty_status() -> None:
    body = {"metadata": BODY["metadata"], "spec": {**BODY["spec"], "source": None}}
    proposal = proposals.upgrade_proposal(body)
    assert proposal.status == proposals.ProposalStatus()
    assert proposal.status.phase == ""
    assert proposal.spec.source is None


def test_a_value_of_the_wrong_shape_reads_as_absent() -> None:
    proposal = proposals.upgrade_proposal({"spec": "not a mapping", "status": {"risk": "High", "phase": None}})
    assert proposal.spec.target_version == "" and proposal.spec.release_key == "/"
    assert proposal.status == proposals.ProposalStatus()
