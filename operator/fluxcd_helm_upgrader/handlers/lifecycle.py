"""Operator start-up and shutdown: Kopf settings, login, and the shared services in Kopf's memo.

Kopf is configured once here: finalizer and annotation prefixes under helmupgrader.io, no log-to-event posting
(events are posted explicitly, one per transition), standalone (one replica, Recreate rollouts).
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from fluxcd_helm_upgrader import kube, services

PREFIX = "helmupgrader.io"


@kopf.on.startup()
async def operator_startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Configure Kopf and create the API client, fetchers and workers every handler shares."""
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    # Our handlers post events themselves (one per transition); log lines never become events.
    settings.posting.level = logging.CRITICAL + 1
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    if services.MEMO_KEY not in memo:
        shared = await services.Services.create(await kube.load_configuration())
        memo[services.MEMO_KEY] = shared  # read back with services.of(memo)
        await shared.start_servers()


@kopf.on.login()
async def operator_login(**_: Any) -> kopf.ConnectionInfo:
    """Log Kopf in the same way as our own client: service account, else $KUBECONFIG read now."""
    return await kube.connection_info(await kube.load_configuration())


@kopf.on.cleanup()
async def operator_cleanup(memo: kopf.Memo, **_: Any) -> None:
    """Stop the workers and close network sessions."""
    if services.MEMO_KEY in memo:
        await services.of(memo).close()
