"""Which proposals the Git worker should look at after a cycle, and what it needs to know. Pure.

Every proposal the config owns that is not finished (Pending, Failed, Open, Merged) gets a job: Pending/Failed ones
are published, Open/Merged ones are followed (PR state, deployed version). The job carries the Flux Kustomization
and its `spec.path` of the object to edit (where in Git it comes from), the chart's index entries for the PR body,
and the edit plan (`proposals.targets.EditPlan`): which object and field, and the new digest when an OCIRepository
pins one.

A Pending/Failed proposal is published only with the plan of this cycle's check of its release, and only when that
plan's target is the proposal's spec.targetVersion: the spec is never the source of what gets written (anyone who
may edit proposals could write any target there). A release not checked this cycle (its source failed) waits for
the next cycle that checks it. The caller passes only proposals the config owns and whose release is in its scope
(`cycles.syncing.refuse` reported the others).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from typing import Any

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.cycles import subjects
from fluxcd_helm_upgrader.cycles.running import Checked, Outcome
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.proposals import ownership, phases, targets
from fluxcd_helm_upgrader.proposals.worker import Job
from fluxcd_helm_upgrader.structs import accounts
from fluxcd_helm_upgrader.structs import proposals as proposals_

ACTIVE = frozenset({phases.PENDING, phases.FAILED, phases.OPEN, phases.MERGED, ""})


def repo_path(path: str) -> str:
    """A Flux Kustomization spec.path ("./apps/staging") as a path relative to the repository root.

    ".." stays: a path that climbs out of the repository is reported by the locator, never read elsewhere."""
    return posixpath.normpath(path.strip().lstrip("/") or ".")


def plan_for(checked: Checked) -> targets.EditPlan | None:
    """The edit the worker makes for an outdated release, or None when there is nothing to write."""
    target = checked.target
    if target is None:
        return None
    edited = checked.source.edited
    current = checked.source.current or None
    return targets.EditPlan(
        kind=edited.kind,
        namespace=edited.namespace,
        name=edited.name,
        field=edited.field,
        current=current,
        target=target,
        digest=checked.digest,
        kustomization=edited.kustomization,
    )


def jobs_for(
    me: ownership.Config,
    cfg: config_.UpgraderConfigSpec,
    proposals: Iterable[Mapping[str, Any]],
    outcome: Outcome,
    view: FluxView,
    cycle: int = 0,
) -> list[Job]:
    checked = {c.release.key: c for c in outcome.checked}
    account = accounts.of(me.namespace, cfg.service_account_name)  # the upgrade risk reads the sources' Secrets as it
    jobs: list[Job] = []
    for body in proposals:
        proposal = proposals_.upgrade_proposal(body)
        phase, spec = proposal.status.phase, proposal.spec
        if phase not in ACTIVE:
            continue
        release = view.release(spec.release_namespace, spec.release_name)
        found = checked.get(release.key) if release else None
        plan = plan_for(found) if found else None
        if phase in (phases.PENDING, phases.FAILED, ""):
            if plan is None or plan.target != spec.target_version:
                continue  # published after a cycle whose check allows exactly this target
        elif plan is None or plan.target != spec.target_version:
            plan = targets.from_spec(spec)  # followed only (PR state, deployed version): nothing is written
        where = plan.kustomization if plan and plan.kustomization else (release.kustomization if release else None)
        kustomization = view.kustomization(where)
        jobs.append(
            Job(
                namespace=me.namespace,
                name=str(body["metadata"]["name"]),
                config_name=me.name,
                config_uid=me.uid,
                config=cfg,
                kustomization=(kustomization.namespace, kustomization.name) if kustomization else None,
                kustomization_path=repo_path(kustomization.path) if kustomization else None,
                deployed_version=release.deployed_version if release else None,
                versions=found.versions if found else (),
                edit=plan,
                risk=subjects.subject_for(found, account) if found else None,
                cycle=cycle,
            )
        )
    return jobs
