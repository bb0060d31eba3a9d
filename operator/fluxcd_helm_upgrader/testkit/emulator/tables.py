"""Server-side printing: objects as `meta.k8s.io` Tables, the way kube-apiserver answers `kubectl get`.

`emulator.server` calls `table()` when a GET (or a watch event) negotiated `as=Table` (see
`emulator.negotiation`). Custom resources get the CRD version's `additionalPrinterColumns` exactly as
apiextensions-apiserver's tableconvertor builds them: a `Name` column first, then each declared
column with its type, format, description and priority; a version without columns gets the default
`Age` column. Cells follow the tableconvertor: a `string` column prints the JSONPath result as
client-go's jsonpath does, `integer`/`number`/`boolean` keep JSON values of that type, `date` is the
human-readable age of an RFC 3339 timestamp, and a missing field is a null cell (kubectl: `<none>`).
Built-in kinds get the columns of kube-apiserver's printers (Namespace: Status; Secret: Type, Data;
ConfigMap: Data; ServiceAccount: Secrets; Lease: Holder; Event: Last Seen ... Message); a
CustomResourceDefinition gets the default convertor's `Name`, `Created At`. `includeObject`
(`Metadata` by default, `Object`, `None`) decides what each row carries, as in the real server.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fluxcd_helm_upgrader.checking import scheduling
from fluxcd_helm_upgrader.testkit.emulator import errors, jsonpath
from fluxcd_helm_upgrader.testkit.emulator.resources import Resource

NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
    "for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It "
    "is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More "
    "info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
INCLUDE_OBJECT = ("Metadata", "Object", "None")
Cell = Callable[[Mapping[str, Any], datetime.datetime], Any]


def column(
    name: str, type_: str = "string", description: str = "", *, fmt: str = "", priority: int = 0
) -> dict[str, Any]:
    """A TableColumnDefinition as JSON (every field present, as Go's encoder writes it)."""
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


NAME_COLUMN = column("Name", "string", NAME_DOC, fmt="name")


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery duration.HumanDuration: what `AGE` shows (`45s`, `3m12s`, `5h`, `12d`)."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _timestamp(value: Any) -> datetime.datetime | None:
    return scheduling.parse_time(value) if isinstance(value, str) else None


def age(value: Any, now: datetime.datetime) -> str:
    """metatable.ConvertToHumanReadableDateType: `<unknown>` without a timestamp."""
    when = _timestamp(value)
    return "<unknown>" if when is None else human_duration((now - when).total_seconds())


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def _json_cell(type_: str, value: Any) -> Any:
    """tableconvertor.cellForJSONValue for the non-string column types."""
    if type_ == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if type_ == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if type_ == "boolean" and isinstance(value, bool):
        return value
    if type_ == "string" and isinstance(value, str):
        return value
    return None


def _custom_cell(json_path: str, type_: str) -> Cell:
    try:
        path: jsonpath.Compiled | None = jsonpath.parse(json_path)
    except jsonpath.JsonPathError:
        path = None  # the real server then serves only the Name column's convertor; keep the column empty

    def cell(obj: Mapping[str, Any], now: datetime.datetime) -> Any:
        if path is None:
            return None
        try:
            found = path.find(obj)
        except jsonpath.JsonPathError:
            return None
        if not found:
            return None
        value = found[0]
        if type_ == "string":
            return jsonpath.text(value)
        if type_ == "date":
            if value is None:
                return None
            return age(value, now) if _timestamp(value) else "<invalid>"
        return _json_cell(type_, value)

    return cell


@functools.lru_cache(maxsize=64)
def _crd_columns(columns: tuple[tuple[str, str, str, str, str, int], ...]) -> tuple[list[dict[str, Any]], list[Cell]]:
    definitions, cells = [NAME_COLUMN], []
    for name, json_path, type_, fmt, description, priority in columns:
        description = description or f"Custom resource definition column (in JSONPath format): {json_path}"
        definitions.append(column(name, type_, description, fmt=fmt, priority=priority))
        cells.append(_custom_cell(json_path, type_))
    return definitions, cells


def _printer_columns(resource: Resource) -> tuple[tuple[str, str, str, str, str, int], ...]:
    declared = resource.printer_columns or (
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp", "description": CREATED_DOC},
    )
    return tuple(
        (
            str(c.get("name", "")),
            str(c.get("jsonPath", "")),
            str(c.get("type", "string")),
            str(c.get("format", "")),
            str(c.get("description", "")),
            int(c.get("priority", 0) or 0),
        )
        for c in declared
    )


def _created(obj: Mapping[str, Any], now: datetime.datetime) -> str:
    return age(_meta(obj).get("creationTimestamp"), now)


def _event_cells() -> tuple[list[dict[str, Any]], list[Cell]]:
    """kube-apiserver's Event printer with `Wide` on, as the server always prints (core/v1 and events.k8s.io/v1)."""

    def involved(obj: Mapping[str, Any]) -> Mapping[str, Any]:
        value = obj.get("involvedObject") or obj.get("regarding") or {}
        return value if isinstance(value, Mapping) else {}

    def source(obj: Mapping[str, Any]) -> Mapping[str, Any]:
        value = obj.get("source") or obj.get("deprecatedSource") or {}
        return value if isinstance(value, Mapping) else {}

    def first_seen(obj: Mapping[str, Any], now: datetime.datetime) -> str:
        return age(obj.get("firstTimestamp") or obj.get("deprecatedFirstTimestamp") or obj.get("eventTime"), now)

    def last_seen(obj: Mapping[str, Any], now: datetime.datetime) -> str:
        if isinstance(obj.get("series"), Mapping):
            return age(obj["series"].get("lastObservedTime"), now)
        last = obj.get("lastTimestamp") or obj.get("deprecatedLastTimestamp")
        return age(last, now) if last else first_seen(obj, now)

    def target(obj: Mapping[str, Any], _now: datetime.datetime) -> str:
        ref = involved(obj)
        kind = str(ref.get("kind") or "").lower()
        return f"{kind}/{ref['name']}" if ref.get("name") else kind

    def reporter(obj: Mapping[str, Any], _now: datetime.datetime) -> str:
        component = source(obj).get("component") or obj.get("reportingController") or ""
        instance = source(obj).get("host") or obj.get("reportingInstance") or ""
        return f"{component}, {instance}" if instance else str(component)

    def count(obj: Mapping[str, Any], _now: datetime.datetime) -> int:
        if isinstance(obj.get("series"), Mapping):
            return int(obj["series"].get("count") or 0)
        return int(obj.get("count") or obj.get("deprecatedCount") or 0) or 1

    definitions = [
        column("Last Seen", description="The time at which the most recent occurrence of this event was recorded."),
        column("Type", description="Type of this event (Normal, Warning), new types could be added in the future"),
        column("Reason", description="This should be a short, machine understandable string that gives the reason "
               "for the transition into the object's current status."),
        column("Object", description="The object that this event is about."),
        column("Subobject", priority=1, description="The specific part of the object the event is about."),
        column("Source", priority=1, description="The component reporting this event."),
        column("Message", description="A human-readable description of the status of this operation."),
        column("First Seen", priority=1, description="The time at which the event was first recorded."),
        column("Count", priority=1, description="The number of times this event has occurred."),
        column("Name", priority=1, description=NAME_DOC, fmt="name"),
    ]  # fmt: skip
    cells: list[Cell] = [
        last_seen,
        lambda obj, _now: obj.get("type", ""),
        lambda obj, _now: obj.get("reason", ""),
        target,
        lambda obj, _now: involved(obj).get("fieldPath", ""),
        reporter,
        lambda obj, _now: str(obj.get("message") or obj.get("note") or "").strip(),
        first_seen,
        count,
        lambda obj, _now: _meta(obj).get("name", ""),
    ]
    return definitions, cells


def _builtin_columns(resource: Resource) -> tuple[list[dict[str, Any]], list[Cell]]:
    age_column = column("Age", description=CREATED_DOC)
    named: dict[str, tuple[list[dict[str, Any]], list[Cell]]] = {
        "Namespace": (
            [column("Status", description="The status of the namespace"), age_column],
            [lambda obj, _now: (obj.get("status") or {}).get("phase", ""), _created],
        ),
        "Secret": (
            [
                column("Type", description="Used to facilitate programmatic handling of secret data."),
                column("Data", "string", "Data contains the secret data."),
                age_column,
            ],
            [
                lambda obj, _now: obj.get("type", ""),
                lambda obj, _now: len(obj.get("data") or {}),
                _created,
            ],
        ),
        "ConfigMap": (
            [column("Data", "string", "Data contains the configuration data."), age_column],
            [lambda obj, _now: len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _created],
        ),
        "ServiceAccount": (
            [column("Secrets", "string", "Secrets is a list of the secrets in the same namespace."), age_column],
            [lambda obj, _now: len(obj.get("secrets") or []), _created],
        ),
        "Lease": (
            [
                column("Holder", description="holderIdentity contains the identity of the holder of a current lease."),
                age_column,
            ],
            [lambda obj, _now: (obj.get("spec") or {}).get("holderIdentity", ""), _created],
        ),
        "CustomResourceDefinition": (
            [column("Created At", "date", CREATED_DOC)],
            [lambda obj, _now: _meta(obj).get("creationTimestamp")],
        ),
    }
    if resource.kind == "Event":
        return _event_cells()
    extra, cells = named.get(resource.kind, ([age_column], [_created]))
    return [NAME_COLUMN, *extra], [lambda obj, _now: _meta(obj).get("name", ""), *cells]


def columns_for(resource: Resource) -> tuple[list[dict[str, Any]], list[Cell]]:
    """(column definitions, one cell function per column) for one served resource."""
    if resource.custom:
        definitions, cells = _crd_columns(_printer_columns(resource))
        return definitions, [lambda obj, _now: _meta(obj).get("name", ""), *cells]
    return _builtin_columns(resource)


def _row_object(obj: dict[str, Any], include: str, table_version: str) -> dict[str, Any] | None:
    if include == "Object":
        return obj
    if include == "None":
        return None
    return {"kind": "PartialObjectMetadata", "apiVersion": table_version, "metadata": obj.get("metadata", {})}


def include_object(raw: str | None) -> str:
    """The `includeObject` query parameter, validated like metav1.TableOptions."""
    value = raw or "Metadata"
    if value not in INCLUDE_OBJECT:
        raise errors.bad_request(f'unrecognized includeObject value: "{value}"')
    return value


def table(
    resource: Resource,
    items: Iterable[dict[str, Any]],
    *,
    resource_version: str,
    table_version: str = "meta.k8s.io/v1",
    include: str = "Metadata",
    headers: bool = True,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """A `Table` of these objects of one resource (a list, or a single object's one row)."""
    now = now or datetime.datetime.now(datetime.UTC)
    definitions, cells = columns_for(resource)
    rows = [
        {"cells": [cell(obj, now) for cell in cells], "object": _row_object(obj, include, table_version)}
        for obj in items
    ]
    body: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": table_version,
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions if headers else None,
        "rows": rows,
    }
    return body


Presenter = Callable[[list[dict[str, Any]], str], dict[str, Any]]


def presenter(resource: Resource, table_version: str, include: str) -> Presenter:
    """A function (objects, resourceVersion) -> Table; each call after the first omits the column headers,
    as the real server does on a watch stream (kubectl reads the headers from the first event only)."""
    calls = 0

    def present(items: list[dict[str, Any]], resource_version: str) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return table(
            resource,
            items,
            resource_version=resource_version,
            table_version=table_version,
            include=include,
            headers=calls == 1,
        )

    return present
