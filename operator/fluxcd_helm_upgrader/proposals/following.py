"""Follow a proposal whose pull request exists: Merged, Closed or Applied, one event per transition.

Called by `proposals.processing` for an Open or Merged proposal, and by `proposals.publishing` when the PR for the
very target it was about to push turns out to be merged or closed already. The cluster is looked at first: a
release that runs the target (`checking.applying.runs_target` on the deployed chart version the cycle saw) is
Applied, whatever its PR says. Otherwise the proposal's PR, the one status.pullRequest records (its branch and
number): while it is in the repository's list of open PRs (`proposals.pulls`, one list per repository per cycle,
matched by head branch, so a person who retitles the PR changes nothing) nothing is asked or written; once it left
that list, it is asked for by number: merged → Merged (waiting for Flux), closed without merge → Closed (the target
goes to status.skippedTargets and is never proposed again, the PR never reopened). An open PR, or a merged proposal
whose release does not run the target yet, changes nothing. The branch and title that identify a proposal's PR
(`branch_of`, `title_of`) live here too: the publish action names its PR the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluxcd_helm_upgrader.checking import applying
from fluxcd_helm_upgrader.forges import base, texts
from fluxcd_helm_upgrader.proposals import failures, naming, phases, pulls
from fluxcd_helm_upgrader.proposals.worker import Job
from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.status import reasons


async def follow(
    core: secrets.SecretsApi, job: Job, body: Mapping[str, Any], open_pulls: pulls.OpenPulls
) -> phases.Transition:
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
    pull = await _recorded_pull(forge, job, spec, status, open_pulls)
    if pull is None or pull.state == "open":
        return None, None
    if pull.state == "merged":
        message = f"pull request #{pull.number} merged; waiting for Flux to apply {target}"
        return phases.merged(status, message, phases.generation(body)), ("Normal", reasons.PULL_REQUEST_MERGED, message)
    message = f"pull request #{pull.number} closed without merge; {target} is skipped until a newer version"
    closed = phases.closed(status, target, message, phases.generation(body))
    return closed, ("Normal", reasons.PULL_REQUEST_CLOSED, message)


async def _recorded_pull(
    forge: base.Forge, job: Job, spec: Mapping[str, Any], status: Mapping[str, Any], open_pulls: pulls.OpenPulls
) -> base.PullRequest | None:
    """The proposal's PR as it is now: still in the repository's open list (no call of its own), else asked for by
    the number status recorded; a proposal with no number on record falls back to its branch and title."""
    recorded = status.get("pullRequest") or {}
    branch, number = str(recorded.get("branch") or branch_of(job, spec)), recorded.get("number")
    listed = (await open_pulls.of(job, forge)).get(branch)
    if listed is not None and (number is None or listed.number == number):
        return listed
    if isinstance(number, int):
        found: base.PullRequest = await failures.forge_call(forge.get(number))
        return found
    legacy: base.PullRequest | None = await failures.forge_call(forge.find_pull_request(branch))
    return legacy if legacy is not None and legacy.title == title_of(spec) else None


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
