"""In-memory stand-ins for the services the operator's layers call, shared by the unit tests.

`FakeSecrets` answers `read_namespaced_secret` like kubernetes_asyncio's CoreV1Api (a 404 for a Secret it does not
hold).
"""

from __future__ import annotations

from typing import Any

from tests import builders


class FakeSecrets:
    def __init__(self, secrets: dict[tuple[str, str], dict[str, bytes]]) -> None:
        self.secrets = secrets

    async def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        if (namespace, name) not in self.secrets:
            error = Exception("not found")
            error.status = 404  # type: ignore[attr-defined]
            raise error
        return {"data": builders.secret_data(self.secrets[(namespace, name)])}
