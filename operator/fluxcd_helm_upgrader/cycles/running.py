"""One check cycle for one UpgraderConfig: scope → resolve → fetch each index or tag list once → decide per release.

Called by the UpgraderConfig timer handler. HTTP index fetches are bounded by the fetcher's semaphores (parsing runs
in threads inside the fetcher); OCI registry calls go through `cycles.oci_checks` (one tag list per registry
repository and credentials, bounded concurrency). The per-release decision is the pure `checking.decisions.decide`.
One broken repository, registry or release never stops the others: each failure becomes a `Failure` for the
releases that needed it only. Every step of one release (resolving, reading its index or tags, deciding) runs
inside a boundary: an exception nobody foresaw becomes that release's `CheckFailed`, logged with its traceback,
and the cycle goes on. Index versions enter through `plausible_versions`, so a 5000-digit "version" in a hostile
index never reaches a parser; a current value Git holds that is not a version or a range is `InvalidVersion`.

OCI values: Helm spells a chart version's "+" as "_" in tags, so an OCIRepository `spec.ref.tag` is read as a
version for the decision and the proposed value is the tag that carries the chosen version. When the
OCIRepository also pins `spec.ref.digest`, the new tag's manifest digest is fetched so that both are written in one
commit.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader import logs
from fluxcd_helm_upgrader.checking import decisions, indexes, oci_tags, policy, release_age, scope
from fluxcd_helm_upgrader.cycles import aging, oci_checks, resolving
from fluxcd_helm_upgrader.cycles.resolving import Checkable, Failure, HttpChart, OciChart
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.proposals import targets
from fluxcd_helm_upgrader.sources import auth, helm_http, oci, secrets
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import flux, urls

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Checked:
    """A release whose versions were read and decided on.

    `write` is the value written to Git when it differs from the decision's target (an OCI tag spelled with "_");
    `digest` is set when an OCIRepository pins a digest that must follow the new tag.
    """

    release: flux.HelmRelease
    source: Checkable
    decision: decisions.Decision
    versions: tuple[indexes.ChartVersion, ...]
    write: str | None = None
    digest: targets.DigestPin | None = None
    held: tuple[release_age.Held, ...] = ()  # newer versions held back by policy.minimumReleaseAge

    @property
    def target(self) -> str | None:
        """The new value for Git (the proposal's spec.targetVersion)."""
        return self.write if self.write is not None else self.decision.target


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
    tag_lists: int = 0  # OCI tag lists fetched this cycle (one per registry repository and credentials)

    @property
    def outdated(self) -> tuple[Checked, ...]:
        return tuple(c for c in self.checked if c.decision.verdict is decisions.Verdict.PROPOSE)


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
            excluded=cfg.scope.excluded,
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
    oci_client: oci.OciClient | None = None,
    oci_concurrency: int = oci_checks.DEFAULT_CONCURRENCY,
    refused: Mapping[str, Failure] | None = None,
) -> Outcome:
    """Check every release in scope. `skipped_targets` maps release keys to targets closed without merge.

    `oci_client` is the operator's long-lived registry client (tokens cached across cycles); without one, a
    client with a session for this cycle only is created when an OCI source is in scope. `refused` maps the keys
    of releases that are reported, not checked, to why: an older config keeps them (`cycles.overlap`), or their
    source is in a namespace the config may not reach (`cycles.tenancy`). Nothing of theirs is read.
    """
    failed: list[Failed] = []
    wanted: dict[tuple[str, str], tuple[flux.HelmRepository, set[str]]] = {}
    resolved: list[tuple[flux.HelmRelease, HttpChart]] = []
    oci_resolved: list[tuple[flux.HelmRelease, OciChart]] = []
    for release in releases_in_scope(cfg, view):
        refusal = (refused or {}).get(release.key)
        if refusal is not None:
            failed.append(Failed(release, refusal))
            continue
        target = _guard(release, "resolving its source", functools.partial(resolving.resolve, release, view))
        if isinstance(target, Failed | Failure):
            failed.append(_failed(release, target))
        elif isinstance(target, OciChart):
            oci_resolved.append((release, target))
        else:
            repo = target.repository
            wanted.setdefault((repo.namespace, repo.name), (repo, set()))[1].add(target.chart)
            resolved.append((release, target))

    rules = to_policy(cfg)
    age = cfg.policy.minimum_release_age
    skipped = skipped_targets or {}
    fetches: dict[str, tuple[str, int]] = {}
    results: dict[tuple[str, str], _IndexResult] = {}
    async with oci_checks.client_for_cycle(oci_client, bool(oci_resolved)) as client, fetcher.cycle() as cycle:
        keys = list(wanted)
        checks = oci_checks.OciChecks(client, secrets_api, concurrency=oci_concurrency) if client else None
        http_reads = asyncio.gather(*(_read_index(cycle, secrets_api, *wanted[key], fetches) for key in keys))
        oci_work = asyncio.gather(
            *(
                _guard_async(release, "checking its OCI source",
                             functools.partial(_check_oci, checks, release, target, rules, skipped, age))
                for release, target in oci_resolved
                if checks
            )
        )  # fmt: skip
        outcomes, oci_results = await asyncio.gather(http_reads, oci_work)
        results = dict(zip(keys, outcomes, strict=True))
        tag_lists = checks.tag_lists_fetched if checks else 0

    checked: list[Checked] = []
    for release, target in resolved:
        result = results[(target.repository.namespace, target.repository.name)]
        item = await _guard_async(
            release, "deciding", functools.partial(_check_http, release, target, result, rules, skipped, age)
        )
        if isinstance(item, Checked):
            checked.append(item)
        else:
            failed.append(_failed(release, item))
    for oci_item in oci_results:
        if isinstance(oci_item, Checked):
            checked.append(oci_item)
        else:
            failed.append(oci_item)
    return Outcome(checked=tuple(checked), failed=tuple(failed), fetches=fetches, tag_lists=tag_lists)


