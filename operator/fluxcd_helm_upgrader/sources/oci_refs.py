"""OCI artifact references: `oci://registry[:port]/path/name` as Flux writes them.

Called by `sources.oci` and by the version checker when it turns a Flux source into something to
query: a `HelmRepository` of `type: oci` names a *repository prefix* (`spec.url`) and the HelmRelease
names the chart, so the artifact path is `<url>/<chart>` (`chart_ref`); an `OCIRepository`'s
`spec.url` is already the full artifact path (`parse_ref`). Flux's `spec.insecure` means plain
http:// for the registry API.

Docker Hub quirk (documented, not exercised by tests: no internet here): the name users write is
`docker.io` (or `index.docker.io`), the API lives at `registry-1.docker.io`, and one-component
repositories live under `library/` (`oci://docker.io/nginx` is `library/nginx`). `registry` keeps
what the user wrote (`docker.io`), which is also what docker config files are keyed by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"

# distribution's reference grammar: lower-case path components joined by "/".
_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST_RE = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$"
)
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,}$")


class InvalidReference(ValueError):
    """The URL is not an `oci://` artifact reference we can query."""


@dataclass(frozen=True)
class OciRef:
    """One artifact repository in one registry, e.g. registry "ghcr.io", repository
    "stefanprodan/charts/podinfo"; `insecure` talks plain http to the registry."""

    registry: str
    repository: str
    insecure: bool = False

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry in (DOCKER_HUB, "index.docker.io") else self.registry

    @property
    def base_url(self) -> str:
        return f"{'http' if self.insecure else 'https'}://{self.api_host}"

    @property
    def pull_scope(self) -> str:
        return f"repository:{self.repository}:pull"

    def __str__(self) -> str:
        return f"oci://{self.registry}/{self.repository}"


def parse_ref(url: str, *, insecure: bool = False) -> OciRef:
    """The artifact at an OCIRepository `spec.url` (`oci://host[:port]/path/name`).

    Tags and digests belong in `spec.ref`, so a URL carrying one is rejected, as Flux does.
    """
    text = url.strip()
    if not text.startswith("oci://"):
        raise InvalidReference(f"not an oci:// URL: {text!r}")
    rest = text[len("oci://") :].rstrip("/")
    if any(ch in rest for ch in "?#@"):
        raise InvalidReference(f"an OCI source URL takes no query, digest or credentials: {text!r}")
    registry, sep, repository = rest.partition("/")
    registry = registry.lower()
    if not sep or not repository:
        raise InvalidReference(f"no repository path after the registry: {text!r}")
    if not _HOST_RE.match(registry):
        raise InvalidReference(f"bad registry host {registry!r} in {text!r}")
    components = repository.split("/")
    if ":" in components[-1]:
        raise InvalidReference(f"put the tag in spec.ref, not in the URL: {text!r}")
    for component in components:
        if not _COMPONENT_RE.match(component):
            raise InvalidReference(f"bad repository path component {component!r} in {text!r}")
    if registry in (DOCKER_HUB, "index.docker.io", DOCKER_HUB_API):
        registry = DOCKER_HUB
        if len(components) == 1:
            repository = f"library/{repository}"
    return OciRef(registry=registry, repository=repository, insecure=insecure)


def chart_ref(repository_url: str, chart: str, *, insecure: bool = False) -> OciRef:
    """The chart artifact for an OCI HelmRepository `spec.url` plus the HelmRelease's chart name."""
    if not chart.strip("/ "):
        raise InvalidReference(f"bad chart name {chart!r}")
    return parse_ref(f"{repository_url.strip().rstrip('/')}/{chart.strip().strip('/')}", insecure=insecure)


def check_reference(reference: str) -> str:
    """A tag or digest that is safe to put in a manifest URL; raises InvalidReference otherwise."""
    if TAG_RE.match(reference) or DIGEST_RE.match(reference):
        return reference
    raise InvalidReference(f"bad tag or digest {reference!r}")
