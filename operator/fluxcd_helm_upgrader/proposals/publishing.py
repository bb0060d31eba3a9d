"""The Git worker's job for one proposal: push the one-line change and open or update its PR; follow the PR.

Called by `proposals.worker.WorkerPool`, one job at a time per repository. For a Pending or Failed proposal:
fetch the clone, locate the line, edit that one scalar, commit, push our branch (force-with-lease), open or update
the PR (found by head branch first, so restarts and two clusters sharing a repository never duplicate it). For an
Open or Merged one: look at the PR (merged → Merged; closed without merge → Closed, target skipped) and at the
cluster (it runs the target → Applied). Results land in the proposal's status with one event per transition.

Before any Git or forge call the proposal is read again and must still be owned by the job's config (its
ownerReference uid: a proposal deleted and re-created by someone else between the cycle and the worker is
NotOwned), and its spec.targetVersion must be the target of the job's plan, which comes from the config's last
check (else TargetNotAllowed): what gets written never comes from the proposal's spec.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes_asyncio import client

from fluxcd_helm_upgrader import kube_events
from fluxcd_helm_upgrader import metrics as metrics_
from fluxcd_helm_upgrader.checking import applying, indexes, risk
from fluxcd_helm_upgrader.forges import base, texts
from fluxcd_helm_upgrader.gitops import credentials, locating, repos
from fluxcd_helm_upgrader.proposals import access, changes, naming, ownership, phases, risking, targets
from fluxcd_helm_upgrader.proposals.store import ProposalStore
from fluxcd_helm_upgrader.proposals.worker import Job
from fluxcd_helm_upgrader.sources import secrets
from fluxcd_helm_upgrader.status import reasons

logger = logging.getLogger(__name__)


@dataclass
class Context:
    """The shared services a job uses."""

    api: client.ApiClient
    core: secrets.SecretsApi
    store: ProposalStore
    workspace: repos.Workspace
    metrics: metrics_.Metrics
    # Repositories whose credentials or clone failed in the current drain of their queue: the other proposals
    # of that repository fail the same way without running git again (one broken Git URL, one clone attempt).
    # Keyed per config too: one tenant's broken credentials never fail another tenant's proposals.
    unreachable: dict[tuple[str, str, str], Failure] = field(default_factory=dict)
    risk: risking.Assessor | None = None  # the upgrade risk of each PR; None: not assessed (some unit tests)

    def drained(self, repo_key: tuple[str, str]) -> None:
        """Called by the worker when a repository's queue is empty: the next batch tries Git again."""
        for key in [k for k in self.unreachable if k[1:] == repo_key]:
            del self.unreachable[key]


class Failure(Exception):
    """A job failed for a reason the user can act on; becomes phase Failed."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _config(job: Job) -> ownership.Config:
    return ownership.Config(job.namespace, job.config_name, job.config_uid)


def _log_fields(job: Job) -> dict[str, str]:
    """Structured fields for `--json-logs` lines about this job."""
    return {"config": f"{job.namespace}/{job.config_name}", "proposal": f"{job.namespace}/{job.name}"}


async def process(ctx: Context, job: Job) -> None:
    """Run one job; every failure ends in the proposal's status, never in an exception."""
    body = await ctx.store.get(job.namespace, job.name)
    if body is None:
        return
    status: Mapping[str, Any] = body.get("status") or {}
    phase = str(status.get("phase") or phases.PENDING)
    if phase in (phases.CLOSED, phases.APPLIED):
        return
    try:
        if ownership.standing(body, _config(job)) is not ownership.Standing.OWNED:
            raise Failure(reasons.NOT_OWNED, ownership.not_owned(body, _config(job)).message)
        if phase in (phases.OPEN, phases.MERGED):
            new_status, event = await _follow(ctx, job, body)
        else:
            new_status, event = await _publish(ctx, job, body)
    except Failure as failure:
        new_status = phases.failed(status, failure.reason, str(failure), _gen(body))
        event = ("Warning", failure.reason, str(failure)) if status.get("message") != str(failure) else None
    if new_status is None:
        return
    logger.info(
        "proposal %s/%s: %s (%s)", job.namespace, job.name, new_status.get("phase"), new_status.get("message"),
        extra=_log_fields(job),
    )  # fmt: skip
    updated = await ctx.store.patch_status(job.namespace, job.name, new_status)
    if event is not None:
        await kube_events.post(ctx.api, updated, *event)


Event = tuple[str, str, str]


