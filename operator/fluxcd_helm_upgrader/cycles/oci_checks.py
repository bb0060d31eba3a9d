"""The OCI side of one check cycle: registry credentials, tag lists and digests, each asked for once.

Called by `cycles.running` for every `resolving.OciChart`. Within one cycle:
- credentials are read once per (Secret, registry) from the source's spec.secretRef (Flux's formats, via
  `sources.oci.registry_creds_from_secret`); no secretRef means anonymous (a token flow may still hand out an
  anonymous pull token); credentials for an `insecure` (plain http) registry that is not on loopback fail the
  release with HttpsRequired before any request;
- the tag list is fetched once per (registry repository, credentials), however many releases use it;
- a new tag's manifest digest is fetched once per (repository, credentials, tag);
- at most `concurrency` registry requests run at once (an asyncio.Semaphore, like the HTTP fetcher's).

Concurrent callers of the same key share one task. Errors become `CheckError(reason, message)`; the caller turns
them into a Failure of the releases that needed that answer only. Messages never carry credentials.

`client_for_cycle` gives `running.run` an OCI client when the operator did not pass a long-lived one: a session
for the cycle only (tokens are then cached per cycle, not across cycles).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from fluxcd_helm_upgrader.checking import oci_tags
from fluxcd_helm_upgrader.cycles.resolving import OciChart
from fluxcd_helm_upgrader.sources import oci, secrets
from fluxcd_helm_upgrader.status import reasons
from fluxcd_helm_upgrader.structs import urls

K = TypeVar("K")
V = TypeVar("V")
DEFAULT_CONCURRENCY = 8


class CheckError(Exception):
    """A registry question could not be answered; `reason` is a status.reasons constant."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class TagList:
    """The chart versions of one OCI repository (ascending) and how many tags were not versions."""

    versions: tuple[oci_tags.TaggedVersion, ...]
    ignored: int

    def tag_of(self, version: str) -> str:
        """The tag that carries `version` (Helm writes "+" as "_")."""
        for tagged in self.versions:
            if tagged.version == version:
                return tagged.tag
        return oci_tags.version_to_tag(version)


CredsKey = tuple[str, str, str]  # (secret namespace, secret name, registry)
# appVersion per (chart repository, tag), for PR bodies: a pushed chart version does not change, so this outlives
# cycles; bounded so a fleet with many charts keeps a small, fixed memory.
_APP_VERSIONS: collections.OrderedDict[tuple[str, str], str | None] = collections.OrderedDict()
_APP_VERSIONS_KEPT = 2048
# Release time per (chart repository, tag), for policy.minimumReleaseAge: read once, bounded like appVersions.
_CREATED: collections.OrderedDict[tuple[str, str], str | None] = collections.OrderedDict()
RepoKey = tuple[oci.OciRef, oci.RegistryCreds | None]


