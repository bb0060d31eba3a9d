"""Watch streams (`?watch=true`): newline-delimited JSON events, resumable by resourceVersion.

Called by `emulator.server` for list URLs with `watch` set. The subscription to the store is taken
before the initial snapshot (no missed events). Without `resourceVersion` (or with "0") the stream
opens with a synthetic ADDED per existing object; with `resourceVersion=N` it replays only kept
events newer than N, or sends one ERROR event with a 410 Gone Status when N is older than the kept
history. Selector transitions follow the watch cache: an object that stops matching is sent as
DELETED, one that starts matching as ADDED.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from fluxcd_helm_upgrader.testkit.emulator import errors, objects
from fluxcd_helm_upgrader.testkit.emulator.resources import Resource
from fluxcd_helm_upgrader.testkit.emulator.store import Store, WatchEvent

Predicate = Callable[[dict[str, Any]], bool]


def is_watch(value: str | None) -> bool:
    """`true`, `1` and kubernetes_asyncio's `True` all mean watch; `false`/`0`/absent do not."""
    return value is not None and value.lower() in ("true", "1")


def translate(event: WatchEvent, predicate: Predicate) -> str | None:
    """The event type this watcher sees for a store event, or None when it is not for them."""
    now_matches = predicate(event.obj)
    was_matching = event.old is not None and predicate(event.old)
    if event.type == "ADDED":
        return "ADDED" if now_matches else None
    if event.type == "DELETED":
        return "DELETED" if now_matches or was_matching else None
    if now_matches:
        return "MODIFIED" if was_matching else "ADDED"
    return "DELETED" if was_matching else None


Present = Callable[[list[dict[str, Any]], str], dict[str, Any]]


def _line(event_type: str, obj: dict[str, Any], present: Present | None = None) -> bytes:
    if present is not None and event_type in ("ADDED", "MODIFIED", "DELETED"):
        obj = present([obj], str((obj.get("metadata") or {}).get("resourceVersion", "")))
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


async def serve(
    request: web.Request,
    store: Store,
    resource: Resource,
    predicate: Predicate,
    bookmark_interval: float,
    present: Present | None = None,
) -> web.StreamResponse:
    """Stream events for one resource until timeoutSeconds, client disconnect or server stop.

    `present` turns each object into what the client negotiated (a one-row Table for `kubectl get -w`);
    BOOKMARK and ERROR events are never transformed, as on the real server."""
    params = request.query
    queue = store.subscribe(resource.group_plural)
    try:
        initial: list[bytes] = []
        raw_rv = params.get("resourceVersion", "")
        if raw_rv in ("", "0"):
            last_rv = store.rv
            initial = [_line("ADDED", obj, present) for obj in store.select(resource, None, predicate)]
        else:
            if not raw_rv.isdigit():
                raise errors.bad_request(f"invalid resource version: {raw_rv!r}")
            last_rv = int(raw_rv)
            try:
                for event in store.events_after(resource.group_plural, last_rv):
                    seen = translate(event, predicate)
                    if seen is not None:
                        initial.append(_line(seen, objects.served_as(resource, event.obj), present))
                    last_rv = event.rv
            except errors.ApiError as exc:
                initial, last_rv = [_line("ERROR", exc.status())], -1
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for line in initial:
            await response.write(line)
        if last_rv < 0:  # the 410 case: the client must re-list
            return response
        await _stream(
            request,
            response,
            store,
            queue,
            resource,
            predicate,
            last_rv,
            _timeout(params.get("timeoutSeconds")),
            bookmark_interval if is_watch(params.get("allowWatchBookmarks")) else None,
            present,
        )
        return response
    finally:
        store.unsubscribe(resource.group_plural, queue)


def _timeout(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        raise errors.bad_request(f"invalid timeoutSeconds: {raw!r}") from None


async def _stream(
    request: web.Request,
    response: web.StreamResponse,
    store: Store,
    queue: asyncio.Queue[WatchEvent | None],
    resource: Resource,
    predicate: Predicate,
    last_rv: int,
    lifetime: float | None,
    bookmarks: float | None,
    present: Present | None,
) -> None:
    transport = request.transport
    deadline = None if lifetime is None else time.monotonic() + lifetime
    try:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            # Wake up at least every few seconds to notice clients that disconnected while idle.
            wait = min(x for x in (remaining, bookmarks, 2.0) if x is not None)
            try:
                event = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:
                if transport is None or transport.is_closing():
                    return
                if bookmarks is not None and queue.empty():
                    # All events up to store.rv for this resource were already delivered.
                    last_rv = max(last_rv, store.rv)
                    await response.write(
                        _line(
                            "BOOKMARK",
                            {
                                "kind": resource.kind,
                                "apiVersion": resource.api_version,
                                "metadata": {"resourceVersion": str(last_rv)},
                            },
                        )
                    )
                continue
            if event is None:  # the server is stopping
                return
            if event.rv <= last_rv:
                continue  # already sent from the history replay
            last_rv = event.rv
            seen = translate(event, predicate)
            if seen is not None:
                await response.write(_line(seen, objects.served_as(resource, event.obj), present))
    except ConnectionResetError:
        return  # the client went away: nothing left to stream to