def overlap_failure(release_key: str, holder: str) -> Failure:
    return Failure(
        reasons.SCOPE_OVERLAP,
        f"{release_key}: also in the scope of the older UpgraderConfig {holder}, which proposes its upgrades",
    )


def with_failures(outcome: Outcome, failures: Mapping[str, Failure]) -> Outcome:
    """`outcome` with the releases named in `failures` (release key -> why) moved from checked to failed."""
    if not failures:
        return outcome
    moved = [Failed(c.release, failures[c.release.key]) for c in outcome.checked if c.release.key in failures]
    kept = tuple(c for c in outcome.checked if c.release.key not in failures)
    return Outcome(kept, (*outcome.failed, *moved), outcome.fetches, outcome.tag_lists)


def plausible_versions(raw: Iterable[str]) -> list[str]:
    """The versions of an index or tag list that may be parsed at all: strings of at most `resolving.MAX_VERSION_CHARS`.

    Helm's own limit is lower still; this one only keeps hostile input (a 5000-digit "version") away from parsers.
    """
    return [v for v in raw if isinstance(v, str) and len(v) <= resolving.MAX_VERSION_CHARS]


async def _check_http(
    release: flux.HelmRelease,
    target: HttpChart,
    result: _IndexResult,
    rules: policy.Policy,
    skipped: Mapping[str, Collection[str]],
    age: float,
) -> Checked | Failure:
    """The decision for one release of an HTTP index (versions younger than `age` seconds held back), or why it
    could not be made."""
    if result.failure is not None or result.read is None:
        return result.failure or Failure(reasons.FETCH_FAILED, "no index")
    versions = result.read.charts.get(target.chart)
    if not versions:
        return Failure(
            reasons.CHART_NOT_FOUND,
            f"{release.key}: chart {target.chart!r} is not in the index of "
            f"HelmRepository {target.repository.namespace}/{target.repository.name}",
        )
    versions = tuple(v for v in versions if plausible_versions([v.version]))
    over = functools.partial(_decide, release, target.chart, target.current, rules=rules, skipped=skipped)
    available = [v.version for v in versions]
    decision, held = await aging.decide(over, available, aging.index_times(versions), age)
    failure = _decision_failure(release, decision)
    return failure if failure is not None else Checked(release, target, decision, versions, held=held)


def _decision_failure(release: flux.HelmRelease, decision: decisions.Decision) -> Failure | None:
    """Decisions that mean the release could not be checked: reported in status.failedReleases."""
    if decision.verdict is decisions.Verdict.UNSUPPORTED_RANGE:
        return Failure(reasons.RANGE_UNSUPPORTED, f"{release.key}: {decision.message}")
    if decision.verdict is decisions.Verdict.INVALID_CURRENT:
        return Failure(reasons.INVALID_VERSION, f"{release.key}: {decision.message}")
    return None


def _failed(release: flux.HelmRelease, failure: Failed | Failure) -> Failed:
    return failure if isinstance(failure, Failed) else Failed(release, failure)


def _unexpected(release: flux.HelmRelease, doing: str, error: Exception) -> Failed:
    logger.error("%s: unexpected error while %s", release.key, doing, exc_info=error, extra={"release": release.key})
    text = logs.redact(f"{type(error).__name__}: {error}")[:300]
    return Failed(release, Failure(reasons.CHECK_FAILED, f"{release.key}: unexpected error while {doing}: {text}"))


def _guard(release: flux.HelmRelease, doing: str, step: Callable[[], T]) -> T | Failed:
    """Run one release's step; an unexpected exception fails this release only (CheckFailed)."""
    try:
        return step()
    except Exception as error:
        return _unexpected(release, doing, error)


async def _guard_async(release: flux.HelmRelease, doing: str, step: Callable[[], Awaitable[T]]) -> T | Failed:
    try:
        return await step()
    except Exception as error:
        return _unexpected(release, doing, error)


