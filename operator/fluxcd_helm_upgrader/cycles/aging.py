"""The per-release decision under `policy.minimumReleaseAge`, with release times fetched only when needed.

Called by `cycles.running` for every checked release (HTTP and OCI). `checking.release_age.apply` is pure and asks
for one release time at a time (`Step.needs`); this module answers from the index entries (`created`) or, for OCI
charts, from the registry (`cycles.oci_checks.OciChecks.created`, one manifest read per tag, cached). With no
minimum age the decision is taken once and no release time is looked at.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable, Sequence

from fluxcd_helm_upgrader.checking import decisions, indexes, release_age

CreatedOf = Callable[[str], Awaitable[str | None]]


async def decide(
    decide_over: release_age.Decide,
    available: Sequence[str],
    created_of: CreatedOf,
    minimum: float,
    now: datetime.datetime | None = None,
) -> tuple[decisions.Decision, tuple[release_age.Held, ...]]:
    """The decision over the versions old enough, and the newer versions held back."""
    moment = now or datetime.datetime.now(datetime.UTC)
    known: dict[str, str | None] = {}
    while True:
        step = release_age.apply(decide_over, available, known, minimum, moment)
        if step.needs is None:
            return step.decision, step.held
        known[step.needs] = await created_of(step.needs)


def index_times(entries: Sequence[indexes.ChartVersion]) -> CreatedOf:
    """Release times of an HTTP repository's index entries (`created`)."""
    times = {entry.version: entry.created for entry in entries}

    async def created_of(version: str) -> str | None:
        return times.get(version)

    return created_of
