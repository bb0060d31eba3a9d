"""Publish a proposal: commit the one-line change on its branch, push it, open or update its PR.

Called by `proposals.processing` for a Pending or Failed proposal, one job at a time per repository. Before any
forge or Git call the proposal must still ask for exactly the target of the job's plan, which comes from the
config's last check (else TargetNotAllowed): what gets written never comes from the proposal's spec. The branch
recorded in status.pullRequest.branch is used while its PR is open (updates, and proposals opened under the older
release-named branches); otherwise the clone is fetched, the line located and edited (`proposals.changes`), and the
branch named after that edit (`naming.edit_branch`). The PR for the branch is looked up before anything is pushed
(the repository's open PRs, listed once per cycle by `proposals.pulls`, else the branch's latest closed one):
restarts and two clusters sharing a repository never duplicate it; a merged or closed one for this target is
recorded by `following.settled`, never reopened; an open one whose branch someone other than an operator committed
on is not rewritten (BranchModified, one PR comment, as Renovate does). A proposal that fails in Git (a manifest not
in the repository) asks GitHub nothing, so retrying it every cycle costs no API call. `proposals.joining` then reads
the branch: exactly this edit (another cluster made it) is joined without a push, an older one is replaced with
force-with-lease, a newer one is never overwritten. A lease lost to another cluster's push is fetched and decided
once more. Then the upgrade risk is assessed and the PR opened or updated (provider `none`: the branch alone), its
"requested by" list keeping the clusters already named and adding `UPGRADER_CLUSTER_NAME`. Result: phase Open with
the PR, the manifest location and the risk, and a PullRequestOpened, PullRequestUpdated, PullRequestJoined or
BranchPushed event. Every failure is raised as a `failures.JobError`.

The worker runs a batch of one repository's jobs through `stage` (up to the commit, in the batch's one
checkout and manifest index: `proposals.checkouts`), `push` (every staged branch in one git command, each with
its own lease) and `finish` (the PR, the status); `publish` is a batch of one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from kubernetes_asyncio import client

from fluxcd_helm_upgrader import metrics as metrics_
from fluxcd_helm_upgrader.checking import applying, indexes, risk
from fluxcd_helm_upgrader.forges import base, texts
from fluxcd_helm_upgrader.gitops import locating, repos
from fluxcd_helm_upgrader.proposals import changes, failures, following, joining, phases, risking, targets
from fluxcd_helm_upgrader.proposals import checkouts as checkouts_
from fluxcd_helm_upgrader.proposals import pulls as pulls_
from fluxcd_helm_upgrader.proposals.store import ProposalStore
from fluxcd_helm_upgrader.proposals.worker import Job
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import proposals as proposals_
from fluxcd_helm_upgrader.tenancy import impersonation

logger = logging.getLogger(__name__)


@dataclass
class Context:
    """What the Git worker's jobs use: the objects it shares with the check cycle (`services.Services` exposes these
    four from here, under the same names) and its own Git workspace, risk assessor and failed-repository set."""

    api: client.ApiClient
    readers: impersonation.SecretReaders  # every Secret a config uses is read through it (see cycles.tenancy)
    proposals: ProposalStore
    workspace: repos.Workspace
    metrics: metrics_.Metrics
    # Repositories whose credentials or clone failed in the current drain of their queue: the other proposals
    # of that repository fail the same way without running git again (one broken Git URL, one clone attempt).
    # Keyed per config too: one tenant's broken credentials never fail another tenant's proposals.
    unreachable: dict[tuple[str, str, str], failures.JobError] = field(default_factory=dict)
    risk: risking.Assessor | None = None  # the upgrade risk of each PR; None: not assessed (some unit tests)
    # One fetch and one manifest index per batch of a repository's queue (issue 17), not one per proposal.
    checkouts: checkouts_.Checkouts = field(init=False)

    def __post_init__(self) -> None:
        self.checkouts = checkouts_.Checkouts(self.workspace, self.metrics)
    pulls: pulls_.OpenPulls = field(default_factory=pulls_.OpenPulls)  # each repository's open PRs, once a cycle
    cluster_name: str = ""  # UPGRADER_CLUSTER_NAME: added to the "requested by" line of each PR opened or joined

    def drained(self, repo_key: tuple[str, str]) -> None:
        """Called by the worker when a repository's queue is empty: the next batch fetches and tries Git again."""
        for key in [k for k in self.unreachable if k[1:] == repo_key]:
            del self.unreachable[key]
        self.checkouts.end_batches(repo_key)
        self.pulls.forget(repo_key)


