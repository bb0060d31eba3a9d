"""Immediate check cycles on demand: the webhook receiver marks configs, the config handler picks the mark up.

The UpgraderConfig handler records each config's Git URL here on every tick; a GitHub push (or a signed generic
POST naming a config) marks the matching configs, and their next tick (a few seconds) runs a cycle. Called by
`services.Services.start_servers` (starting the receiver, from `handlers.lifecycle`) and `handlers.configs`
(recording URLs, taking marks).
"""

from __future__ import annotations

from fluxcd_helm_upgrader import webhooks


class Triggers:
    """Which configs exist (key "namespace/name" -> Git URL) and which asked for an immediate cycle."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}
        self._marked: set[str] = set()

    def seen(self, key: str, git_url: str) -> None:
        self.known[key] = git_url

    def forget(self, key: str) -> None:
        self.known.pop(key, None)
        self._marked.discard(key)

    def take(self, key: str) -> bool:
        """True once after the config was marked."""
        if key in self._marked:
            self._marked.discard(key)
            return True
        return False

    def push(self, event: webhooks.PushEvent) -> int:
        """Mark every config whose Git URL is the pushed repository; return how many."""
        matched = [key for key, url in self.known.items() if webhooks.matches_repository(event.urls, url)]
        self._marked.update(matched)
        return len(matched)

    def config(self, namespace: str, name: str) -> int:
        key = f"{namespace}/{name}"
        if key not in self.known:
            return 0
        self._marked.add(key)
        return 1
