"""Whose proposal is it (ownerReference uid, not a label or a name), and does the worker still act on it when it
was swapped or edited between the cycle and the Git work: NotOwned / TargetNotAllowed, nothing pushed."""

from __future__ import annotations

from typing import Any

import pytest

from fluxcd_helm_upgrader import config, kube_events
from fluxcd_helm_upgrader.proposals import ownership, processing, publishing, targets
from fluxcd_helm_upgrader.proposals.worker import Job
from tests import builders

ME = ownership.Config("flux-system", "fleet", "uid-1")


def proposal(*, label: str | None = "fleet", owner: tuple[str, str] | None = None, target: str = "6.7.1") -> dict:
    """A proposal labelled `label` (None: no label) and owned by `owner` (config name, uid; None: by nobody)."""
    return builders.upgrade_proposal(config=label, owner=owner, target=target)


@pytest.mark.parametrize(
    ("body", "standing"),
    [
        (proposal(owner=("fleet", "uid-1")), ownership.Standing.OWNED),
        (proposal(label=None, owner=("fleet", "uid-1")), ownership.Standing.OWNED),  # the uid decides, not a label
        (proposal(), ownership.Standing.UNOWNED),  # a label anyone can set
        (proposal(owner=("fleet", "uid-of-a-deleted-config")), ownership.Standing.UNOWNED),
        (proposal(label="other", owner=("other", "uid-2")), ownership.Standing.OTHER_CONFIG),
        (proposal(owner=("other", "uid-2")), ownership.Standing.OTHER_CONFIG),
        (proposal(label="other"), ownership.Standing.UNRELATED),
    ],
)
def test_standing(body: dict, standing: ownership.Standing) -> None:
    assert ownership.standing(body, ME) is standing


class Store:
    def __init__(self, body: dict) -> None:
        self.body = body
        self.patched: list[dict] = []

    async def get(self, namespace: str, name: str) -> dict:
        return self.body

    async def patch_status(self, namespace: str, name: str, status: dict) -> dict:
        self.patched.append(status)
        return {**self.body, "status": status}


class NoGit:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the worker must not touch Git ({name})")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (proposal(), "NotOwned"),  # swapped for a hand-made one after the cycle
        (proposal(owner=("fleet", "uid-1"), target="0.0.1"), "TargetNotAllowed"),  # edited after the cycle
    ],
)
async def test_the_worker_reads_the_proposal_again_and_refuses(
    monkeypatch: pytest.MonkeyPatch, body: dict, reason: str
) -> None:
    posted: list[tuple[str, str]] = []

    async def post(api: object, on: dict, type_: str, why: str, message: str) -> None:
        posted.append((type_, why))

    monkeypatch.setattr(kube_events, "post", post)
    store = Store(body)
    ctx = publishing.Context(api=None, readers=None, proposals=store, workspace=NoGit(), metrics=None)  # type: ignore[arg-type]
    cfg = config.parse({"git": {"url": "file:///a.git"}, "pullRequests": {"provider": "none"}})
    plan = targets.EditPlan("HelmRelease", "apps", "podinfo", targets.RELEASE_VERSION, "6.5.0", "6.7.1")
    job = Job(namespace="flux-system", name="apps.podinfo", config_name="fleet", config_uid="uid-1", config=cfg,
              edit=plan)  # fmt: skip
    await processing.process(ctx, job)
    (status,) = store.patched
    assert status["phase"] == "Failed"
    assert status["conditions"][0]["reason"] == reason
    assert posted == [("Warning", reason)]
