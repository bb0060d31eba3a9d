"""Which proposals the Git worker should look at after a cycle, and what it needs to know. Pure.

Every proposal of the config that is not finished (Pending, Failed, Open, Merged) gets a job: Pending/Failed ones
are published, Open/Merged ones are followed (PR state, deployed version). The job carries the release's Flux
Kustomization and its `spec.path` (where in Git the release comes from) and the chart's index entries for the PR
body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.cycles.running import Outcome
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.proposals import phases
from fluxcd_helm_upgrader.proposals.worker import Job

ACTIVE = frozenset({phases.PENDING, phases.FAILED, phases.OPEN, phases.MERGED, ""})


def repo_path(path: str) -> str:
    """A Flux Kustomization spec.path ("./apps/staging") as a path relative to the repository root."""
    cleaned = path.strip().lstrip("./").strip("/")
    return cleaned or "."


def jobs_for(
    namespace: str,
    config_name: str,
    cfg: config_.UpgraderConfigSpec,
    proposals: Iterable[Mapping[str, Any]],
    outcome: Outcome,
    view: FluxView,
) -> list[Job]:
    versions = {c.release.key: c.versions for c in outcome.checked}
    jobs: list[Job] = []
    for body in proposals:
        if str((body.get("status") or {}).get("phase") or "") not in ACTIVE:
            continue
        release_ref = (body.get("spec") or {}).get("release") or {}
        release = view.release(str(release_ref.get("namespace")), str(release_ref.get("name")))
        kustomization = view.kustomization(release.kustomization if release else None)
        jobs.append(
            Job(
                namespace=namespace,
                name=str(body["metadata"]["name"]),
                config_name=config_name,
                config=cfg,
                kustomization=(kustomization.namespace, kustomization.name) if kustomization else None,
                kustomization_path=repo_path(kustomization.path) if kustomization else None,
                deployed_version=release.deployed_version if release else None,
                versions=versions.get(release.key, ()) if release else (),
            )
        )
    return jobs
