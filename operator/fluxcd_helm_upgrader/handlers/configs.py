"""UpgraderConfig handlers: the periodic check cycle.

Kopf timers have one interval per handler, but every config has its own `spec.interval`; so the timer ticks
every few seconds (`UPGRADER_TICK_SECONDS`) and `checking.scheduling.due` decides whether this config's cycle is
due: on its interval, at once after a spec change, and at once after `reconcile.fluxcd.io/requestedAt` changes.
A quiet tick reads nothing and writes nothing. An index over the UpgraderConfigs themselves gives each cycle its
namespace's other configs, for the overlap rule (`cycles.overlap`) without an API call.
"""

from __future__ import annotations

import datetime
import os
import time
from typing import Any, cast

import kopf
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader import config as config_
from fluxcd_helm_upgrader import kube, logs, services, settings
from fluxcd_helm_upgrader.checking import scheduling
from fluxcd_helm_upgrader.cycles import handling, measuring, overlap
from fluxcd_helm_upgrader.cycles.view import FluxView
from fluxcd_helm_upgrader.handlers import ids
from fluxcd_helm_upgrader.status import conditions
from fluxcd_helm_upgrader.structs import kinds

K = kinds.UPGRADER_CONFIG
TICK_SECONDS = settings.Settings.from_env(os.environ).tick_seconds


def clock(body: kopf.Body, *, ran_in_this_process: bool = True, triggered: bool = False) -> scheduling.Clock:
    """The scheduling inputs of one config; an unparsable interval falls back to 30m (the cycle reports it)."""
    spec, status, meta = body.get("spec") or {}, body.get("status") or {}, body.get("metadata") or {}
    try:
        interval = config_.parse(spec).interval_seconds
    except config_.ConfigError:
        interval = 1800.0
    return scheduling.Clock(
        suspend=bool(spec.get("suspend")),
        interval_seconds=interval,
        generation=meta.get("generation"),
        observed_generation=status.get("observedGeneration"),
        last_check_time=status.get("lastCheckTime"),
        requested_at=(meta.get("annotations") or {}).get(kinds.RECONCILE_REQUESTED_AT),
        last_handled_reconcile_at=status.get("lastHandledReconcileAt"),
        ran_in_this_process=ran_in_this_process,
        triggered=triggered,
    )


@kopf.index(K.group, K.version, K.plural, id=ids.INDEX_CONFIGS)
def upgraderconfigs(body: kopf.Body, namespace: str | None, **_: Any) -> dict[str, overlap.Peer]:
    """Every UpgraderConfig by namespace, as the overlap rule needs it (name, uid, age, scope)."""
    return {str(namespace): overlap.peer_of(body)}


@kopf.timer(K.group, K.version, K.plural, interval=TICK_SECONDS, id=ids.CONFIG_CYCLE)
async def upgraderconfig_cycle(
    body: kopf.Body,
    namespace: str | None,
    name: str,
    patch: kopf.Patch,
    memo: kopf.Memo,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    """Run this config's check cycle when it is due and write the result into its status."""
    key = f"{namespace}/{name}"
    shared = services.of(memo)
    shared.triggers.seen(key, str((body.get("spec") or {}).get("git", {}).get("url", "")))
    current = clock(body, ran_in_this_process=bool(memo.get("cycled")), triggered=shared.triggers.take(key))
    why = scheduling.due(current, datetime.datetime.now(datetime.UTC))
    if why in (scheduling.Why.NOT_DUE, scheduling.Why.SUSPENDED):
        return
    logger.info("check cycle starting: %s", why.value)
    memo["cycled"] = True  # per-object memo: this config has had a cycle in this process
    started = time.monotonic()
    try:
        handled = await handling.handle(
            shared.cycle_deps,
            body,
            FluxView.from_indexes(**kwargs),
            now=conditions.now_rfc3339(),
            requested_at=current.requested_at,
            peers=list((kwargs.get(ids.INDEX_CONFIGS) or {}).get(str(namespace), ())),
        )
    except ApiException as error:
        delay = kube.retry_delay(error)
        if delay is None:
            raise
        message = f"the API server answered {error.status} ({error.reason}); retrying"
        raise kopf.TemporaryError(message, delay=delay) from error
    measuring.record(shared.metrics, key, handled, time.monotonic() - started)
    patch.status.update(handled.status)
    for held in handled.held:
        memo.services.workers.discard(held)
    for job in handled.jobs:
        shared.workers.submit(job)
    for event in handled.events:
        message = logs.redact(event.message)  # as kube_events does: no URL userinfo, no secret value
        kopf.event(cast(kopf.Body, dict(event.body)), type=event.type, reason=event.reason, message=message)
    logger.info("check cycle done: %s", conditions.message(handled.status.get("conditions")) or "no Ready condition")


@kopf.on.delete(K.group, K.version, K.plural, id=ids.CONFIG_DELETED, optional=True)
async def upgraderconfig_deleted(namespace: str | None, name: str, memo: kopf.Memo, **_: Any) -> None:
    """Forget a deleted config's metrics series and webhook registration (no finalizer: optional)."""
    key = f"{namespace}/{name}"
    shared = services.of(memo)
    shared.triggers.forget(key)
    shared.metrics.forget_config(key)
