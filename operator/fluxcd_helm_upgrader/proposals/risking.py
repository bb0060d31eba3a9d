"""The upgrade risk of one proposal, assessed by the Git worker right before it opens or updates the PR.

Called by `proposals.publishing.publish` with the job's `Subject` (built by the check cycle, `cycles.subjects`):
both charts are fetched (`sources.charts`, read once per digest), the cluster's version is read from the API
server's `/version` (at most once per `CLUSTER_VERSION_TTL`; it needs no RBAC: every authenticated client may read
it), and the pure `checking.risk.assess` runs in a thread. The result goes into the same status patch that records
the PR and into the PR body.

Never blocking: a chart that cannot be fetched or read, a proposal whose source was not checked this cycle, or an
analysis over `ANALYSIS_TIMEOUT` gives `level: Unknown` with the reason, and the PR is opened all the same. (A
hostile schema's regular expression cannot be interrupted in Python: after the timeout its thread is left to
finish, and the result is ignored.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kubernetes_asyncio import client

from fluxcd_helm_upgrader.checking import risk
from fluxcd_helm_upgrader.sources import charts, secrets
from fluxcd_helm_upgrader.structs import accounts
from fluxcd_helm_upgrader.structs import proposals as proposals_

logger = logging.getLogger(__name__)

CLUSTER_VERSION_TTL = 600.0
ANALYSIS_TIMEOUT = 120.0


@dataclass(frozen=True)
class Subject:
    """What to compare for one proposal: two concrete chart versions, where to get them, and the release."""

    chart: str
    from_version: str
    to_version: str
    current: charts.ChartRef | None  # None: the version is not among the source's versions
    target: charts.ChartRef | None
    release: risk.Release
    deprecated: bool = False  # the target's index entry says so
    account: accounts.ServiceAccount | None = None  # the config's: the sources' Secrets are read as it


class ClusterVersion:
    """The API server's `gitVersion` (e.g. `v1.26.4+k3s1`), cached for `ttl` seconds; None when unreadable."""

    def __init__(self, api: client.ApiClient, ttl: float = CLUSTER_VERSION_TTL) -> None:
        self._api = api
        self._ttl = ttl
        self._value: str | None = None
        self._read_at = -ttl

    async def get(self) -> str | None:
        if time.monotonic() - self._read_at < self._ttl:
            return self._value
        try:
            info = await client.VersionApi(self._api).get_code()
            self._value = str(info.git_version) if info.git_version else None
        except Exception as error:  # any failure: no kubeVersion check this time, said in the risk's notes
            logger.warning("cannot read the cluster's version from /version: %s", type(error).__name__)
            self._value = None
        self._read_at = time.monotonic()
        return self._value


class Assessor:
    """Fetch, read and compare; one per operator (the chart cache and the cluster version are shared).

    `cluster` answers the cluster's version: `ClusterVersion(api).get` in the operator, a fixed value (or None) in
    the repository scan, which has no cluster."""

    def __init__(
        self,
        fetcher: charts.ChartFetcher,
        secrets_api: secrets.SecretsApi,
        cluster: Callable[[], Awaitable[str | None]],
        *,
        timeout: float = ANALYSIS_TIMEOUT,
    ) -> None:
        self.fetcher = fetcher
        self._secrets = secrets_api
        self._cluster = cluster
        self._timeout = timeout

    async def assess(self, subject: Subject | None, spec: proposals_.ProposalSpec) -> risk.Risk:
        """The risk of `subject`; Unknown (with the reason) whenever it cannot be assessed."""
        version = await self._cluster()
        if subject is None:
            upgrade = risk.Upgrade(spec.chart, spec.current_version, spec.target_version)
            return risk.unknown(upgrade, "the chart's source was not checked in this cycle", version)
        upgrade = risk.Upgrade(subject.chart, subject.from_version, subject.to_version, subject.deprecated)
        for ref, which in ((subject.current, subject.from_version), (subject.target, subject.to_version)):
            if ref is None:
                return risk.unknown(upgrade, f"{subject.chart} {which} is not among the source's versions", version)
        assert subject.current is not None and subject.target is not None
        try:
            reader = secrets.reader_for(self._secrets, subject.account)
            async with asyncio.timeout(self._timeout):
                current, target = await asyncio.gather(
                    self.fetcher.chart(subject.current, reader),
                    self.fetcher.chart(subject.target, reader),
                )
                return await asyncio.to_thread(risk.assess, upgrade, subject.release, current, target, version)
        except (charts.ChartFetchError, secrets.SourceAuthError) as error:
            return risk.unknown(upgrade, str(error), version)
        except TimeoutError:
            return risk.unknown(upgrade, f"the analysis took longer than {self._timeout:g}s", version)
