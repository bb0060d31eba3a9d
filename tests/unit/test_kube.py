"""kube.retry_delay: which API answers mean "not now" (retry soon, as the server hints) and which are final."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from fluxcd_helm_upgrader import kube


def refused(status: int, *, header: str | None = None, body_hint: object = None) -> ApiException:
    error = ApiException(status=status, reason="Reason")
    error.headers = {"Retry-After": header} if header is not None else {}
    details = {"retryAfterSeconds": body_hint} if body_hint is not None else {}
    error.body = json.dumps({"kind": "Status", "code": status, "details": details})
    return error


@pytest.mark.parametrize(
    ("error", "delay"),
    [
        (refused(429, body_hint=1), 1.0),  # "storage is (re)initializing" right after a CRD appears
        (refused(429, header="7"), 7.0),
        (refused(503), 5.0),
        (refused(500), 5.0),
        (refused(504, header="0"), 1.0),  # never spin
        (refused(429, header="86400"), 60.0),  # never stall
        (refused(429, header="soon"), 5.0),
        (refused(403), None),
        (refused(404), None),
        (refused(409), None),
        (refused(422), None),
    ],
)
def test_retry_delay(error: ApiException, delay: float | None) -> None:
    assert kube.retry_delay(error) == delay