async def _follow(ctx: Context, job: Job, body: Mapping[str, Any]) -> tuple[dict[str, Any] | None, Event | None]:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    target = str(spec.get("targetVersion"))
    release = f"{spec['release']['namespace']}/{spec['release']['name']}"
    if applying.runs_target(job.deployed_version, target):
        message = f"{release} runs chart {spec['chart']} {job.deployed_version} (target {target})"
        return phases.applied(status, message, _gen(body)), ("Normal", "UpgradeApplied", message)
    if status.get("phase") == phases.MERGED:
        return None, None
    forge = await _forge(ctx, job)
    pull = await _guard(forge.find_pull_request(_branch(job, spec)))
    if pull is None or pull.title != _title(spec):
        return None, None
    if pull.state == "merged":
        message = f"pull request #{pull.number} merged; waiting for Flux to apply {target}"
        return phases.merged(status, message, _gen(body)), ("Normal", "PullRequestMerged", message)
    if pull.state == "closed":
        message = f"pull request #{pull.number} closed without merge; {target} is skipped until a newer version"
        return phases.closed(status, target, message, _gen(body)), ("Normal", "PullRequestClosed", message)
    return None, None


def _allowed_plan(job: Job, spec: Mapping[str, Any]) -> targets.EditPlan:
    """The job's plan (from the config's last check), when the proposal still asks for exactly its target."""
    plan = job.edit
    if plan is None:
        raise Failure(reasons.TARGET_NOT_ALLOWED, "no check of this release has allowed a target yet; nothing pushed")
    if plan.target != str(spec.get("targetVersion")):
        raise Failure(
            reasons.TARGET_NOT_ALLOWED,
            f"spec.targetVersion {str(spec.get('targetVersion'))[:300]!r} is not what the last check of the release "
            f"allowed ({plan.target}); nothing was pushed",
        )
    return plan


async def _publish(ctx: Context, job: Job, body: Mapping[str, Any]) -> tuple[dict[str, Any] | None, Event | None]:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    _allowed_plan(job, spec)  # before any forge or Git call
    target, branch, title = str(spec["targetVersion"]), _branch(job, spec), _title(spec)
    forge = await _forge(ctx, job)
    existing = await _guard(forge.find_pull_request(branch))
    if existing is not None and existing.title == title and existing.state != "open":
        return await _follow_closed(job, body, existing)
    known = ctx.unreachable.get(job.clone_key)
    if known is not None:
        raise Failure(known.reason, str(known))
    try:
        creds = await _creds(ctx, job)
        with ctx.metrics.git_timer("fetch"):
            repo = await _git(
                ctx.workspace.prepare(job.config.git.url.original, job.config.git.branch, creds, owner=job.config_uid)
            )
    except Failure as failure:
        ctx.unreachable[job.clone_key] = failure
        raise
    change = await _prepare_change(ctx, repo, job, spec)
    location = change.location
    assessed = await ctx.risk.assess(job.risk, spec) if ctx.risk is not None else None
    prs = job.config.pull_requests
    commit_message = f"{title}\n\n{_edit_summary(job)}Proposed by fluxcd-helm-upgrader ({job.namespace}/{job.name})."
    try:
        with ctx.metrics.git_timer("push"):
            await ctx.workspace.commit_and_push(
                repo,
                branch=branch,
                files=change.files,
                message=commit_message,
                author_name=job.config.git.author_name,
                author_email=job.config.git.author_email,
                allowed_prefix=prefix_of(job),
            )
    except repos.GitError as error:
        if error.kind != repos.ErrorKind.EMPTY:
            raise Failure(reasons.GIT_FAILED, f"push of branch {branch} failed ({error.kind}): {error}") from None
    request = base.PullRequestRequest(
        repository=prs.repository or "",
        base=repo.base_branch,
        head=branch,
        title=title,
        body=_body(job, spec, location, assessed),
        labels=prs.labels,
        assignees=prs.assignees,
        reviewers=prs.reviewers,
        draft=prs.draft,
    )
    action = "updated" if existing is not None else "created"
    remaining = getattr(forge, "rate_limit_remaining", None)
    try:
        result = await _guard(forge.open_or_update(request))
    except Failure:
        ctx.metrics.pull_request(action, "failed")
        ctx.metrics.github_call("error", remaining)
        raise
    ctx.metrics.pull_request(result.action if result.action != "pushed" else action, "success")
    if result.pull_request is not None:
        ctx.metrics.github_call("success", getattr(forge, "rate_limit_remaining", None))
    where = f"{location.path}:{location.line}" + (f", risk {assessed.level}" if assessed else "")
    if result.pull_request is None:
        message = f"branch {branch} pushed ({where} -> {target}); provider none opens no pull request"
        reason = "BranchPushed"
    else:
        verb = "opened" if result.action == "created" else "updated"
        message = f"pull request #{result.number} {verb}: {where} -> {target}"
        reason = "PullRequestOpened" if result.action == "created" else "PullRequestUpdated"
    for warning in result.warnings:
        logger.warning("proposal %s/%s: %s", job.namespace, job.name, warning, extra=_log_fields(job))
    new_status = phases.opened(
        status,
        number=result.number,
        url=result.url,
        branch=branch,
        path=location.path,
        line=location.line,
        message=message,
        generation=_gen(body),
        risk=assessed.to_status() if assessed else None,
    )
    return new_status, ("Normal", reason, message)