def log_fields(job: Job) -> dict[str, str]:
    """Structured fields for `--json-logs` lines about this job."""
    return {"config": f"{job.namespace}/{job.config_name}", "proposal": f"{job.namespace}/{job.name}"}


def _allowed_plan(job: Job, spec: proposals_.ProposalSpec) -> targets.EditPlan:
    """The job's plan (from the config's last check), when the proposal still asks for exactly its target."""
    plan = job.edit
    if plan is None:
        raise failures.JobError(
            reasons.TARGET_NOT_ALLOWED, "no check of this release has allowed a target yet; nothing pushed"
        )
    if plan.target != spec.target_version:
        raise failures.JobError(
            reasons.TARGET_NOT_ALLOWED,
            f"spec.targetVersion {spec.target_version[:300]!r} is not what the last check of the release "
            f"allowed ({plan.target}); nothing was pushed",
        )
    return plan


@dataclass
class Staged:
    """A proposal between its commit and its push (`stage`), then its PR (`finish`): a batch of the worker pushes
    the commits of all its proposals in one git command (`push`)."""

    job: Job
    body: Mapping[str, Any]
    spec: proposals_.ProposalSpec
    forge: base.Forge
    branch: str
    title: str
    repo: repos.PreparedRepo
    change: changes.Change
    assessed: risk.Risk | None
    commit: repos.Staged | None  # None: nothing to push (the files match the base, or the branch holds this edit)
    joined: bool = False  # the branch already holds exactly this edit (another cluster pushed it): no push
    push_error: repos.GitError | None = None


async def publish(ctx: Context, job: Job, body: Mapping[str, Any], *, retry: bool = True) -> phases.Transition:
    """Push the proposal's change and open or update its PR; the proposal's new status and event. A batch of one:
    the next proposal fetches again (the worker's batches go through `stage`, `push` and `finish`)."""
    try:
        staged = await stage(ctx, job, body)
        if not isinstance(staged, Staged):
            return staged
        await push(ctx, [staged])
        return await finish(ctx, staged, retry=retry)
    finally:
        ctx.checkouts.end_batches(job.repo_key)


async def stage(ctx: Context, job: Job, body: Mapping[str, Any]) -> Staged | phases.Transition:
    """Everything before the push: checks, the PR lookup, the checkout, the edit, the risk and the commit."""
    proposal = proposals_.upgrade_proposal(body)
    _allowed_plan(job, proposal.spec)  # before any forge or Git call
    spec, status = body.get("spec") or {}, body.get("status") or {}  # raw: naming the branch and PR, status patches
    title = following.title_of(spec)
    forge = await failures.forge_for(ctx.readers, job)
    recorded = following.recorded_branch(job, status)
    if recorded is not None:  # migration and updates: an open PR keeps its branch, whatever the naming scheme
        existing = await _existing(ctx, job, forge, recorded)
        if _settled(existing, title):
            return following.settled(body, existing)
        if existing is None or existing.state != "open":
            recorded = None
    known = ctx.unreachable.get(job.clone_key)
    if known is not None:
        raise failures.JobError(known.reason, str(known))
    try:
        checkout = await failures.git_call(ctx.checkouts.get(job, lambda: failures.git_credentials(ctx.readers, job)))
    except failures.JobError as failure:
        ctx.unreachable[job.clone_key] = failure
        ctx.checkouts.forget(job.clone_key)
        raise
    repo = checkout.repo
    change = await _prepare_change(checkout, job, proposal.spec)
    branch = recorded or following.edit_branch_of(job, spec, change.location)
    existing = await _existing(ctx, job, forge, branch)
    if _settled(existing, title):
        return following.settled(body, existing)  # the same edit, merged or closed (perhaps by another cluster)
    if existing is not None and existing.state == "open":
        await _refuse_modified_branch(ctx, job, forge, repo, proposal, existing)
    joined = await joining.on_branch(ctx.workspace, repo, branch, change, proposal.spec.target_version)
    assessed = await ctx.risk.assess(job.risk, proposal.spec) if ctx.risk is not None else None
    if joined is joining.Decision.JOIN:
        return Staged(job, body, proposal.spec, forge, branch, title, repo, change, assessed, None, True)
    commit_message = f"{title}\n\n{_edit_summary(job)}{repos.OPERATOR_TRAILER}{job.namespace}/{job.name})."
    commit = None
    try:
        commit = await ctx.workspace.commit(
            repo,
            branch=branch,
            files=change.files,
            message=commit_message,
            author_name=job.config.git.author_name,
            author_email=job.config.git.author_email,
            allowed_prefix=following.prefix_of(job),
        )
    except repos.GitError as error:
        if error.kind != repos.ErrorKind.EMPTY:
            raise _push_failed(branch, error) from None
    return Staged(job, body, proposal.spec, forge, branch, title, repo, change, assessed, commit)