class OciChecks:
    """Answers for one cycle; create one per cycle (answers are not reused across cycles)."""

    def __init__(
        self, client: oci.OciClient, secrets_api: secrets.SecretsApi, *, concurrency: int = DEFAULT_CONCURRENCY
    ) -> None:
        self._client = client
        self._secrets = secrets_api
        self._limit = asyncio.Semaphore(concurrency)
        self._creds: dict[CredsKey, asyncio.Task[oci.RegistryCreds | None]] = {}
        self._tags: dict[RepoKey, asyncio.Task[TagList]] = {}
        self._digests: dict[tuple[oci.OciRef, oci.RegistryCreds | None, str], asyncio.Task[str]] = {}

    @property
    def tag_lists_fetched(self) -> int:
        """How many tag lists this cycle asked the registries for (one per repository and credentials)."""
        return len(self._tags)

    async def creds(self, target: OciChart) -> oci.RegistryCreds | None:
        if target.secret is None:
            return None
        key = (*target.secret, target.ref.registry)
        found = await _once(self._creds, key, lambda: self._read_creds(target))
        if found is not None and urls.sends_in_clear(target.ref.base_url):
            # An `insecure` (plain http) registry on another host: the credentials would cross the network in clear.
            raise CheckError(reasons.HTTPS_REQUIRED, urls.https_required(str(target.ref), target.ref.base_url))
        return found

    async def tags(self, target: OciChart) -> TagList:
        creds = await self.creds(target)
        return await _once(self._tags, (target.ref, creds), lambda: self._list(target.ref, creds))

    async def digest(self, target: OciChart, tag: str) -> str:
        creds = await self.creds(target)
        return await _once(self._digests, (target.ref, creds, tag), lambda: self._digest(target.ref, creds, tag))

    async def app_version(self, target: OciChart, tag: str) -> str | None:
        """The chart's appVersion at `tag` (from its config blob, or Chart.yaml in the layer); None when the
        registry cannot say. Only asked for proposals: the PR body shows the appVersion change."""

        async def read(creds: oci.RegistryCreds | None) -> str | None:
            value = (await self._client.chart_metadata(target.ref, tag, creds)).get("appVersion")
            # A scalar of sane length only: Chart.yaml is the chart author's, and the value lands in the PR body.
            return str(value)[:128] if isinstance(value, str | int | float) else None

        return await self._remembered(_APP_VERSIONS, target, tag, read)  # None never holds a proposal back

    async def created(self, target: OciChart, tag: str) -> str | None:
        """When the chart at `tag` was pushed (its `org.opencontainers.image.created`); None when the registry
        cannot say (minimumReleaseAge then holds the version back). Asked only while that policy is set."""
        return await self._remembered(_CREATED, target, tag, lambda creds: self._client.created(target.ref, tag, creds))

    async def _remembered(
        self,
        cache: collections.OrderedDict[tuple[str, str], str | None],
        target: OciChart,
        tag: str,
        read: Callable[[oci.RegistryCreds | None], Awaitable[str | None]],
    ) -> str | None:
        """A per-tag fact from the registry, kept across cycles (a pushed tag does not change); a failed read is
        None and is not remembered, so a registry hiccup costs one answer, not every later one."""
        key = (str(target.ref), tag)
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        try:
            creds = await self.creds(target)
            async with self._limit:
                value = await read(creds)
        except (CheckError, oci.RegistryError):
            return None
        cache[key] = value
        while len(cache) > _APP_VERSIONS_KEPT:
            cache.popitem(last=False)
        return value

    async def _read_creds(self, target: OciChart) -> oci.RegistryCreds | None:
        assert target.secret is not None
        namespace, name = target.secret
        try:
            data = await secrets.read_secret(self._secrets, namespace, name)
            return oci.registry_creds_from_secret(data.data, target.ref.registry)
        except secrets.SourceAuthError as error:  # Forbidden: the config's ServiceAccount may not read it
            forbidden = isinstance(error, secrets.SecretForbidden)
            raise CheckError(reasons.FORBIDDEN if forbidden else reasons.AUTH_FAILED, str(error)) from None
        except oci.RegistryError as error:  # a malformed docker config; the message names the key only
            raise CheckError(reasons.AUTH_FAILED, f"secret {namespace}/{name}: {error.message}") from None

    async def _list(self, ref: oci.OciRef, creds: oci.RegistryCreds | None) -> TagList:
        async with self._limit:
            try:
                tags = await self._client.list_tags(ref, creds)
            except oci.RegistryError as error:
                raise _failure(error) from None
        versions, ignored = oci_tags.tags_to_versions(tags)
        if not versions:
            raise CheckError(
                reasons.CHART_NOT_FOUND, f"{ref}: no chart versions among {len(tags)} tag(s) ({ignored} not semver)"
            )
        return TagList(tuple(versions), ignored)

    async def _digest(self, ref: oci.OciRef, creds: oci.RegistryCreds | None, tag: str) -> str:
        async with self._limit:
            try:
                return await self._client.manifest_digest(ref, tag, creds)
            except oci.RegistryError as error:
                raise _failure(error) from None


def _failure(error: oci.RegistryError) -> CheckError:
    if error.status in (401, 403):
        return CheckError(reasons.AUTH_FAILED, error.message)
    if error.status == 404:
        return CheckError(reasons.CHART_NOT_FOUND, error.message)
    return CheckError(reasons.FETCH_FAILED, error.message)


async def _once(cache: dict[K, asyncio.Task[V]], key: K, make: Callable[[], Coroutine[Any, Any, V]]) -> V:
    """Await the one task for `key`, starting it on first use; every caller sees the same result or error."""
    task = cache.get(key)
    if task is None:
        task = cache[key] = asyncio.create_task(make())
    # shield: one caller being cancelled must not cancel the answer the others wait for
    return await asyncio.shield(task)


@contextlib.asynccontextmanager
async def client_for_cycle(client: oci.OciClient | None, needed: bool) -> AsyncIterator[oci.OciClient | None]:
    """`client` when given; else, when OCI sources are in scope, a client whose session lives for the block."""
    if client is not None or not needed:
        yield client
        return
    async with aiohttp.ClientSession() as session:
        yield oci.OciClient(session)
