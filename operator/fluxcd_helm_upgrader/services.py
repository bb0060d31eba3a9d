"""The long-lived objects every handler shares, created once at operator start-up and kept in Kopf's memo.

Holds the Kubernetes API client, the Secret readers (the operator's own identity, or a config's ServiceAccount by
impersonation), the index fetcher (with its conditional-GET cache), the proposal store, the metrics, the Git
worker pool and the webhook receiver. Created by `handlers.lifecycle.operator_startup`, closed by
`operator_cleanup`; handlers reach it through `of(memo)`, the one typed accessor. Each consumer gets only what it
uses: the check cycle `cycle_deps` (`cycles.handling.Deps`), the Git worker `jobs` (`proposals.publishing.Context`,
which owns the API client, Secret readers, proposal store and metrics that `Services` exposes under the same names).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import aiohttp
import kopf
from kubernetes_asyncio import client

from fluxcd_helm_upgrader import keyfiles, triggering, webhooks
from fluxcd_helm_upgrader import metrics as metrics_
from fluxcd_helm_upgrader import settings as settings_
from fluxcd_helm_upgrader.cycles import handling
from fluxcd_helm_upgrader.gitops import repos
from fluxcd_helm_upgrader.proposals import processing, publishing, risking, worker
from fluxcd_helm_upgrader.proposals.store import ProposalStore
from fluxcd_helm_upgrader.sources import charts, helm_http, oci, secrets
from fluxcd_helm_upgrader.tenancy import impersonation

MEMO_KEY = "services"  # where start-up keeps them in Kopf's memo (`of` reads it)


def of(memo: kopf.Memo) -> Services:
    """The operator's services from Kopf's memo (the global one, or a handler's per-object copy of it)."""
    found = memo.get(MEMO_KEY)
    if not isinstance(found, Services):
        raise RuntimeError("the operator's services are not in Kopf's memo: handlers.lifecycle did not start them")
    return found


@dataclass
class Services:
    settings: settings_.Settings
    core: client.CoreV1Api
    fetcher: helm_http.IndexFetcher
    jobs: publishing.Context  # the Git worker's: API client, Secret readers, proposal store, metrics, workspace
    workers: worker.WorkerPool
    oci_session: aiohttp.ClientSession  # one session for registries: keeps connections and bearer tokens
    oci: oci.OciClient
    charts: charts.ChartFetcher  # packaged charts for the upgrade risk (the Git worker's risking.Assessor)
    triggers: triggering.Triggers = field(default_factory=triggering.Triggers)
    receiver: webhooks.Receiver | None = None

    @property
    def api(self) -> client.ApiClient:
        return self.jobs.api

    @property
    def readers(self) -> impersonation.SecretReaders:
        """Every Secret a config uses is read through it (see cycles.tenancy)."""
        return self.jobs.readers

    @property
    def proposals(self) -> ProposalStore:
        return self.jobs.proposals

    @property
    def metrics(self) -> metrics_.Metrics:
        return self.jobs.metrics

    @classmethod
    async def create(cls, configuration: client.Configuration) -> Services:
        current = settings_.Settings.from_env(os.environ)
        keyfiles.configure(current.key_dir)
        keyfiles.remove_leftovers()
        api = client.ApiClient(configuration=configuration)
        core = client.CoreV1Api(api)
        readers = impersonation.SecretReaders(configuration, core)
        proposals = ProposalStore(api)
        metrics = metrics_.Metrics()
        oci_session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        oci_client = oci.OciClient(oci_session)
        fetcher = charts.ChartFetcher(oci_client, timeout=current.fetch_timeout_seconds)
        context = publishing.Context(
            api=api,
            readers=readers,
            proposals=proposals,
            workspace=repos.Workspace(current.cache_dir / "git", allow_file_urls=current.allow_file_git_urls),
            metrics=metrics,
            risk=risking.Assessor(fetcher, readers, risking.ClusterVersion(api).get),
            cluster_name=current.cluster_name,
        )

        async def process(job: worker.Job) -> None:
            await processing.process(context, job)

        async def process_batch(jobs: list[worker.Job]) -> None:
            await processing.process_batch(context, jobs)

        return cls(
            settings=current,
            core=core,
            fetcher=helm_http.IndexFetcher(
                max_bytes=current.max_index_bytes,
                timeout=current.fetch_timeout_seconds,
                concurrency=current.fetch_concurrency,
            ),
            jobs=context,
            workers=worker.WorkerPool(process, on_drained=context.drained, batch=process_batch),
            oci_session=oci_session,
            oci=oci_client,
            charts=fetcher,
        )

    @property
    def cycle_deps(self) -> handling.Deps:
        """The few of these a check cycle uses (`cycles.handling.handle`)."""
        return handling.Deps(self.settings, self.api, self.readers, self.proposals, self.fetcher, self.oci)

    async def start_servers(self) -> None:
        """Start the metrics endpoint and the webhook receiver when their ports are set (0 = off)."""
        if self.settings.metrics_port:
            await self.metrics.start_server(self.settings.metrics_port)
        if self.settings.webhook_port:
            self.receiver = webhooks.Receiver(
                secret_provider=self._webhook_secret, trigger=self.triggers.push, trigger_config=self.triggers.config
            )
            await self.receiver.start(self.settings.webhook_port)

    async def _webhook_secret(self) -> bytes:
        data = await secrets.read_secret(self.core, self.settings.namespace, self.settings.webhook_secret)
        return data.require("token")

    async def close(self) -> None:
        if self.receiver is not None:
            await self.receiver.stop()
        await self.workers.close()
        await self.metrics.stop()
        await self.fetcher.close()
        await self.charts.close()
        await self.oci_session.close()
        await self.readers.close()
        await self.api.close()
        keyfiles.end_session()