async def push(ctx: Context, staged: Sequence[Staged]) -> None:
    """Push the commits of a batch, one git command per clone (and PUSH_CHUNK branches); errors go to each."""
    by_clone: dict[Path, list[Staged]] = {}
    for entry in staged:
        if entry.commit is not None:
            by_clone.setdefault(entry.repo.path, []).append(entry)
    for entries in by_clone.values():
        started = time.monotonic()
        errors = await ctx.workspace.push(entries[0].repo, [e.commit for e in entries if e.commit is not None])
        took = time.monotonic() - started
        for entry in entries:  # counted per branch, as before batches: an error rate stays one per proposal
            entry.push_error = errors.get(entry.branch)
            ctx.metrics.git_operation("push", "error" if entry.push_error else "success", took)


async def finish(ctx: Context, staged: Staged, *, retry: bool = True) -> phases.Transition:
    """After the push: open or update the PR; the proposal's new status and event. A lease lost to another
    cluster's push of the same branch is fetched and decided once more (`publish`, a batch of one)."""
    job, status = staged.job, staged.body.get("status") or {}
    branch, forge, location, assessed = staged.branch, staged.forge, staged.change.location, staged.assessed
    target = staged.spec.target_version
    if staged.push_error is not None:
        error = staged.push_error
        if error.kind == repos.ErrorKind.LEASE and retry:
            ctx.checkouts.end_batches(job.repo_key)
            return await publish(ctx, job, staged.body, retry=False)
        raise _push_failed(branch, error)
    prs = job.config.pull_requests
    # Read again right before writing: another cluster may have opened it, or added its name, since.
    existing = await failures.forge_call(forge.find_pull_request(branch))
    existing = existing if existing is not None and existing.state == "open" else None
    requested_by = texts.requesters(existing.body if existing is not None else "", ctx.cluster_name)
    # Joined: another cluster made this very edit and opened its PR; this cluster's name is new on it.
    joined = staged.joined and existing is not None and bool(ctx.cluster_name) and (
        ctx.cluster_name not in texts.parse_requested_by(existing.body)
    )
    request = base.PullRequestRequest(
        repository=prs.repository or "",
        base=staged.repo.base_branch,
        head=branch,
        title=staged.title,
        body=_body(job, staged.spec, location, assessed, requested_by),
        labels=prs.labels,
        assignees=prs.assignees,
        reviewers=prs.reviewers,
        draft=prs.draft,
    )
    action = "updated" if existing is not None else "created"
    remaining = getattr(forge, "rate_limit_remaining", None)
    try:
        result = await failures.forge_call(forge.open_or_update(request))
    except failures.JobError:
        ctx.metrics.pull_request(action, "failed")
        ctx.metrics.github_call("error", remaining)
        raise
    ctx.pulls.record(job, result.pull_request)
    ctx.metrics.pull_request(result.action if result.action != "pushed" else action, "success")
    if result.pull_request is not None:
        ctx.metrics.github_call("success", getattr(forge, "rate_limit_remaining", None))
    where = f"{location.path}:{location.line}" + (f", risk {assessed.level}" if assessed else "")
    if result.pull_request is None:
        done = "already held this edit" if staged.joined else "pushed"
        message = f"branch {branch} {done} ({where} -> {target}); provider none opens no pull request"
        reason = reasons.BRANCH_PUSHED
    elif joined and result.action != "created":
        message = f"pull request #{result.number} joined (branch {branch} already held this edit): {where} -> {target}"
        reason = reasons.PULL_REQUEST_JOINED
    else:
        verb = "opened" if result.action == "created" else "updated"
        message = f"pull request #{result.number} {verb}: {where} -> {target}"
        reason = reasons.PULL_REQUEST_OPENED if result.action == "created" else reasons.PULL_REQUEST_UPDATED
    for warning in result.warnings:
        logger.warning("proposal %s/%s: %s", job.namespace, job.name, warning, extra=log_fields(job))
    new_status = phases.opened(
        status,
        number=result.number,
        url=result.url,
        branch=branch,
        path=location.path,
        line=location.line,
        message=message,
        generation=phases.generation(staged.body),
        risk=assessed.to_status() if assessed else None,
    )
    return new_status, ("Normal", reason, message)


def _settled(pull: base.PullRequest | None, title: str) -> TypeGuard[base.PullRequest]:
    """`pull` is this very target's PR (its title names it) and is merged or closed: recorded, never reopened."""
    return pull is not None and pull.title == title and pull.state != "open"


