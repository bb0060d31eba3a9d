"""The emulator's object store: one global resourceVersion, write rules, a bounded event history.

`emulator.server` calls the verbs (create/get/list/replace/patch/delete); `emulator.watching`
subscribes to events. Every method is synchronous and never awaits, so "subscribe, then take the
snapshot" is atomic in the event loop and no watch can miss an event. Stored dicts are never
mutated after they are stored: history entries and watchers share them without copying, which
keeps 1,000 creates well under a second.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fluxcd_helm_upgrader.testkit.emulator import errors, objects, patching, schema
from fluxcd_helm_upgrader.testkit.emulator.resources import CRD_GROUP, Catalogue, Resource

Key = tuple[str | None, str]  # (namespace or None, name)
GroupPlural = tuple[str, str]
NAMESPACES: GroupPlural = ("", "namespaces")
CRDS: GroupPlural = (CRD_GROUP, "customresourcedefinitions")


GENERATE_NAME_RETRIES = 7  # kube-apiserver's retries of a taken generated name (KEP-4420)


@dataclass
class FieldValidation:
    """A write's `?fieldValidation=` directive (Warn when absent, as on kube-apiserver) and the warnings it earned."""

    directive: str = "Warn"
    patch: bool = False
    warnings: list[str] = dataclasses.field(default_factory=list)

    def check(self, resource: Resource, unknown: list[str]) -> None:
        """Strict: reject the write; Warn: remember one warning per unknown field; Ignore: nothing."""
        if not unknown or self.directive == "Ignore":
            return
        if self.directive == "Strict":
            raise schema.strict_error(resource.kind, resource.version, unknown, patch=self.patch)
        self.warnings.extend(f'unknown field "{path}"' for path in unknown)


@dataclass(frozen=True)
class WatchEvent:
    """One stored change; `old` is the previous state (for selector transitions in watches)."""

    rv: int
    type: str
    group_plural: GroupPlural
    obj: dict[str, Any]
    old: dict[str, Any] | None


