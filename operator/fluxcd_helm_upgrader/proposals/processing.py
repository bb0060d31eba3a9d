"""The Git worker's job for one proposal: decide the action from its phase, run it, write the status and the event.

Called by `proposals.worker.WorkerPool` (wired in `services`), one job at a time per repository. Decide, then act:
`action_for` maps the phase to an action (pure); a Pending or Failed proposal is published (`proposals.publishing`),
an Open or Merged one followed (`proposals.following`), a Closed or Applied one left alone. Every failure ends in
the proposal's status (`proposals.failures`), never in an exception, with one event per transition.

Before any Git or forge call the proposal is read again and must still be owned by the job's config (its
ownerReference uid: a proposal deleted and re-created by someone else between the cycle and the worker is
NotOwned); the publish action then checks its target against the job's plan (TargetNotAllowed).
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from fluxcd_helm_upgrader import kube_events
from fluxcd_helm_upgrader.proposals import failures, following, ownership, phases, publishing
from fluxcd_helm_upgrader.proposals.worker import Job
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import proposals as proposals_

logger = logging.getLogger(__name__)


class Action(enum.Enum):
    """What the worker does with a proposal in a given phase."""

    PUBLISH = "publish"  # Pending, Failed (retried): push the branch, open or update the PR
    FOLLOW = "follow"  # Open, Merged: watch the PR and the cluster
    NONE = "none"  # Closed, Applied: final


def action_for(phase: str) -> Action:
    """The action for a proposal's status.phase (empty: Pending)."""
    if phase in (phases.CLOSED, phases.APPLIED):
        return Action.NONE
    if phase in (phases.OPEN, phases.MERGED):
        return Action.FOLLOW
    return Action.PUBLISH


def _config(job: Job) -> ownership.Config:
    return ownership.Config(job.namespace, job.config_name, job.config_uid)


async def process(ctx: publishing.Context, job: Job) -> None:
    """Run one job; every failure ends in the proposal's status, never in an exception."""
    await process_batch(ctx, [job])


async def process_batch(ctx: publishing.Context, jobs: Sequence[Job]) -> None:
    """Run a batch of one repository's jobs: each is staged (located, edited, committed) or followed, the batch's
    commits are pushed in one git command (`publishing.push`), then each PR is opened and each status written.
    One job's unexpected error is logged and never stops the others."""
    begun: list[tuple[Job, dict[str, Any], publishing.Staged | phases.Transition]] = []
    for job in jobs:
        with _guarded(job):
            started = await _begin(ctx, job)
            if started is not None:
                begun.append((job, *started))
    staged = [result for _, _, result in begun if isinstance(result, publishing.Staged)]
    if staged:
        await publishing.push(ctx, staged)
    for job, body, result in begun:
        with _guarded(job):
            if isinstance(result, publishing.Staged):
                try:
                    result = await publishing.finish(ctx, result)
                except failures.JobError as failure:
                    result = failures.failed(body, failure)
            await _end(ctx, job, result)


async def _begin(
    ctx: publishing.Context, job: Job
) -> tuple[dict[str, Any], publishing.Staged | phases.Transition] | None:
    """Read the proposal and run its action up to the push; None when there is nothing to do."""
    body = await ctx.proposals.get(job.namespace, job.name)
    if body is None:
        return None
    action = action_for(proposals_.upgrade_proposal(body).status.phase or phases.PENDING)
    if action is Action.NONE:
        return None
    try:
        if ownership.standing(body, _config(job)) is not ownership.Standing.OWNED:
            raise failures.JobError(reasons.NOT_OWNED, ownership.not_owned(body, _config(job)).message)
        if action is Action.FOLLOW:
            return body, await following.follow(ctx.readers, job, body, ctx.pulls, ctx.cluster_name)
        return body, await publishing.stage(ctx, job, body)
    except failures.JobError as failure:
        return body, failures.failed(body, failure)


async def _end(ctx: publishing.Context, job: Job, transition: phases.Transition) -> None:
    """Write the proposal's new status and post its event."""
    new_status, event = transition
    if new_status is None:
        return
    logger.info(
        "proposal %s/%s: %s (%s)", job.namespace, job.name, new_status.get("phase"), new_status.get("message"),
        extra=publishing.log_fields(job),
    )  # fmt: skip
    updated = await ctx.proposals.patch_status(job.namespace, job.name, new_status)
    if event is not None:
        await kube_events.post(ctx.api, updated, *event)


@contextlib.contextmanager
def _guarded(job: Job) -> Iterator[None]:
    """One broken proposal never stops the others of its batch (cancellation still stops the worker)."""
    try:
        yield
    except Exception:
        logger.exception(
            "proposal %s/%s: unexpected error in the Git worker", job.namespace, job.name,
            extra=publishing.log_fields(job),
        )  # fmt: skip
