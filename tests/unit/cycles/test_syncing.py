"""Syncing one cycle's decisions into proposals, as a user sees it in `kubectl get uprop` and the events: a new
outdated release gets a Pending proposal owned by its config (ProposalCreated), a newer target retargets it
(TargetUpdated, back to Pending), a current release withdraws a proposal nothing was pushed for (ProposalWithdrawn
on the config) and keeps one with a PR; a quiet cycle writes nothing. A write the API refuses fails that release
only, and a name held by someone else's proposal is reported, never overwritten."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.cycles import running, syncing
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.structs import flux
from tests import builders
from tests.fakes import FakeProposals

CONFIG = {**builders.upgrader_config(), "metadata": {"namespace": "flux-system", "name": "fleet", "uid": "uid-1"}}
NS = "flux-system"


def _mine(target: str = "2.0.0", phase: str = "Pending", name: str = "podinfo", **status: Any) -> dict[str, Any]:
    """A proposal of CONFIG for apps/<name> at `target`, as the previous cycle left it."""
    body = builders.upgrade_proposal(name=f"apps.{name}", release=("apps", name), chart=name, current="1.0.0",
                                     target=target, status={"phase": phase, "message": "earlier", **status})
    body["spec"]["source"] = {"kind": "HelmRepository", "namespace": NS, "name": "charts",
                              "url": "https://charts.example.test"}  # fmt: skip
    return body


class RefusingStore(FakeProposals):
    def __init__(self, refuse: set[str], *bodies: dict[str, Any]) -> None:
        super().__init__(*bodies)
        self.refuse = refuse

    async def create(self, namespace: str, name: str, spec: Any, owner: Any) -> dict[str, Any]:
        if name in self.refuse:
            raise ApiException(status=422, reason="Unprocessable Entity")
        return await super().create(namespace, name, spec, owner)


async def test_a_new_outdated_release_gets_a_pending_proposal_owned_by_its_config() -> None:
    store = FakeProposals()
    result = await syncing.sync(store, CONFIG, builders.outcome(builders.checked("podinfo", "6.5.0", "6.7.1")), [])
    assert result.created == ["apps.podinfo"] and result.open_count == 1
    body = store.objects[(NS, "apps.podinfo")]
    assert body["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert body["spec"] == {
        "configRef": {"name": "fleet"}, "release": {"namespace": "apps", "name": "podinfo"}, "chart": "podinfo",
        "source": {"kind": "HelmRepository", "namespace": NS, "name": "charts", "url": "https://charts.example.test"},
        "currentVersion": "6.5.0", "targetVersion": "6.7.1",
    }  # fmt: skip
    status = body["status"]
    assert (status["phase"], status["conditions"][0]["reason"]) == ("Pending", "AwaitingPush")
    assert status["message"] == "podinfo 6.5.0 -> 6.7.1: waiting for the Git worker"
    created = "apps/podinfo: chart podinfo 6.5.0 -> 6.7.1 (newest allowed 6.7.1)"
    assert [(e.body["metadata"]["name"], e.type, e.reason, e.message) for e in result.events] == [
        ("apps.podinfo", "Normal", "ProposalCreated", created)
    ]


@pytest.mark.parametrize(
    ("existing", "checked", "writes", "event", "phase"),
    [
        # A newer target: same proposal, back to Pending so the worker rewrites the same branch and PR.
        (_mine("2.0.0", "Open"), builders.checked("podinfo", "1.0.0", "3.0.0"),
         [("patch_spec", "apps.podinfo"), ("patch_status", "apps.podinfo")], "TargetUpdated", "Pending"),
        # Nothing new: a quiet cycle writes nothing and posts nothing.
        (_mine("2.0.0", "Open"), builders.checked("podinfo", "1.0.0", "2.0.0"), [], None, "Open"),
        # Current again before anything was pushed: withdrawn (the event goes on the config).
        (_mine("2.0.0", "Pending"), builders.checked("podinfo", "2.0.0", None), [("delete", "apps.podinfo")],
         "ProposalWithdrawn", None),
        (_mine("2.0.0", "Failed"), builders.checked("podinfo", "2.0.0", None), [("delete", "apps.podinfo")],
         "ProposalWithdrawn", None),
        # Current again with a PR: kept, so the user still sees what happened.
        (_mine("2.0.0", "Merged"), builders.checked("podinfo", "2.0.0", None), [], None, "Merged"),
        (_mine("2.0.0", "Open"), builders.checked("podinfo", "2.0.0", None), [], None, "Open"),
    ],
    ids=["retarget", "quiet", "withdraw-pending", "withdraw-failed", "keep-merged", "keep-open"],
)  # fmt: skip
async def test_what_a_cycle_does_to_an_existing_proposal(
    existing: dict[str, Any], checked: running.Checked, writes: list[tuple[str, str]], event: str | None,
    phase: str | None,
) -> None:
    store = FakeProposals(existing)
    result = await syncing.sync(store, CONFIG, builders.outcome(checked), [existing])
    assert store.writes == writes
    assert [e.reason for e in result.events] == ([event] if event else [])
    after = store.objects.get((NS, "apps.podinfo"))
    assert (after["status"]["phase"] if after else None) == phase
    if event == "ProposalWithdrawn":
        (withdrawn,) = result.events
        assert withdrawn.body is CONFIG
        assert withdrawn.message == "apps/podinfo is current (2.0.0 is the newest); proposal apps.podinfo removed"
    if event == "TargetUpdated":
        assert after is not None and after["spec"]["targetVersion"] == "3.0.0"
        assert after["status"]["observedGeneration"] == 2  # the spec change bumped the generation


async def test_a_refused_write_fails_only_its_release() -> None:
    outcome = builders.outcome(builders.checked("bad"), builders.checked("good"))
    store = RefusingStore(refuse={"apps.bad"})
    result = await syncing.sync(store, CONFIG, outcome, [])
    assert [name for verb, name in store.writes if verb == "create"] == ["apps.good"]
    failure = result.conflicts["apps/bad"]
    assert failure.reason == "CheckFailed" and "HTTP 422" in failure.message
    reported = running.with_failures(outcome, result.conflicts)
    assert [c.release.name for c in reported.checked] == ["good"]
    assert [f.release.name for f in reported.failed] == ["bad"]


async def test_a_hand_made_proposal_with_the_same_name_is_reported_not_overwritten() -> None:
    hand_made = builders.upgrade_proposal(config=None, owner=None, target="0.0.1")
    store = FakeProposals(hand_made)
    result = await syncing.sync(store, CONFIG, builders.outcome(builders.checked("podinfo")), [hand_made])
    assert store.writes == []
    assert result.conflicts["apps/podinfo"].reason == "NotOwned"
    assert "delete it so the operator can create its own" in result.conflicts["apps/podinfo"].message


async def test_another_configs_proposal_is_a_scope_overlap_and_a_create_race_is_not_an_error() -> None:
    theirs = builders.upgrade_proposal(config="other", owner=("other", "uid-2"))
    store = FakeProposals(theirs)
    result = await syncing.sync(store, CONFIG, builders.outcome(builders.checked("podinfo")), [theirs])
    assert result.conflicts["apps/podinfo"].reason == "ScopeOverlap"
    # Created by someone else between the list and the create (409): reported the same way.
    raced = await syncing.sync(store, CONFIG, builders.outcome(builders.checked("podinfo")), [])
    assert raced.conflicts["apps/podinfo"].reason == "ScopeOverlap" and store.writes == []


async def test_a_release_an_older_config_keeps_is_handed_over_while_nothing_was_pushed() -> None:
    store = FakeProposals(_mine("2.0.0", "Pending"))
    overlap = builders.failed("podinfo", "ScopeOverlap", "apps/podinfo is kept by UpgraderConfig flux-system/a")
    result = await syncing.sync(store, CONFIG, builders.outcome(overlap), [_mine("2.0.0", "Pending")])
    assert result.withdrawn == ["apps.podinfo"]
    assert result.events[0].message == "apps/podinfo is kept by UpgraderConfig flux-system/a; withdrawn here"


def test_skipped_targets_ignores_what_is_not_a_version() -> None:
    closed = _mine(skippedTargets=["2.0.0", "x" * 300, 7])
    assert syncing.skipped_targets([closed]) == {"apps/podinfo": ["2.0.0"]}


SCOPE = config_.ScopeSpec(cluster_wide=False, namespaces=("apps",), selector={})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (builders.upgrade_proposal(owner=None), "NotOwned"),  # claims the config by label only
        (builders.upgrade_proposal(release=("outside", "podinfo")), "OutOfScope"),  # owned, release left the scope
    ],
    ids=["not-owned", "out-of-scope"],
)  # fmt: skip
async def test_refuse_marks_what_the_config_will_not_act_on_once(body: dict[str, Any], reason: str) -> None:
    store = FakeProposals(body)
    view = FluxView(releases={("apps", "podinfo"): flux.HelmRelease("apps", "podinfo")})
    refused, events = await syncing.refuse(store, CONFIG, SCOPE, view, [body])
    assert refused == {"apps.podinfo"}
    status = store.status("apps.podinfo")
    assert (status["phase"], status["conditions"][0]["reason"]) == ("Failed", reason)
    assert [(e.type, e.reason, e.message) for e in events] == [("Warning", reason, status["message"])]
    # The next cycle finds it reported already: no new write, no new event.
    again, events = await syncing.refuse(store, CONFIG, SCOPE, view, [store.objects[(NS, "apps.podinfo")]])
    assert (again, events, store.writes) == ({"apps.podinfo"}, [], [("patch_status", "apps.podinfo")])


async def test_refuse_leaves_owned_proposals_in_scope_and_other_configs_alone() -> None:
    theirs = builders.upgrade_proposal(name="apps.other", config="other", owner=("other", "uid-2"))
    store = FakeProposals(_mine(), theirs)
    view = FluxView(releases={("apps", "podinfo"): flux.HelmRelease("apps", "podinfo")})
    refused, events = await syncing.refuse(store, CONFIG, SCOPE, view, [_mine(), theirs])
    assert (refused, events, store.writes) == (set(), [], [])
