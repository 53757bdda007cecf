"""The whole cluster as snapshots: five informers behind one coalesced stream.

    watcher = ClusterWatcher(connection, namespace=None)
    async with watcher:
        async for snapshot, state in watcher.snapshots():
            ...  # at most ~10 per second; a burst of events costs one snapshot

or `ClusterWatcher(connection, on_snapshot=callback)` and `await watcher.start()`.
`fetch_once(connection)` lists everything once (no watch) for `kataview report`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import AsyncIterator, Callable, Mapping

from kataview.model.records import ClusterSnapshot, Event, WatchState

from .backoff import LogLimiter
from .connection import Connection
from .decode import KINDS
from .errors import Forbidden, NotFound
from .informer import Informer, field_selector_for, resource_paths

logger = logging.getLogger(__name__)
PHASES = ("syncing", "live", "reconnecting", "stale")
# while a first list fills a store, snapshots are this many min_intervals apart: each one
# freezes the store and the next page copies it (150,000 pods: ~3 ms a copy), and the UI
# builds few of them anyway
FILLING_SLOWER = 5
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


SnapshotCallback = Callable[[ClusterSnapshot, WatchState], None]
PodSelectors = tuple[str | None, str | None]  # (labelSelector, fieldSelector) for the pods list


class ClusterWatcher:
    """Runs one informer per kind and publishes (ClusterSnapshot, WatchState) pairs.

    informer_options go to every Informer (watch_timeout, backoff, forbidden_retry,
    page_size): tests shorten them. stale_after: consecutive failures of one informer
    before "reconnecting" becomes "stale"."""

    def __init__(self, connection: Connection, namespace: str | None = None, *,
                 on_snapshot: SnapshotCallback | None = None, min_interval: float = 0.1,
                 stale_after: int = 2, informer_options: Mapping[str, object] | None = None,
                 ) -> None:
        self.connection = connection
        self.namespace = namespace
        self.on_snapshot = on_snapshot
        self.min_interval = min_interval
        self.stale_after = stale_after
        options = {"log_limiter": LogLimiter(logging.getLogger(Informer.__module__)),
                   "watch_list": True, **(informer_options or {})}
        self.informers: dict[str, Informer] = {
            kind: Informer(kind, resource_paths(kind, namespace), connection.transport,
                           field_selector_for(kind), on_change=self._changed, **options)
            for kind in KINDS}
        self.published = 0  # snapshots published so far
        self._latest: tuple[ClusterSnapshot, WatchState] | None = None
        self._last_error: str | None = None
        self._tuples: dict[str, tuple[object, tuple]] = {}
        self._dirty: asyncio.Event | None = None
        self._new: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._running = False

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._dirty, self._new = asyncio.Event(), asyncio.Event()
        self._dirty.set()  # publish "syncing 0/5" at once
        self._tasks = [asyncio.create_task(informer.run(), name=f"informer-{kind}")
                       for kind, informer in self.informers.items()]
        self._tasks.append(asyncio.create_task(self._publisher(), name="snapshot-publisher"))

    async def stop(self) -> None:
        self._running = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._new is not None:
            self._new.set()  # wake snapshots() so it can end

    async def __aenter__(self) -> ClusterWatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- output -----------------------------------------------------------------------------

    @property
    def latest(self) -> tuple[ClusterSnapshot, WatchState] | None:
        return self._latest

    async def snapshots(self) -> AsyncIterator[tuple[ClusterSnapshot, WatchState]]:
        """The newest (snapshot, state) each time one is published; a slow consumer skips
        the ones it missed. Ends when the watcher stops."""
        seen = 0
        while self._running:
            if self.published == seen or self._latest is None:
                assert self._new is not None
                await self._new.wait()
                continue
            seen = self.published
            yield self._latest

    # -- internals --------------------------------------------------------------------------

    def _changed(self, informer: Informer) -> None:
        if informer.failures and informer.error:
            self._last_error = f"{informer.kind}: {informer.error}"
        if self._dirty is not None:
            self._dirty.set()

    async def _publisher(self) -> None:
        assert self._dirty is not None
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            self._publish()
            filling = any(i.listing and not i.synced for i in self.informers.values())
            await asyncio.sleep(self.min_interval * (FILLING_SLOWER if filling else 1))

    def _publish(self) -> None:
        snapshot, state = self.build_snapshot(), self.state()
        self._latest = (snapshot, state)
        self.published += 1
        if self._new is not None:
            self._new.set()
            self._new = asyncio.Event()
        if self.on_snapshot is not None:
            try:
                self.on_snapshot(snapshot, state)
            except Exception:  # noqa: BLE001 - a failing consumer must not stop publishing
                logger.exception("on_snapshot callback failed")

    def build_snapshot(self) -> ClusterSnapshot:
        stores = {kind: informer.freeze() for kind, informer in self.informers.items()}
        unreadable = {kind: informer.error or "forbidden"
                      for kind, informer in self.informers.items() if informer.forbidden}
        skipped = {kind: informer.skipped for kind, informer in self.informers.items()
                   if informer.skipped}
        return snapshot_from(stores, unreadable, skipped, tuples=self._tuples)

    def state(self) -> WatchState:
        informers = self.informers
        failing = [i for i in informers.values() if i.failures and not i.forbidden]
        if any(i.failures >= self.stale_after for i in failing):
            phase = "stale"
        elif failing:
            phase = "reconnecting"
        elif any(not i.synced and not i.forbidden for i in informers.values()):
            phase = "syncing"
        else:
            phase = "live"
        since = min((i.error_since for i in failing if i.error_since), default=None)
        retry_at = min((i.retry_at for i in failing if i.retry_at), default=None)
        return WatchState(
            phase=phase, synced=sum(1 for i in informers.values() if i.synced),
            total=len(informers), stale_since=since,
            errors={kind: i.error for kind, i in informers.items() if i.error},
            last_error=self._last_error,
            listing={kind: i.listing for kind, i in informers.items() if i.listing and not i.synced},
            expected={kind: i.expected for kind, i in informers.items()
                      if i.expected is not None and not i.synced},
            unsynced=tuple(kind for kind, i in informers.items() if not i.synced and not i.forbidden),
            retry_at=retry_at, denied=tuple(kind for kind, i in informers.items() if i.forbidden))


def snapshot_from(stores: Mapping[str, dict], unreadable: Mapping[str, str],
                  skipped: Mapping[str, int] | None = None, *,
                  tuples: dict[str, tuple[object, tuple]] | None = None) -> ClusterSnapshot:
    """A ClusterSnapshot sharing the given stores (which the caller no longer mutates).
    tuples caches the events/networkpolicies tuples by store identity across calls."""
    tuples = {} if tuples is None else tuples

    def as_tuple(kind: str, key: Callable | None = None) -> tuple:
        store = stores.get(kind, {})
        cached = tuples.get(kind)
        if cached is not None and cached[0] is store:
            return cached[1]
        values = tuple(sorted(store.values(), key=key) if key else store.values())
        tuples[kind] = (store, values)
        return values

    return ClusterSnapshot(
        nodes=stores.get("nodes", {}), runtime_classes=stores.get("runtimeclasses", {}),
        pods=stores.get("pods", {}), events=as_tuple("events", _event_order),
        network_policies=as_tuple("networkpolicies"), unreadable=dict(unreadable),
        taken_at=datetime.now(timezone.utc), skipped=dict(skipped or {}))


def _event_order(event: Event) -> tuple:
    return (event.last_seen or event.first_seen or _EPOCH, event.namespace, event.name)


async def fetch_once(connection: Connection, namespace: str | None = None, *,
                     page_size: int = 500, pod_selectors: PodSelectors = (None, None)) -> ClusterSnapshot:
    """List every kind once (paginated, no watch). A kind RBAC denies (or the server does
    not serve) goes into snapshot.unreadable; any other error (unreachable, 401, 5xx, a
    selector the server rejects) is raised. pod_selectors (label, field) are sent with the
    pods list, so the server filters (`kataview report -l/--field-selector`)."""
    labels, fields = pod_selectors

    async def one(kind: str) -> tuple[dict, str | None, int]:
        pods = kind == "pods"
        informer = Informer(kind, resource_paths(kind, namespace), connection.transport,
                            (fields if pods else None) or field_selector_for(kind), page_size,
                            label_selector=labels if pods else None)
        try:
            items, _version = await informer.list_all()
        except Forbidden as error:
            return {}, f"forbidden: {error}", 0
        except NotFound as error:
            return {}, f"not served by this API server: {error}", 0
        return items, None, informer.skipped

    results = await asyncio.gather(*(one(kind) for kind in KINDS), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    stores = {kind: result[0] for kind, result in zip(KINDS, results)}
    unreadable = {kind: result[1] for kind, result in zip(KINDS, results) if result[1]}
    skipped = {kind: result[2] for kind, result in zip(KINDS, results) if result[2]}
    return snapshot_from(stores, unreadable, skipped)