def _push_failed(branch: str, error: repos.GitError) -> failures.JobError:
    return failures.JobError(reasons.GIT_FAILED, f"push of branch {branch} failed ({error.kind}): {error}")


async def _existing(ctx: Context, job: Job, forge: base.Forge, branch: str) -> base.PullRequest | None:
    """The branch's open PR from the repository's list of this cycle, else its most recent closed or merged one."""
    listed = (await ctx.pulls.of(job, forge)).get(branch)
    if listed is not None:
        return listed
    found: base.PullRequest | None = await failures.forge_call(forge.find_pull_request(branch))
    return found


async def _refuse_modified_branch(
    ctx: Context,
    job: Job,
    forge: base.Forge,
    repo: repos.PreparedRepo,
    proposal: proposals_.UpgradeProposal,
    pull: base.PullRequest,
) -> None:
    """Someone else committed on the branch of an open PR: never push over it. BranchModified, and one comment on
    the PR when the proposal enters that state; the next cycles try again, so a newer target resumes once those
    commits are gone (or the PR was closed: then nothing of theirs is under review any more)."""
    branch, target = pull.head_branch, proposal.spec.target_version
    foreign = await failures.git_call(ctx.workspace.foreign_commits(repo, branch, job.config.git.author_email))
    if not foreign:
        return
    listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
    message = (f"branch {branch} has commits by someone else ({listed}): not rewritten; remove them or close pull "
               f"request #{pull.number} to let the operator propose {target}")  # fmt: skip
    if proposal.status.ready_reason != reasons.BRANCH_MODIFIED:
        comment = texts.branch_modified(branch, proposal.spec.chart, target, foreign)
        try:
            await failures.forge_call(forge.comment(pull.number, comment))
        except failures.JobError as failure:  # the status says it all the same
            logger.warning("proposal %s/%s: commenting on #%s failed: %s", job.namespace, job.name, pull.number,
                           failure, extra=log_fields(job))  # fmt: skip
    raise failures.JobError(reasons.BRANCH_MODIFIED, message)


async def _prepare_change(checkout: checkouts_.Checkout, job: Job, spec: proposals_.ProposalSpec) -> changes.Change:
    """Locate and edit what the job's plan names (a HelmRelease's version when the job carries no plan), in the
    batch's index of the base commit (the working tree is that commit: commits never touch it)."""
    plan = _allowed_plan(job, spec)
    root = checkout.repo.path
    where = changes.Where(root, job.kustomization_path, job.config.git.path, job.kustomization, checkout.files)

    async def read(path: str) -> bytes:
        data: bytes = await failures.git_call(asyncio.to_thread(checkout.files.data, root / path))
        return data

    try:
        return await changes.prepare(plan, where, read)
    except changes.ChangeError as error:
        raise failures.JobError(error.reason, str(error)) from None


def _edit_summary(job: Job) -> str:
    """A commit message line naming a chartRef source's edit (the digest in full, since the diff shows it)."""
    plan = job.edit
    if plan is None or plan.kind == targets.HELM_RELEASE:
        return ""
    return f"{plan.describe()}.\n\n"


def _body(
    job: Job,
    spec: proposals_.ProposalSpec,
    location: locating.Location,
    assessed: risk.Risk | None,
    requested_by: tuple[str, ...] = (),
) -> str:
    current, target = spec.current_version, spec.target_version
    by_version = {v.version: v for v in job.versions}
    newest = _resolve(target, job.versions)
    facts = texts.Facts(
        proposal_namespace=job.namespace,
        proposal_name=job.name,
        release_namespace=spec.release_namespace,
        release_name=spec.release_name,
        chart=spec.chart,
        from_version=current,
        to_version=target,
        source_url=spec.source.url if spec.source else "",
        manifest_path=location.path,
        manifest_line=location.line,
        app_version_from=by_version[current].app_version if current in by_version else None,
        app_version_to=newest.app_version if newest else None,
        deprecated=bool(newest and newest.deprecated),
        risk=assessed,
        requested_by=requested_by,
    )
    changes = [(v.version, v.changes) for v in job.versions if v.changes]
    return texts.body(facts, changes)


def _resolve(target: str, versions: tuple[indexes.ChartVersion, ...]) -> indexes.ChartVersion | None:
    exact = [v for v in versions if v.version == target or v.version.lstrip("v") == target.lstrip("v")]
    if exact:
        return exact[0]
    matching = [v for v in versions if applying.runs_target(v.version, target)]
    return matching[0] if matching else None
