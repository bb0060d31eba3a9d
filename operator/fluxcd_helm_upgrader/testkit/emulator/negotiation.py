"""Content negotiation for GET and watch: plain JSON, or a `meta.k8s.io` Table (`kubectl get`).

`emulator.server` calls `negotiate()` with the request's Accept header. kubectl sends a list such as
`application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,
application/json`; like kube-apiserver, the first entry the server can produce wins (q-values are
ignored, as the apiserver's negotiator does), `*/*` and `application/*` mean JSON, and a header
that names only types the emulator cannot produce (protobuf, YAML, a Table of another group
version) answers 406 NotAcceptable.
"""

from __future__ import annotations

from dataclasses import dataclass

from fluxcd_helm_upgrader.testkit.emulator import errors

TABLE_VERSIONS = ("v1", "v1beta1")
JSON_TYPES = ("application/json", "application/*", "*/*")


@dataclass(frozen=True)
class Choice:
    """What to answer with: plain JSON (`table is None`) or a Table in `meta.k8s.io/<table>`."""

    table: str | None = None

    @property
    def table_api_version(self) -> str:
        return f"meta.k8s.io/{self.table}"


def parse(header: str) -> list[tuple[str, dict[str, str]]]:
    """`type/subtype;k=v;k=v, ...` into (media type, parameters) pairs, in order."""
    entries = []
    for raw in header.split(","):
        parts = [part.strip() for part in raw.split(";")]
        media = parts[0].lower()
        if not media:
            continue
        params = {}
        for part in parts[1:]:
            key, _, value = part.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        entries.append((media, params))
    return entries


def negotiate(header: str | None) -> Choice:
    """The first acceptable representation in the Accept header (JSON when there is none)."""
    if not header or not header.strip():
        return Choice()
    for media, params in parse(header):
        if media not in JSON_TYPES:
            continue
        wanted = params.get("as")
        if wanted is None:
            return Choice()
        if wanted == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in TABLE_VERSIONS:
            return Choice(table=params["v"])
    raise errors.ApiError(
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json, "
        "application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    )