async def _follow_closed(
    job: Job, body: Mapping[str, Any], pull: base.PullRequest
) -> tuple[dict[str, Any] | None, Event | None]:
    """A PR for this very target exists but is no longer open: never reopen it; record what happened."""
    status, target = body.get("status") or {}, str((body.get("spec") or {}).get("targetVersion"))
    if pull.state == "merged":
        message = f"pull request #{pull.number} was merged; waiting for Flux to apply {target}"
        return phases.merged(status, message, _gen(body)), ("Normal", "PullRequestMerged", message)
    message = f"pull request #{pull.number} was closed without merge; {target} is skipped until a newer version"
    return phases.closed(status, target, message, _gen(body)), ("Normal", "PullRequestClosed", message)


def prefix_of(job: Job) -> str:
    return job.config.pull_requests.branch_prefix


def _branch(job: Job, spec: Mapping[str, Any]) -> str:
    release = spec.get("release") or {}
    return naming.branch_name(prefix_of(job), str(release.get("namespace")), str(release.get("name")))


def _title(spec: Mapping[str, Any]) -> str:
    release = spec.get("release") or {}
    return texts.title(
        str(spec.get("chart")), str(spec.get("targetVersion")), str(release.get("namespace")), str(release.get("name"))
    )


async def _prepare_change(ctx: Context, repo: repos.PreparedRepo, job: Job, spec: Mapping[str, Any]) -> changes.Change:
    """Locate and edit what the job's plan names (a HelmRelease's version when the job carries no plan)."""
    plan = _allowed_plan(job, spec)
    where = changes.Where(repo.path, job.kustomization_path, job.config.git.path, job.kustomization)

    async def read(path: str) -> bytes:
        data: bytes = await _git(ctx.workspace.read_file(repo, path))
        return data

    try:
        return await changes.prepare(plan, where, read)
    except changes.ChangeError as error:
        raise Failure(error.reason, str(error)) from None


def _edit_summary(job: Job) -> str:
    """A commit message line naming a chartRef source's edit (the digest in full, since the diff shows it)."""
    plan = job.edit
    if plan is None or plan.kind == targets.HELM_RELEASE:
        return ""
    return f"{plan.describe()}.\n\n"


def _body(job: Job, spec: Mapping[str, Any], location: locating.Location, assessed: risk.Risk | None) -> str:
    release, source = spec.get("release") or {}, spec.get("source") or {}
    current, target = str(spec.get("currentVersion")), str(spec.get("targetVersion"))
    by_version = {v.version: v for v in job.versions}
    newest = _resolve(target, job.versions)
    facts = texts.Facts(
        proposal_namespace=job.namespace,
        proposal_name=job.name,
        release_namespace=str(release.get("namespace")),
        release_name=str(release.get("name")),
        chart=str(spec.get("chart")),
        from_version=current,
        to_version=target,
        source_url=str(source.get("url") or ""),
        manifest_path=location.path,
        manifest_line=location.line,
        app_version_from=by_version[current].app_version if current in by_version else None,
        app_version_to=newest.app_version if newest else None,
        deprecated=bool(newest and newest.deprecated),
        risk=assessed,
    )
    changes = [(v.version, v.changes) for v in job.versions if v.changes]
    return texts.body(facts, changes)


def _resolve(target: str, versions: tuple[indexes.ChartVersion, ...]) -> indexes.ChartVersion | None:
    exact = [v for v in versions if v.version == target or v.version.lstrip("v") == target.lstrip("v")]
    if exact:
        return exact[0]
    matching = [v for v in versions if applying.runs_target(v.version, target)]
    return matching[0] if matching else None


def _gen(body: Mapping[str, Any]) -> int | None:
    generation = (body.get("metadata") or {}).get("generation")
    return int(generation) if generation is not None else None


async def _forge(ctx: Context, job: Job) -> base.Forge:
    try:
        return await access.forge_for(ctx.core, job.namespace, job.config)
    except secrets.SourceAuthError as error:
        raise Failure(reasons.FORGE_FAILED, str(error)) from None
    except base.ForgeError as error:  # an App token that could not be minted, an unusable Secret
        raise Failure(reasons.FORGE_FAILED, f"{error.kind}: {error}") from None


async def _creds(ctx: Context, job: Job) -> credentials.Credentials:
    try:
        return await access.git_credentials(ctx.core, job.namespace, job.config)
    except (secrets.SourceAuthError, credentials.CredentialError) as error:
        raise Failure(reasons.GIT_FAILED, str(error)) from None


async def _guard(awaitable: Any) -> Any:
    try:
        return await awaitable
    except base.ForgeError as error:
        raise Failure(reasons.FORGE_FAILED, f"{error.kind}: {error}") from None


async def _git(awaitable: Any) -> Any:
    try:
        return await awaitable
    except repos.GitError as error:
        raise Failure(reasons.GIT_FAILED, f"git ({error.kind}): {error}") from None
    except credentials.CredentialError as error:
        raise Failure(reasons.GIT_FAILED, str(error)) from None
    except FileNotFoundError as error:
        raise Failure(reasons.MANIFEST_NOT_FOUND, f"file vanished from the repository: {error}") from None
