"""Post Kubernetes events (core v1) on our objects from anywhere, including the background Git worker.

Kopf's `kopf.event` needs Kopf's handler context; the PR worker runs outside it, so it posts through the API client.
One event per transition: callers post only when something changed, never on a quiet tick.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader import logs
from fluxcd_helm_upgrader.status.conditions import now_rfc3339

logger = logging.getLogger(__name__)
COMPONENT = "fluxcd-helm-upgrader"


async def post(api: client.ApiClient, body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    """Create an Event about `body`; failures are logged, never raised (an event is not worth a failed cycle)."""
    meta = body.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    now = now_rfc3339()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name')}.{uuid.uuid4().hex[:12]}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": body.get("apiVersion"),
            "kind": body.get("kind"),
            "name": meta.get("name"),
            "namespace": namespace,
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "type": type_,
        "reason": reason,
        "message": logs.redact(message)[:1024],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    try:
        await client.CoreV1Api(api).create_namespaced_event(namespace, event)  # type: ignore[arg-type]
    except ApiException as error:
        logger.warning("could not post event %s on %s/%s: HTTP %s", reason, namespace, meta.get("name"), error.status)
