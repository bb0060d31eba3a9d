"""Follow a proposal whose pull request exists: Merged, Closed or Applied, one event per transition.

Called by `proposals.processing` for an Open or Merged proposal, and by `proposals.publishing` when the PR for the
very target it was about to push turns out to be merged or closed already. The cluster is looked at first: a
release that runs the target (`checking.applying.runs_target` on the deployed chart version the cycle saw) is
Applied, whatever its PR says. Otherwise the PR of the proposal's branch, when its title names this target: merged
→ Merged (waiting for Flux), closed without merge → Closed (the target goes to status.skippedTargets and is never
proposed again, the PR never reopened). An open PR, or a merged proposal whose release does not run the target yet,
changes nothing. The branch and title that identify a proposal's PR (`branch_of`, `title_of`) live here too: the
publish action names its PR the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluxcd_helm_upgrader.checking import applying
from fluxcd_helm_upgrader.forges import base, texts
from fluxcd_helm_upgrader.proposals import failures, naming, phases
from fluxcd_helm_upgrader.proposals.worker import Job
from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.status import reasons


async def follow(core: secrets.SecretsApi, job: Job, body: Mapping[str, Any]) -> phases.Transition:
    """The next phase of an Open or Merged proposal, from the cluster and then its PR."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    target = str(spec.get("targetVersion"))
    release = f"{spec['release']['namespace']}/{spec['release']['name']}"
    if applying.runs_target(job.deployed_version, target):
        message = f"{release} runs chart {spec['chart']} {job.deployed_version} (target {target})"
        return phases.applied(status, message, phases.generation(body)), ("Normal", reasons.UPGRADE_APPLIED, message)
    if status.get("phase") == phases.MERGED:
        return None, None
    forge = await failures.forge_for(core, job)
    pull = await failures.forge_call(forge.find_pull_request(branch_of(job, spec)))
    if pull is None or pull.title != title_of(spec):
        return None, None
    if pull.state == "merged":
        message = f"pull request #{pull.number} merged; waiting for Flux to apply {target}"
        return phases.merged(status, message, phases.generation(body)), ("Normal", reasons.PULL_REQUEST_MERGED, message)
    if pull.state == "closed":
        message = f"pull request #{pull.number} closed without merge; {target} is skipped until a newer version"
        closed = phases.closed(status, target, message, phases.generation(body))
        return closed, ("Normal", reasons.PULL_REQUEST_CLOSED, message)
    return None, None


def settled(body: Mapping[str, Any], pull: base.PullRequest) -> phases.Transition:
    """A PR for this very target exists but is no longer open: never reopen it; record what happened."""
    status, target = body.get("status") or {}, str((body.get("spec") or {}).get("targetVersion"))
    if pull.state == "merged":
        message = f"pull request #{pull.number} was merged; waiting for Flux to apply {target}"
        return phases.merged(status, message, phases.generation(body)), ("Normal", reasons.PULL_REQUEST_MERGED, message)
    message = f"pull request #{pull.number} was closed without merge; {target} is skipped until a newer version"
    closed = phases.closed(status, target, message, phases.generation(body))
    return closed, ("Normal", reasons.PULL_REQUEST_CLOSED, message)


def prefix_of(job: Job) -> str:
    """The branch prefix of the job's config: the only branches the worker ever pushes."""
    return job.config.pull_requests.branch_prefix


def branch_of(job: Job, spec: Mapping[str, Any]) -> str:
    """The proposal's branch: `<prefix><release namespace>/<release name>`."""
    release = spec.get("release") or {}
    return naming.branch_name(prefix_of(job), str(release.get("namespace")), str(release.get("name")))


def title_of(spec: Mapping[str, Any]) -> str:
    """The proposal's PR title, which names its target (a PR for an older target is not this proposal's)."""
    release = spec.get("release") or {}
    return texts.title(
        str(spec.get("chart")), str(spec.get("targetVersion")), str(release.get("namespace")), str(release.get("name"))
    )
