"""One check cycle for one UpgraderConfig: scope → resolve → fetch each index once → decide per release.

Called by the UpgraderConfig timer handler. Network work is bounded by the fetcher's semaphores; parsing runs in
threads inside the fetcher; the per-release decision is the pure `checking.decisions.decide`. One broken
repository or release never stops the others: each failure becomes a `Failure` for that release only.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import cast

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader.checking import decisions, indexes, policy, scope
from fluxcd_helm_upgrader.cycles import resolving
from fluxcd_helm_upgrader.cycles.resolving import Failure, HttpChart
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.sources import auth, helm_http, secrets
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import flux

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checked:
    """A release whose versions were read and decided on."""

    release: flux.HelmRelease
    source: HttpChart
    decision: decisions.Decision
    versions: tuple[indexes.ChartVersion, ...]


@dataclass(frozen=True)
class Failed:
    """A release that could not be checked this cycle."""

    release: flux.HelmRelease
    failure: Failure


@dataclass(frozen=True)
class Outcome:
    """Everything one cycle learned; the handler maps it to proposals and status."""

    checked: tuple[Checked, ...]
    failed: tuple[Failed, ...]
    # redacted index URL -> ("fetched" | "not_modified" | "cached" | "error", bytes downloaded)
    fetches: Mapping[str, tuple[str, int]]

    @property
    def outdated(self) -> tuple[Checked, ...]:
        return tuple(c for c in self.checked if c.decision.outcome is decisions.Outcome.PROPOSE)


def releases_in_scope(cfg: config_.UpgraderConfigSpec, view: FluxView) -> list[flux.HelmRelease]:
    """The releases this config covers, sorted by namespace/name."""
    return [
        release
        for release in view.iter_releases()
        if scope.in_scope(
            release.namespace,
            release.labels,
            cluster_wide=cfg.scope.cluster_wide,
            namespaces=cfg.scope.namespaces,
            selector=cfg.scope.selector,
        )
    ]


def to_policy(cfg: config_.UpgraderConfigSpec) -> policy.Policy:
    return policy.Policy(
        include_prerelease=cfg.policy.include_prerelease,
        allowed_updates=cast(policy.AllowedUpdates, str(cfg.policy.allowed_updates)),
        ignore=tuple(
            policy.IgnoreRule(chart=rule.chart, versions=rule.versions, release=rule.release)
            for rule in cfg.policy.ignore
        ),
    )


@dataclass(frozen=True)
class _IndexResult:
    read: indexes.IndexRead | None
    failure: Failure | None


async def run(
    cfg: config_.UpgraderConfigSpec,
    view: FluxView,
    *,
    fetcher: helm_http.IndexFetcher,
    secrets_api: secrets.SecretsApi,
    skipped_targets: Mapping[str, Collection[str]] | None = None,
) -> Outcome:
    """Check every release in scope. `skipped_targets` maps release keys to targets closed without merge."""
    failed: list[Failed] = []
    wanted: dict[tuple[str, str], tuple[flux.HelmRepository, set[str]]] = {}
    resolved: list[tuple[flux.HelmRelease, HttpChart]] = []
    for release in releases_in_scope(cfg, view):
        target = resolving.resolve(release, view)
        if isinstance(target, Failure):
            failed.append(Failed(release, target))
            continue
        repo = target.repository
        wanted.setdefault((repo.namespace, repo.name), (repo, set()))[1].add(target.chart)
        resolved.append((release, target))

    fetches: dict[str, tuple[str, int]] = {}
    results: dict[tuple[str, str], _IndexResult] = {}
    async with fetcher.cycle() as cycle:
        keys = list(wanted)
        outcomes = await asyncio.gather(*(_read_index(cycle, secrets_api, *wanted[key], fetches) for key in keys))
        results = dict(zip(keys, outcomes, strict=True))

    rules = to_policy(cfg)
    checked: list[Checked] = []
    for release, target in resolved:
        result = results[(target.repository.namespace, target.repository.name)]
        if result.failure is not None or result.read is None:
            failed.append(Failed(release, result.failure or Failure(reasons.FETCH_FAILED, "no index")))
            continue
        versions = result.read.charts.get(target.chart)
        if not versions:
            failed.append(
                Failed(
                    release,
                    Failure(
                        reasons.CHART_NOT_FOUND,
                        f"{release.key}: chart {target.chart!r} is not in the index of "
                        f"HelmRepository {target.repository.namespace}/{target.repository.name}",
                    ),
                )
            )
            continue
        decision = decisions.decide(
            release=release.key,
            chart=target.chart,
            current=target.current,
            available=[v.version for v in versions],
            policy=rules,
            skipped_targets=tuple((skipped_targets or {}).get(release.key, ())),
        )
        if decision.outcome is decisions.Outcome.UNSUPPORTED_RANGE:
            failed.append(Failed(release, Failure(reasons.RANGE_UNSUPPORTED, f"{release.key}: {decision.message}")))
            continue
        checked.append(Checked(release, target, decision, versions))
    return Outcome(checked=tuple(checked), failed=tuple(failed), fetches=fetches)


async def _read_index(
    cycle: helm_http.FetchCycle,
    secrets_api: secrets.SecretsApi,
    repo: flux.HelmRepository,
    charts: set[str],
    fetches: dict[str, tuple[str, int]],
) -> _IndexResult:
    names = frozenset(charts)
    where = f"HelmRepository {repo.namespace}/{repo.name}"
    try:
        repo_auth = await auth.repo_auth_for(secrets_api, repo.namespace, _auth_spec(repo))
        fetched = await cycle.fetch(
            repo.url,
            auth=repo_auth,
            parse=functools.partial(indexes.read_charts, names=names),
            parse_key=("charts", names),
        )
    except secrets.SourceAuthError as error:
        return _IndexResult(None, Failure(reasons.AUTH_FAILED, f"{where}: {error}"))
    except helm_http.FetchError as error:
        fetches[error.url] = ("error", 0)
        return _IndexResult(None, Failure(reasons.FETCH_FAILED, f"{where}: {error}"))
    except indexes.InvalidIndex as error:
        return _IndexResult(None, Failure(reasons.INDEX_INVALID, f"{where}: {error}"))
    fetches[fetched.url] = (fetched.status, fetched.bytes_read)
    return _IndexResult(fetched.value, None)


def _auth_spec(repo: flux.HelmRepository) -> dict[str, object]:
    spec: dict[str, object] = {"passCredentials": repo.pass_credentials, "insecure": repo.insecure}
    if repo.secret_name:
        spec["secretRef"] = {"name": repo.secret_name}
    if repo.cert_secret_name:
        spec["certSecretRef"] = {"name": repo.cert_secret_name}
    return spec