def _decide(
    release: flux.HelmRelease,
    chart: str,
    current: str,
    available: Sequence[str],
    rules: policy.Policy,
    skipped: Mapping[str, Collection[str]],
    *,
    tags: bool = False,
) -> decisions.Decision:
    closed = tuple(skipped.get(release.key, ()))
    if tags:  # closed targets were written as tags; the decision compares versions
        closed = tuple(oci_tags.tag_to_version(t) for t in closed)
    return decisions.decide(
        release=release.key, chart=chart, current=current, available=available, policy=rules, skipped_targets=closed
    )


async def _check_oci(
    checks: oci_checks.OciChecks | None,
    release: flux.HelmRelease,
    target: OciChart,
    rules: policy.Policy,
    skipped: Mapping[str, Collection[str]],
    age: float = 0.0,
) -> Checked | Failed:
    """Tags → versions → decision for one release; a new digest when the OCIRepository pins one."""
    assert checks is not None
    try:
        tag_list = await checks.tags(target)
    except oci_checks.CheckError as error:
        return Failed(release, Failure(error.reason, f"{release.key}: {target.origin.kind} "
                                       f"{target.origin.namespace}/{target.origin.name}: {error.message}"))  # fmt: skip
    current = target.current
    if target.writes_tag:
        current = "" if current == resolving.LATEST else oci_tags.tag_to_version(current)
    available = [tagged.version for tagged in tag_list.versions]
    over = functools.partial(_decide, release, target.chart, current, rules=rules, skipped=skipped,
                             tags=target.writes_tag)  # fmt: skip

    async def created_of(version: str) -> str | None:
        return await checks.created(target, tag_list.tag_of(version))

    decision, held = await aging.decide(over, available, created_of, age)
    failure = _decision_failure(release, decision)
    if failure is not None:
        return Failed(release, failure)
    if decision.verdict is not decisions.Verdict.PROPOSE or decision.newest is None:
        return Checked(release, target, decision, (), held=held)
    tag = tag_list.tag_of(decision.newest)
    versions = await _app_versions(checks, target, tag_list, decision)
    if not target.writes_tag:
        return Checked(release, target, decision, versions, held=held)
    pin = None
    if target.digest:
        try:
            pin = targets.DigestPin(target.digest, await checks.digest(target, tag))
        except oci_checks.CheckError as error:
            return Failed(release, Failure(error.reason, f"{release.key}: digest of {tag}: {error.message}"))
    return Checked(release, target, decision, versions, write=tag, digest=pin, held=held)


async def _app_versions(
    checks: oci_checks.OciChecks, target: OciChart, tag_list: oci_checks.TagList, decision: decisions.Decision
) -> tuple[indexes.ChartVersion, ...]:
    """Index-like entries for the current and the new version, carrying appVersion for the PR body."""
    wanted = [v for v in (decision.current_resolved, decision.newest) if v]
    entries = []
    for version in dict.fromkeys(wanted):
        app = await checks.app_version(target, tag_list.tag_of(version))
        entries.append(indexes.ChartVersion(name=target.chart, version=version, app_version=app))
    return tuple(entries)


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
        repo_auth = await auth.repo_auth_for(secrets_api, repo.namespace, auth.repository_spec(repo))
        if urls.sends_in_clear(repo.url) and ((repo_auth and repo_auth.has_basic) or "@" in _netloc(repo.url)):
            return _IndexResult(None, Failure(reasons.HTTPS_REQUIRED, urls.https_required(where, repo.url)))
        fetched = await cycle.fetch(
            repo.url,
            auth=repo_auth,
            parse=functools.partial(indexes.read_charts, names=names),
            parse_key=("charts", names),
        )
    except secrets.SourceAuthError as error:
        return _IndexResult(None, Failure(_auth_reason(error), f"{where}: {error}"))
    except helm_http.FetchError as error:
        fetches[error.url] = ("error", 0)
        return _IndexResult(None, Failure(reasons.FETCH_FAILED, f"{where}: {error}"))
    except indexes.InvalidIndex as error:
        return _IndexResult(None, Failure(reasons.INDEX_INVALID, f"{where}: {error}"))
    except Exception as error:  # one broken repository fails its releases only, whatever went wrong
        logger.error("%s: unexpected error while reading the index", where, exc_info=error)
        text = logs.redact(f"{type(error).__name__}: {error}")[:300]
        return _IndexResult(None, Failure(reasons.CHECK_FAILED, f"{where}: unexpected error reading the index: {text}"))
    fetches[fetched.url] = (fetched.status, fetched.bytes_read)
    return _IndexResult(fetched.value, None)


def _auth_reason(error: secrets.SourceAuthError) -> str:
    """Forbidden when the identity reading the source's Secret may not (a config's ServiceAccount), else AuthFailed."""
    return reasons.FORBIDDEN if isinstance(error, secrets.SecretForbidden) else reasons.AUTH_FAILED


def _netloc(url: str) -> str:
    return url.partition("://")[2].partition("/")[0]
