"""The long-lived objects every handler shares, created once at operator start-up and kept in Kopf's memo.

Holds the Kubernetes API client, the index fetcher (with its conditional-GET cache) and the proposal store.
Created by `handlers.lifecycle.operator_startup`; closed by `operator_cleanup`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kubernetes_asyncio import client

from fluxcd_helm_upgrader import settings as settings_
from fluxcd_helm_upgrader.proposals.store import ProposalStore
from fluxcd_helm_upgrader.sources import helm_http


@dataclass
class Services:
    settings: settings_.Settings
    api: client.ApiClient
    core: client.CoreV1Api
    fetcher: helm_http.IndexFetcher
    proposals: ProposalStore

    @classmethod
    async def create(cls, configuration: client.Configuration) -> Services:
        current = settings_.Settings.from_env(os.environ)
        api = client.ApiClient(configuration=configuration)
        return cls(
            settings=current,
            api=api,
            core=client.CoreV1Api(api),
            fetcher=helm_http.IndexFetcher(
                max_bytes=current.max_index_bytes,
                timeout=current.fetch_timeout_seconds,
                concurrency=current.fetch_concurrency,
            ),
            proposals=ProposalStore(api),
        )

    async def close(self) -> None:
        await self.fetcher.close()
        await self.api.close()
