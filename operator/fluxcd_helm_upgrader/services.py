"""The long-lived objects every handler shares, created once at operator start-up and kept in Kopf's memo.

Holds the Kubernetes API client, the index fetcher (with its conditional-GET cache) and the proposal store.
Created by `handlers.lifecycle.operator_startup`; closed by `operator_cleanup`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kubernetes_asyncio import client

from fluxcd_helm_upgrader import metrics as metrics_
from fluxcd_helm_upgrader import settings as settings_
from fluxcd_helm_upgrader.gitops import repos
from fluxcd_helm_upgrader.proposals import publishing, worker
from fluxcd_helm_upgrader.proposals.store import ProposalStore
from fluxcd_helm_upgrader.sources import helm_http


@dataclass
class Services:
    settings: settings_.Settings
    api: client.ApiClient
    core: client.CoreV1Api
    fetcher: helm_http.IndexFetcher
    proposals: ProposalStore
    workers: worker.WorkerPool
    metrics: metrics_.Metrics

    @classmethod
    async def create(cls, configuration: client.Configuration) -> Services:
        current = settings_.Settings.from_env(os.environ)
        api = client.ApiClient(configuration=configuration)
        core = client.CoreV1Api(api)
        proposals = ProposalStore(api)
        context = publishing.Context(
            api=api, core=core, store=proposals, workspace=repos.Workspace(current.cache_dir / "git")
        )

        async def process(job: worker.Job) -> None:
            await publishing.process(context, job)

        return cls(
            settings=current,
            api=api,
            core=core,
            fetcher=helm_http.IndexFetcher(
                max_bytes=current.max_index_bytes,
                timeout=current.fetch_timeout_seconds,
                concurrency=current.fetch_concurrency,
            ),
            proposals=proposals,
            workers=worker.WorkerPool(process),
            metrics=metrics_.Metrics(),
        )

    async def close(self) -> None:
        await self.workers.close()
        await self.metrics.stop()
        await self.fetcher.close()
        await self.api.close()
