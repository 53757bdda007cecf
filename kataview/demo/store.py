"""The object store behind the API server double: objects, one global resourceVersion, a bounded
history of changes for watches and consistent pagination, and the watchers to notify.

Stored objects are the JSON form of list items (no kind/apiVersion, no managedFields). They are
never mutated in place: a change replaces the dict, so encoded bytes can be cached per object.
Every method is thread-safe (one lock); watchers are fed on the server's event loop.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import heapq
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

import msgspec

from .resources import BY_KIND, RESOURCES, Resource, resource_for

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
FREEZE_AT = 20_000  # objects; see load()


class Expired(Exception):
    """The requested resourceVersion is older than the history kept."""

    def __init__(self, requested: int, oldest: int):
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested, self.oldest = requested, oldest


@dataclass(slots=True)
class Change:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: Resource
    key: str
    obj: dict  # the object after the change (for DELETED: its last state, at the delete's RV)
    old: dict | None  # the object before the change
    # encoded watch lines, shared by every watcher: (event type, api version) -> bytes
    wire: dict | None = None


@dataclass(eq=False)
class Watcher:
    resource: Resource
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_key(resource: Resource, namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if resource.namespaced else name


def with_kind(resource: Resource, body: dict, version: str | None = None) -> dict:
    return {"kind": resource.kind, "apiVersion": resource.api_version(version), **body}


class ObjectStore:
    def __init__(self, objects: Iterable[dict] = (), history: int = 2000,
                 clock: Callable[[], datetime] = utc_now):
        self.clock = clock
        self._lock = threading.RLock()
        self._rv = 0
        self._objects: dict[str, dict[str, dict]] = {r.kind: {} for r in RESOURCES}
        self._encoded: dict[str, dict[str, tuple[dict, bytes]]] = {r.kind: {} for r in RESOURCES}
        # derived per-object values (the time-independent parts of Table rows), same rules
        self._derived: dict[str, dict[str, tuple[dict, object]]] = {r.kind: {} for r in RESOURCES}
        self._sorted: dict[str, list[str] | None] = {r.kind: [] for r in RESOURCES}
        self._history: deque[Change] = deque(maxlen=max(1, history))
        self._watchers: set[Watcher] = set()
        self._pending: list[Change] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_scheduled = False
        self.flushed_rv = 0  # every change up to here has reached the watchers' queues
        self.load(objects)

    # -- reading ---------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def compacted(self) -> int:
        """Changes with an RV at or below this one are no longer in the history."""
        return self._compacted

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        """A deep copy of one object, with kind and apiVersion, or None."""
        resource = resource_for(kind)
        with self._lock:
            body = self._objects[resource.kind].get(object_key(resource, namespace, name))
        return _copy(with_kind(resource, body)) if body is not None else None

    def keys(self, kind: str) -> list[str]:
        """The keys (namespace/name, or name) of a kind's objects, sorted."""
        resource = resource_for(kind)
        with self._lock:
            return list(self._keys(resource))

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        """Deep copies of the objects of a kind (in one namespace or all), in key order."""
        resource = resource_for(kind)
        with self._lock:
            keys = self._keys(resource)
            bodies = [self._objects[resource.kind][k] for k in keys]
        return [_copy(with_kind(resource, b)) for b in bodies
                if namespace is None or b["metadata"].get("namespace") == namespace]

    def count(self, kind: str) -> int:
        return len(self._objects[resource_for(kind).kind])

    def body(self, resource: Resource, key: str) -> dict | None:
        """The stored (shared, never mutated) body; for the server's own use."""
        return self._objects[resource.kind].get(key)

    def encoded(self, resource: Resource, key: str, body: dict) -> bytes:
        """JSON bytes of a list item, cached while the object is unchanged."""
        cache = self._encoded[resource.kind]
        entry = cache.get(key)
        if entry is not None and entry[0] is body:
            return entry[1]
        data = _encode(body)
        if self._objects[resource.kind].get(key) is body:
            cache[key] = (body, data)
        return data

    def derived(self, resource: Resource, items: Iterable[tuple[str, dict]],
                build: Callable[[dict], object]) -> list:
        """`build(body)` for each (key, body), cached like `encoded`: an entry serves only the
        very body it was built from (bodies are replaced, never mutated, on a change, and the
        change drops the entry); bodies that are not the current object (older states seen
        through a continue token) are built but not cached. One `build` per kind."""
        cache, objects = self._derived[resource.kind], self._objects[resource.kind]
        values = []
        for key, body in items:
            entry = cache.get(key)
            if entry is not None and entry[0] is body:
                values.append(entry[1])
                continue
            value = build(body)
            if objects.get(key) is body:
                cache[key] = (body, value)
            values.append(value)
        return values

    def derived_cache(self, kind: str) -> dict[str, object]:
        """What `derived` holds for `kind` now, by object key (a copy)."""
        with self._lock:
            return {key: value for key, (_body, value) in self._derived[kind].items()}

    # -- writing ---------------------------------------------------------------------------

    def load(self, objects: Iterable[dict]) -> None:
        """Bulk-load objects as the starting state: no history, no watch events."""
        with self._lock, gc_paused():
            for obj in objects:
                resource = BY_KIND[obj["kind"]]
                self._rv += 1
                body, key = self._normalize(resource, obj, None)
                self._objects[resource.kind][key] = body
                self._sorted[resource.kind] = None
            self._history.clear()
            self._compacted = self._rv
        if sum(len(objects) for objects in self._objects.values()) >= FREEZE_AT:
            gc.freeze()  # a big, long-lived heap: keep the cyclic GC from rescanning it

    def apply(self, obj: dict, *, owned: bool = False) -> dict:
        """Create or replace an object (keeps uid/creationTimestamp of the one replaced).
        The store keeps a copy: the caller may go on mutating `obj`. With `owned=True` the
        caller hands `obj` over (a fresh dict of JSON values whose nested parts nobody mutates,
        e.g. built from a stored body with {**body, ...}): no deep copy, which is what makes
        thousands of changes a second affordable."""
        if not owned:
            obj = _copy(obj)
        resource = BY_KIND[obj["kind"]]
        with self._lock:
            meta = obj.get("metadata") or {}
            key = object_key(resource, meta.get("namespace") or "default", meta["name"])
            old = self._objects[resource.kind].get(key)
            self._rv += 1
            body, key = self._normalize(resource, obj, old)
            self._commit(resource, key, body, old, "MODIFIED" if old is not None else "ADDED")
        return with_kind(resource, body)

    def delete(self, kind: str, namespace: str | None, name: str) -> dict | None:
        """Delete an object; returns its last state (with kind) or None when it did not exist."""
        resource = resource_for(kind)
        key = object_key(resource, namespace or "default", name)
        with self._lock:
            old = self._objects[resource.kind].get(key)
            if old is None:
                return None
            self._rv += 1
            last = {**old, "metadata": {**old["metadata"], "resourceVersion": str(self._rv)}}
            self._commit(resource, key, None, old, "DELETED", last)
        return with_kind(resource, last)

    def compact(self) -> None:
        """Forget the history: watches and continue tokens from before now get 410."""
        with self._lock:
            self._history.clear()
            self._compacted = self._rv

    def _normalize(self, resource: Resource, obj: dict, old: dict | None) -> tuple[dict, str]:
        body = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        meta = obj.get("metadata") or {}
        head: dict = {"name": meta.get("name")}
        if "generateName" in meta:
            head["generateName"] = None
        if resource.namespaced:
            head["namespace"] = None
        head["uid"] = head["resourceVersion"] = None
        if "generation" in meta:
            head["generation"] = None
        head["creationTimestamp"] = None
        head.update(meta)
        head.pop("managedFields", None)
        if resource.namespaced:
            head["namespace"] = meta.get("namespace") or "default"
        else:
            head.pop("namespace", None)
        if old is not None:
            head["uid"] = old["metadata"]["uid"]
            head["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        head["uid"] = head["uid"] or str(uuid.uuid4())
        head["creationTimestamp"] = head["creationTimestamp"] or timestamp(self.clock())
        head["resourceVersion"] = str(self._rv)
        body["metadata"] = head
        return body, object_key(resource, head.get("namespace"), head["name"])

    def _commit(self, resource: Resource, key: str, body: dict | None, old: dict | None,
                kind: str, last: dict | None = None) -> None:
        objects = self._objects[resource.kind]
        if body is None:
            del objects[key]
        else:
            objects[key] = body
        self._encoded[resource.kind].pop(key, None)
        self._derived[resource.kind].pop(key, None)
        if (old is None) != (body is None):
            self._sorted[resource.kind] = None
        if len(self._history) == self._history.maxlen:
            self._compacted = self._history[0].rv
        change = Change(self._rv, kind, resource, key, body if body is not None else last, old)
        self._history.append(change)
        if self._watchers:
            self._pending.append(change)
            self._schedule_flush()

    # -- watching --------------------------------------------------------------------------

    def bind_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop

    def subscribe(self, resource: Resource,
                  since: int | None) -> tuple[Watcher, list[Change], int]:
        """Register a watcher; returns it, the backlog to send first and the RV the backlog
        reaches (queued changes at or below it are duplicates).

        `since=None`: ADDED for every current object. Otherwise the changes after `since`,
        or Expired when the history no longer reaches back that far."""
        with self._lock:
            if since is not None and since < self._compacted:
                raise Expired(since, self._compacted)
            watcher = Watcher(resource)
            self._watchers.add(watcher)
            if since is None:
                objects = self._objects[resource.kind]
                backlog = [Change(int(objects[k]["metadata"]["resourceVersion"]), "ADDED",
                                  resource, k, objects[k], None) for k in self._keys(resource)]
            else:
                backlog = [c for c in self._history if c.rv > since and c.resource is resource]
            return watcher, backlog, self._rv

    def unsubscribe(self, watcher: Watcher) -> None:
        with self._lock:
            self._watchers.discard(watcher)

    def _schedule_flush(self) -> None:
        if self._loop is None or self._flush_scheduled or self._loop.is_closed():
            return
        self._flush_scheduled = True
        self._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            self._flush_scheduled = False
            watchers = list(self._watchers)
            if pending:
                self.flushed_rv = pending[-1].rv
        for change in pending:
            for watcher in watchers:
                if watcher.resource is change.resource:
                    watcher.queue.put_nowait(change)

    # -- pagination ------------------------------------------------------------------------

    def _keys(self, resource: Resource) -> list[str]:
        keys = self._sorted[resource.kind]
        if keys is None:
            keys = self._sorted[resource.kind] = sorted(self._objects[resource.kind])
        return keys

    def _overrides(self, resource: Resource, at_rv: int) -> dict[str, dict | None]:
        """Key -> state as of `at_rv`, for the keys changed since (None: did not exist)."""
        if at_rv < self._compacted:
            raise Expired(at_rv, self._compacted)
        overrides: dict[str, dict | None] = {}
        for change in reversed(self._history):
            if change.rv <= at_rv:
                break
            if change.resource is resource:
                overrides[change.key] = change.old
        return overrides

    def snapshot_iter(self, resource: Resource, prefix: str, start: str,
                      at_rv: int) -> Iterator[tuple[str, dict]]:
        """(key, body) in key order from `start`, restricted to `prefix`, as of `at_rv`.

        Must be called with the lock held (see `locked`). Raises Expired when `at_rv` is older
        than the history."""
        overrides = self._overrides(resource, at_rv)
        keys = self._keys(resource)
        first = max(start, prefix)
        current = (keys[i] for i in range(bisect.bisect_left(keys, first), len(keys)))
        extra = sorted(k for k in overrides if k >= first and k.startswith(prefix))
        objects = self._objects[resource.kind]
        previous = None
        for key in heapq.merge(current, extra) if extra else current:
            if not key.startswith(prefix):
                break
            if key == previous:
                continue
            previous = key
            body = overrides[key] if key in overrides else objects.get(key)
            if body is not None:
                yield key, body

    def count_after(self, resource: Resource, prefix: str, key: str, at_rv: int) -> int:
        """How many objects under `prefix` sort after `key`, as of `at_rv` (lock held)."""
        keys, objects = self._keys(resource), self._objects[resource.kind]
        low = bisect.bisect_right(keys, key)
        high = bisect.bisect_left(keys, prefix[:-1] + chr(ord(prefix[-1]) + 1)) if prefix else len(keys)
        count = max(0, high - low)
        for changed, old in self._overrides(resource, at_rv).items():
            if changed > key and changed.startswith(prefix):
                count += (old is not None) - (changed in objects)
        return count

    @property
    def locked(self) -> threading.RLock:
        return self._lock


def _copy(obj: dict) -> dict:
    """A deep copy through JSON (also turns datetimes into strings, as the wire would)."""
    return _decode(_encode(obj))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small dicts (it would rescan them all)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
