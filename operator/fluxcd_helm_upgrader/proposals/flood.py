"""Flood control: how many of a config's pull requests (provider `none`: branches) may open, and which go first.

Called by `cycles.handling` after each cycle, with the config's proposals and the Git worker's jobs of the cycle.
`plan` is pure: the proposals that already hold a pull request or a pushed branch (phase Open, or Pending/Failed
with status.pullRequest: a retarget updates its PR, it never opens another) keep their jobs. The others that would
open a new one compete for the free slots: `spec.pullRequests.maxOpen` minus those open, and `maxPerHour` minus the
ones opened (status.pullRequest.openedAt) in the last hour; 0 is no limit. The biggest version gap goes first
(major, then minor, then patch difference between currentVersion and targetVersion, so a major upgrade never
waits behind patches), then the oldest proposal, then the name. A proposal left out stays Pending with reason
`PullRequestLimit` and a message saying how many are ahead of it (`hold` writes it, only when it changed); its job
is not run. When a PR closes or merges, the worker marks it Closed or Merged and the next cycle opens the next one.

Decisions written down: a held proposal posts no event (its condition says why; a fleet of 1,000 would otherwise
get 1,000 events on its first cycle), and a Failed proposal without a pull request waits like a Pending one.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.proposals import phases
from fluxcd_helm_upgrader.proposals.store import ProposalStore
from fluxcd_helm_upgrader.proposals.worker import Job
from fluxcd_helm_upgrader.status import conditions, reasons

HOUR = datetime.timedelta(hours=1)
WRITE_CONCURRENCY = 8
PUBLISHED_BY = frozenset({phases.PENDING, phases.FAILED, ""})  # the phases whose job publishes (opens) something
_NUMBERS = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?")


@dataclass(frozen=True)
class Waiting:
    """A proposal held back this cycle and what its status says."""

    body: Mapping[str, Any]
    message: str


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)  # the jobs to run
    waiting: list[Waiting] = field(default_factory=list)  # in the order they will open
    open: int = 0  # pull requests (branches) open now

    @property
    def held(self) -> list[tuple[str, str]]:
        """(namespace, name) of the waiting proposals: a job queued for one by an earlier cycle is dropped."""
        return [(str(w.body["metadata"]["namespace"]), str(w.body["metadata"]["name"])) for w in self.waiting]


def gap(current: str, target: str) -> tuple[int, int, int]:
    """How far apart two versions are, at the first part that differs: (2, 0, 0) is two majors, (0, 3, 0) three
    minors (1.4.0 -> 2.0.0 is one major, like 1.0.0 -> 2.0.0); (0, 0, 0) when either is no version."""
    a, b = _NUMBERS.search(current or ""), _NUMBERS.search(target or "")
    if a is None or b is None:
        return (0, 0, 0)
    x, y = [int(g or 0) for g in a.groups()], [int(g or 0) for g in b.groups()]
    for part in range(3):
        if y[part] != x[part]:
            return tuple(y[part] - x[part] if p == part else 0 for p in range(3))  # type: ignore[return-value]
    return (0, 0, 0)


def _phase(body: Mapping[str, Any]) -> str:
    return str((body.get("status") or {}).get("phase") or "")


def holds_slot(body: Mapping[str, Any]) -> bool:
    """Its pull request (branch) is open, or it had one and a retarget will update it rather than open another."""
    phase = _phase(body)
    has_pr = bool(((body.get("status") or {}).get("pullRequest") or {}).get("branch"))
    return phase == phases.OPEN or (phase in PUBLISHED_BY and has_pr)


def _opened_since(bodies: Iterable[Mapping[str, Any]], since: datetime.datetime) -> int:
    count = 0
    for body in bodies:
        opened = ((body.get("status") or {}).get("pullRequest") or {}).get("openedAt")
        try:
            when = datetime.datetime.fromisoformat(str(opened).replace("Z", "+00:00")) if opened else None
        except ValueError:
            when = None
        if when is not None and when >= since:
            count += 1
    return count


def _order(body: Mapping[str, Any]) -> tuple[tuple[int, int, int], str, str]:
    spec, meta = body.get("spec") or {}, body.get("metadata") or {}
    major, minor, patch = gap(str(spec.get("currentVersion") or ""), str(spec.get("targetVersion") or ""))
    return ((-major, -minor, -patch), str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))


def plan(
    prs: config_.PullRequestSpec, proposals: Sequence[Mapping[str, Any]], jobs: Sequence[Job], now: datetime.datetime
) -> Plan:
    """Which jobs run and which proposals wait (see the module docstring)."""
    by_name = {str(b["metadata"]["name"]): b for b in proposals}
    open_now = sum(1 for b in proposals if _phase(b) == phases.OPEN)
    result = Plan(open=open_now)
    candidates: list[tuple[Mapping[str, Any], Job]] = []
    for job in jobs:
        body = by_name.get(job.name)
        if body is None or _phase(body) not in PUBLISHED_BY or holds_slot(body):
            result.jobs.append(job)
        else:
            candidates.append((body, job))
    candidates.sort(key=lambda c: _order(c[0]))
    what = "branches" if prs.provider is config_.Provider.NONE else "pull requests"
    free, why = len(candidates), ""
    if prs.max_open:
        occupied = sum(1 for b in proposals if holds_slot(b))
        free, why = max(0, prs.max_open - occupied), f"pullRequests.maxOpen is {prs.max_open} {what}"
    if prs.max_per_hour:
        recent = _opened_since(proposals, now - HOUR)
        if prs.max_per_hour - recent < free:
            free = max(0, prs.max_per_hour - recent)
            why = f"pullRequests.maxPerHour is {prs.max_per_hour} {what}"
    result.jobs.extend(job for _, job in candidates[:free])
    for ahead, (body, _) in enumerate(candidates[free:]):
        message = (
            f"waiting: {ahead} proposal(s) ahead of it ({why}); it opens at a cycle after one closes or merges"
        )
        result.waiting.append(Waiting(body, message))
    return result


async def hold(store: ProposalStore, waiting: Sequence[Waiting]) -> None:
    """Write each waiting proposal's status (Pending, PullRequestLimit), only when its message changed."""
    semaphore = asyncio.Semaphore(WRITE_CONCURRENCY)

    async def one(entry: Waiting) -> None:
        status, meta = entry.body.get("status") or {}, entry.body["metadata"]
        ready = conditions.find(status.get("conditions"), reasons.READY) or {}
        if ready.get("reason") == reasons.PULL_REQUEST_LIMIT and status.get("message") == entry.message:
            return
        async with semaphore:
            try:
                await store.patch_status(
                    str(meta["namespace"]), str(meta["name"]),
                    phases.waiting(status, entry.message, phases.generation(entry.body)),
                )  # fmt: skip
            except ApiException as error:
                if error.status != 404:  # deleted since the cycle listed it: nothing to hold
                    raise

    await asyncio.gather(*(one(entry) for entry in waiting))
