"""Shared values for the forge tests: the canary token, the repository, a sleep recorder."""

from __future__ import annotations

TOKEN = "ghp_CANARY0123456789abcdefCANARY"
REPO = "acme/fleet"


class Sleeps:
    """An injectable ``sleep`` that records the delays asked for instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