class Store:
    """In-memory objects of every resource, keyed by (group, plural) then (namespace, name)."""

    def __init__(self, catalogue: Catalogue, *, history: int = 10_000, auto_namespaces: bool = True) -> None:
        self.catalogue = catalogue
        self.auto_namespaces = auto_namespaces
        self.rv = 0
        self.history: collections.deque[WatchEvent] = collections.deque(maxlen=history)
        self.compacted_rv = 0  # the newest resourceVersion no longer in `history`
        self._objects: dict[GroupPlural, dict[Key, dict[str, Any]]] = collections.defaultdict(dict)
        self._subscribers: dict[GroupPlural, set[asyncio.Queue[WatchEvent | None]]] = collections.defaultdict(set)
        self.on_crd: Callable[[dict[str, Any] | None, dict[str, Any]], None] | None = None

    # Events and subscriptions.

    def _emit(self, event_type: str, resource: Resource, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if self.history.maxlen and len(self.history) == self.history.maxlen:
            self.compacted_rv = self.history[0].rv
        event = WatchEvent(self.rv, event_type, resource.group_plural, obj, old)
        self.history.append(event)
        for queue in self._subscribers.get(resource.group_plural, ()):
            queue.put_nowait(event)

    def subscribe(self, group_plural: GroupPlural) -> asyncio.Queue[WatchEvent | None]:
        queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._subscribers[group_plural].add(queue)
        return queue

    def unsubscribe(self, group_plural: GroupPlural, queue: asyncio.Queue[WatchEvent | None]) -> None:
        self._subscribers[group_plural].discard(queue)

    def close_subscriptions(self) -> None:
        """Wake every watcher with the end-of-stream sentinel (server shutdown)."""
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(None)

    def events_after(self, group_plural: GroupPlural, rv: int) -> list[WatchEvent]:
        """Kept events newer than `rv`; 410 Gone when events after `rv` were already dropped."""
        if rv < self.compacted_rv:
            raise errors.gone(f"too old resource version: {rv} ({self.compacted_rv + 1})")
        return [event for event in self.history if event.rv > rv and event.group_plural == group_plural]

    # Reads.

    def _bucket(self, resource: Resource) -> dict[Key, dict[str, Any]]:
        return self._objects[resource.group_plural]

    def _key(self, resource: Resource, namespace: str | None, name: str) -> Key:
        return (namespace if resource.namespaced else None, name)

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self._bucket(resource).get(self._key(resource, namespace, name))
        if obj is None:
            raise errors.not_found(resource.plural, resource.group, name)
        return objects.served_as(resource, obj)

    def select(
        self,
        resource: Resource,
        namespace: str | None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Objects in one namespace, or everywhere when `namespace` is None; sorted like etcd keys."""
        items = [
            objects.served_as(resource, obj)
            for (ns, _), obj in sorted(self._bucket(resource).items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
            if namespace is None or ns == namespace
        ]
        return [obj for obj in items if predicate is None or predicate(obj)]

    def tally(
        self, resource: Resource, namespace: str | None, key: Callable[[Mapping[str, Any]], str]
    ) -> collections.Counter[str]:
        """How many stored objects give each value of `key`: no copy, no sort (a probe polls it)."""
        return collections.Counter(
            key(obj) for (ns, _), obj in self._bucket(resource).items() if namespace is None or ns == namespace
        )

    # Writes.

    def _store(self, resource: Resource, obj: dict[str, Any], event_type: str, old: dict[str, Any] | None) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        key = self._key(resource, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if event_type == "DELETED":
            self._bucket(resource).pop(key, None)
        else:
            self._bucket(resource)[key] = obj
        self._emit(event_type, resource, obj, old)
        if resource.group_plural == CRDS and self.on_crd is not None:
            self.on_crd(None if event_type == "DELETED" else obj, old or obj)

    def _ensure_namespace(self, namespace: str) -> None:
        if (None, namespace) in self._objects[NAMESPACES]:
            return
        if not self.auto_namespaces:
            raise errors.not_found("namespaces", "", namespace)
        self.create(self.catalogue.find("namespaces"), None, {"metadata": {"name": namespace}})

    def _prepare(
        self, resource: Resource, obj: dict[str, Any], validation: FieldValidation | None = None
    ) -> dict[str, Any]:
        if resource.group_plural == CRDS:
            Catalogue(()).add_crd(obj)  # raises 400 on a malformed CRD before it is stored
        unknown: list[str] = []
        prepared = schema.prepare(resource.kind, resource.group, resource.schema, obj, unknown)
        if validation is not None:
            validation.check(resource, unknown)
        return prepared

    def create(
        self, resource: Resource, namespace: str | None, body: Any, validation: FieldValidation | None = None
    ) -> dict[str, Any]:
        obj = objects.new_object(resource, namespace, body)
        name = obj["metadata"]["name"]
        if resource.namespaced:
            if not namespace:
                raise errors.bad_request("the namespace of the object must be set on the request URL")
            self._ensure_namespace(namespace)
        # A generated name that is taken is drawn again, up to 7 times, as kube-apiserver does since
        # RetryGenerateName (GA in v1.32): with 13,000 of Kopf's events in one namespace, a 5-letter suffix collides.
        generated = not (isinstance(body, dict) and (body.get("metadata") or {}).get("name"))
        for _ in range(GENERATE_NAME_RETRIES if generated else 0):
            if self._key(resource, namespace, name) not in self._bucket(resource):
                break
            name = obj["metadata"]["name"] = objects.generated_name(obj["metadata"]["generateName"])
        if self._key(resource, namespace, name) in self._bucket(resource):
            raise errors.already_exists(resource.plural, resource.group, name)
        self._store(resource, self._prepare(resource, obj, validation), "ADDED", None)
        return obj

    def put(self, resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        """Seed or overwrite an object as-is (status included), bypassing the HTTP write rules."""
        obj = copy.deepcopy(obj)
        metadata = obj.setdefault("metadata", {})
        namespace = (metadata.get("namespace") or "default") if resource.namespaced else None
        if namespace:
            metadata["namespace"] = namespace  # like kubectl: no namespace means "default"
        old = self._bucket(resource).get(self._key(resource, namespace, metadata["name"]))
        if old is None:
            fresh = objects.new_object(resource, namespace, {**obj, "status": None})
            metadata.update({k: v for k, v in fresh["metadata"].items() if k not in metadata})
            obj.update({"kind": fresh["kind"], "apiVersion": fresh["apiVersion"]})
            if resource.namespaced and namespace:
                self._ensure_namespace(namespace)
        else:
            for field in ("uid", "creationTimestamp", "generation"):
                metadata.setdefault(field, objects.meta(old).get(field))
        # Seeded objects are defaulted, pruned and validated like written ones (status included): a test object
        # a real API server would refuse must fail here too, not only on the real-server tier.
        obj = self._prepare(resource, obj)
        self._store(resource, obj, "ADDED" if old is None else "MODIFIED", old)
        return obj

    def _update(
        self,
        resource: Resource,
        old: dict[str, Any],
        candidate: Any,
        subresource: str | None,
        validation: FieldValidation | None = None,
    ) -> dict[str, Any]:
        given_rv = objects.meta(candidate).get("resourceVersion") if isinstance(candidate, dict) else None
        if given_rv and given_rv != objects.meta(old).get("resourceVersion"):
            raise errors.conflict(resource.plural, resource.group, objects.meta(old).get("name", ""))
        new = objects.updated_object(resource, old, candidate, subresource)
        new = self._prepare(resource, new, validation)
        if resource.custom and objects.generation_fields(resource, old) == objects.generation_fields(resource, new):
            new["metadata"]["generation"] = objects.meta(old).get("generation")  # pruned fields are no change
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return old  # a no-op write: no new resourceVersion, no watch event (like etcd)
        new_meta = new["metadata"]
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            self._store(resource, new, "DELETED", old)
            self._collect_garbage(new_meta["uid"])
        else:
            self._store(resource, new, "MODIFIED", old)
        return new

    def _existing(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        old = self._bucket(resource).get(self._key(resource, namespace, name))
        if old is None:
            raise errors.not_found(resource.plural, resource.group, name)
        return old

    def replace(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        body: Any,
        subresource: str | None = None,
        validation: FieldValidation | None = None,
    ) -> dict[str, Any]:
        old = self._existing(resource, namespace, name)
        return objects.served_as(resource, self._update(resource, old, body, subresource, validation))

    def patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        content_type: str,
        body: Any,
        subresource: str | None = None,
        validation: FieldValidation | None = None,
    ) -> dict[str, Any]:
        if content_type not in patching.accepted_types(resource.custom):
            raise errors.unsupported_media_type(content_type, patching.accepted_types(resource.custom))
        old = self._existing(resource, namespace, name)
        if content_type == patching.JSON:
            candidate = patching.json_patch(old, body)
        else:  # merge patch; strategic merge patch on built-ins, without per-field list strategies
            if not isinstance(body, dict):
                raise errors.bad_request("a merge patch must be a JSON object")
            candidate = patching.merge_patch(old, body)
        return objects.served_as(resource, self._update(resource, old, candidate, subresource, validation))

    def delete(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any]:
        old = self._existing(resource, namespace, name)
        old_meta = objects.meta(old)
        if old_meta.get("finalizers"):
            if old_meta.get("deletionTimestamp"):
                return objects.served_as(resource, old)
            new = copy.deepcopy(old)
            new["metadata"]["deletionTimestamp"] = objects.now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            if resource.custom:
                new["metadata"]["generation"] = int(old_meta.get("generation") or 1) + 1
            self._store(resource, new, "MODIFIED", old)
            return objects.served_as(resource, new)
        if resource.group_plural == NAMESPACES:
            self._empty_namespace(name)
        gone = copy.deepcopy(old)
        self._store(resource, gone, "DELETED", old)
        self._collect_garbage(old_meta.get("uid"))
        return objects.served_as(resource, gone)

    def delete_collection(
        self, resource: Resource, namespace: str | None, predicate: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        return [
            self.delete(resource, objects.meta(obj).get("namespace"), objects.meta(obj)["name"])
            for obj in self.select(resource, namespace, predicate)
        ]

    def purge(self, group_plural: GroupPlural) -> None:
        """Drop every object of a kind at once, finalizers or not (its CRD was deleted)."""
        resource = next((r for r in self.catalogue.all() if r.group_plural == group_plural), None)
        if resource is not None:
            for old in list(self._bucket(resource).values()):
                self._store(resource, copy.deepcopy(old), "DELETED", old)

    def _empty_namespace(self, namespace: str) -> None:
        """A much faster namespace controller: deletes the namespace's content at once."""
        for resource in {r.group_plural: r for r in self.catalogue.all() if r.namespaced}.values():
            for obj in self.select(resource, namespace):
                self.delete(resource, namespace, obj["metadata"]["name"])

    def _collect_garbage(self, owner_uid: str | None) -> None:
        """Background cascading deletion of dependents whose owners are all gone."""
        if not owner_uid:
            return
        live_uids = {objects.meta(o).get("uid") for bucket in self._objects.values() for o in bucket.values()}
        for resource in {r.group_plural: r for r in self.catalogue.all()}.values():
            for obj in list(self._bucket(resource).values()):
                owners = {ref.get("uid") for ref in objects.meta(obj).get("ownerReferences") or []}
                if owner_uid in owners and not owners & live_uids:
                    self.delete(resource, objects.meta(obj).get("namespace"), objects.meta(obj)["name"])
