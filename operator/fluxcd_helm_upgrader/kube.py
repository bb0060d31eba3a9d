"""Kubernetes API access for the operator's own calls (kubernetes-asyncio) and Kopf's login.

Kopf and our client log in the same way: the in-cluster service account when present, otherwise the kubeconfig
named by `$KUBECONFIG` *at call time* (kubernetes-asyncio reads `$KUBECONFIG` only at import, which breaks tests and
the demo that start an API emulator later). Called by `handlers.lifecycle` at startup.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping
from typing import Any

import kopf
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

MERGE_PATCH = "application/merge-patch+json"
# Answers that say "not now" rather than "no": a busy, starting or restarting API server (429 while its watch cache
# re-initialises after a CRD appears or a restart, 5xx from a proxy in between).
TRANSIENT = frozenset({429, 500, 502, 503, 504})


async def load_configuration() -> client.Configuration:
    """A client configuration from the service account, or from `$KUBECONFIG` / ~/.kube/config."""
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except config.ConfigException:
        path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        await config.load_kube_config(config_file=path, client_configuration=configuration)
    return configuration


async def connection_info(configuration: client.Configuration) -> kopf.ConnectionInfo:
    """Translate a kubernetes-asyncio configuration into Kopf's credentials."""
    maybe: Any = configuration.get_api_key_with_prefix("BearerToken")
    header: str | None = await maybe if inspect.isawaitable(maybe) else maybe
    parts = header.split(" ", 1) if header else []
    scheme, token = (None, None) if not parts else (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    return kopf.ConnectionInfo(
        server=str(configuration.host),
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme,
        token=token,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )


def forbidden_message(error: ApiException) -> str:
    """A message naming the permission the operator lacks (the API server's own words), for Ready=False."""
    reason = ""
    try:
        body = json.loads(error.body) if error.body else {}
        reason = str(body.get("message") or "") if isinstance(body, dict) else ""
    except (TypeError, ValueError):
        reason = ""
    reason = reason or f"HTTP {error.status} {error.reason}"
    return (
        f"the operator's service account lacks a permission: {reason}; "
        "grant it in the operator's ClusterRole or Role (see deploy/)"
    )


def retry_delay(error: ApiException, default: float = 5.0, ceiling: float = 60.0) -> float | None:
    """Seconds to wait before retrying a call the API server refused for now; None when the refusal is final.

    The server's own hint wins (`Retry-After`, or `details.retryAfterSeconds` in the Status body), bounded so a
    bad hint can neither spin nor stall the operator.
    """
    if error.status not in TRANSIENT:
        return None
    headers: Mapping[str, str] = error.headers or {}
    hint: object = headers.get("Retry-After")
    if hint is None:
        try:
            body = json.loads(error.body) if error.body else {}
            hint = ((body.get("details") or {}) if isinstance(body, dict) else {}).get("retryAfterSeconds")
        except (TypeError, ValueError):
            hint = None
    try:
        delay = float(str(hint)) if hint is not None else default
    except ValueError:
        delay = default
    return min(max(delay, 1.0), ceiling)
