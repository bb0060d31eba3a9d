"""What the UpgraderConfig handler does on a due tick: validate, check, sync proposals, build the status.

Returns the status patch and the events to post; the handler applies them. Errors that stop the whole cycle
(invalid spec, missing secret, a 403 from the API, a Git or PR Secret the config's ServiceAccount may not read)
become Ready=False with a message saying what to fix; the operator keeps running and retries on the next interval.
Every Secret is read through the reader `cycles.tenancy` gives (the config's ServiceAccount in lockdown).
`handle` takes the few long-lived objects it uses (`Deps`), which `services.Services.cycle_deps` hands out.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader import kube
from fluxcd_helm_upgrader import settings as settings_
from fluxcd_helm_upgrader.cycles import jobs, overlap, reporting, running, syncing, tenancy
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.proposals import flood, worker
from fluxcd_helm_upgrader.proposals.store import ProposalStore
from fluxcd_helm_upgrader.sources import helm_http, oci, secrets
from fluxcd_helm_upgrader.status import conditions, reasons
from fluxcd_helm_upgrader.tenancy import impersonation


@dataclass(frozen=True)
class Deps:
    """What a cycle uses of the operator's long-lived objects (see `services.Services`)."""

    settings: settings_.Settings
    api: client.ApiClient
    readers: impersonation.SecretReaders  # every Secret a config uses is read through it (see cycles.tenancy)
    proposals: ProposalStore
    fetcher: helm_http.IndexFetcher
    oci: oci.OciClient


@dataclass
class Handled:
    status: dict[str, Any]
    events: list[syncing.Event] = field(default_factory=list)
    outcome: running.Outcome | None = None
    sync: syncing.SyncResult | None = None
    jobs: list[worker.Job] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)  # proposals waiting for a PR slot: drop queued jobs


async def handle(
    deps: Deps,
    body: Mapping[str, Any],
    view: FluxView,
    *,
    now: str,
    requested_at: str | None,
    peers: Iterable[overlap.Peer] = (),
) -> Handled:
    """One cycle of the config `body`; `peers` are the UpgraderConfigs the operator knows (the overlap rule)."""
    meta = body.get("metadata") or {}
    old_status: Mapping[str, Any] = body.get("status") or {}
    generation = meta.get("generation")
    namespace = str(meta.get("namespace"))

    def blocked(reason: str, message: str) -> Handled:
        status = reporting.blocked_status(
            old_status,
            reason=reason,
            message=message,
            generation=generation,
            now=now,
            requested_at=requested_at,
        )
        old_ready = conditions.message(old_status.get("conditions"))
        events = [] if old_ready == message else [syncing.Event(body, "Warning", reason, message)]
        return Handled(status=status, events=events)

    try:
        cfg = config_.parse(body.get("spec") or {})
        if cfg.git.url.scheme == "file" and not deps.settings.allow_file_git_urls:
            raise config_.ConfigError(
                "spec.git.url",
                f"{cfg.git.url.redacted()!r} is a repository on the operator's own filesystem; file:// URLs are "
                "refused unless the operator runs with UPGRADER_ALLOW_FILE_GIT_URLS=true (tests and the demo do)",
            )
    except config_.ConfigError as error:
        return blocked(reasons.INVALID_CONFIG, str(error))
    try:
        # Whose identity reads this config's Secrets, and what its scope may reach (Flux's lockdown).
        tenant = await tenancy.settle(deps.settings, deps.readers, deps.api, namespace, cfg, view)
        cfg = tenant.cfg
        await _check_secrets(tenant.secrets, namespace, cfg)
        existing = await deps.proposals.list_in_namespace(namespace)
        yielded = overlap.yielded(overlap.peer_of(body), peers, running.releases_in_scope(cfg, view))
        outcome = await running.run(
            cfg,
            view,
            fetcher=deps.fetcher,
            secrets_api=tenant.secrets,
            skipped_targets=syncing.skipped_targets(syncing.owned(body, existing)),
            oci_client=deps.oci,
            oci_concurrency=deps.settings.fetch_concurrency,
            refused={**tenant.refused, **{k: running.overlap_failure(k, h) for k, h in yielded.items()}},
        )
        synced = await syncing.sync(deps.proposals, body, outcome, existing)
        refused, refusals = await syncing.refuse(deps.proposals, body, cfg.scope, view, existing)
        outcome = running.with_failures(outcome, synced.conflicts)
        proposals = [b for name, b in synced.proposals.items() if name not in refused]
        work = jobs.jobs_for(syncing.config_of(body), cfg, proposals, outcome, view, cycle=time.monotonic_ns())
        flooding = flood.plan(cfg.pull_requests, proposals, work, datetime.datetime.now(datetime.UTC))
        await flood.hold(deps.proposals, flooding.waiting)
    except (secrets.SecretForbidden, tenancy.ScopeCheckForbidden) as error:
        return blocked(reasons.FORBIDDEN, str(error))
    except secrets.SourceAuthError as error:
        return blocked(reasons.SECRET_NOT_FOUND, str(error))
    except ApiException as error:
        if error.status == 403:
            return blocked(reasons.FORBIDDEN, kube.forbidden_message(error))
        raise
    status = reporting.cycle_status(
        old_status,
        outcome,
        proposals_open=synced.open_count,
        proposals_waiting=len(flooding.waiting),
        generation=generation,
        now=now,
        requested_at=requested_at,
        scope_forbidden=tenant.forbidden,
    )
    events = [*synced.events, *refusals]
    if reporting.scope_forbidden_transition(old_status, tenant.forbidden):
        events.append(syncing.Event(body, "Warning", reasons.SCOPE_FORBIDDEN, str(tenant.forbidden)))
    warning = reporting.failure_transition(old_status, status)
    if warning:
        events.append(syncing.Event(body, "Warning", reporting.event_reason(status), warning))
    return Handled(
        status=status, events=events, outcome=outcome, sync=synced, jobs=flooding.jobs, held=flooding.held
    )


async def _check_secrets(reader: secrets.SecretsApi, namespace: str, cfg: config_.UpgraderConfigSpec) -> None:
    """Fail early, naming the Secret, when a referenced Git or PR secret does not exist or may not be read."""
    names = {n for n in (cfg.git.secret_name, cfg.pull_requests.secret_name) if n}
    for name in sorted(names):
        await secrets.read_secret(reader, namespace, name)
