"""List+watch informers: one resource kind, kept current in an in-memory store of records.

The loop (client-go's reflector, simplified):

1. list, paginated (limit=page_size + continue), decoding each page straight into records;
   the new store replaces the old one in one step, so readers never see a half list;
2. watch from the list's resourceVersion with allowWatchBookmarks and a randomised
   timeoutSeconds; a clean end of the stream re-watches at once from the last seen version;
3. 410 Gone (HTTP or an ERROR event) relists; other errors back off with jitter (exponential,
   capped) and re-watch from the last seen version; 429 waits Retry-After; 403 marks the
   informer "forbidden" and retries slowly while the other informers go on.

The store is copy-on-write: `freeze()` hands out the current dict, and the next change
copies it first, so a snapshot holds a dict nobody mutates and an unchanged kind costs
nothing per snapshot.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import re
from contextlib import aclosing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence

import msgspec

from kataview.model.changes import ChangeLog, Store

from .api_types import Base, ListMeta
from .decode import DecodeError, WatchEvent, decode_list, decode_watch_line, record_key
from .errors import (
    ApiError,
    Forbidden,
    Gone,
    KubeError,
    NotFound,
    TooManyRequests,
    api_error,
)
from .transport import KubeTransport

logger = logging.getLogger(__name__)
SANDBOX_FAILURE_SELECTOR = "reason=FailedCreatePodSandBox"
NAMESPACED = frozenset({"pods", "events", "networkpolicies"})
RBAC_FILE = "deploy/rbac-readonly.yaml"
_USER = re.compile(r'User "([^"]*)"')
_PATHS: dict[str, tuple[str, ...]] = {
    "nodes": ("/api/v1/{ns}nodes",),
    "runtimeclasses": ("/apis/node.k8s.io/v1/runtimeclasses",
                       "/apis/node.k8s.io/v1beta1/runtimeclasses"),
    "pods": ("/api/v1/{ns}pods",),
    "events": ("/api/v1/{ns}events",),
    "networkpolicies": ("/apis/networking.k8s.io/v1/{ns}networkpolicies",),
}


def resource_paths(kind: str, namespace: str | None = None) -> tuple[str, ...]:
    """The list/watch paths of a kind, preferred first (later ones are fallbacks on 404)."""
    prefix = f"namespaces/{namespace}/" if namespace and kind in NAMESPACED else ""
    return tuple(path.format(ns=prefix) for path in _PATHS[kind])


class _ListHead(Base):
    metadata: ListMeta | None = None


_decode_head = msgspec.json.Decoder(_ListHead).decode


def continue_token(data: bytes) -> str:
    """The continue token of a LIST page, without decoding its items: the API server writes
    the list metadata before "items", so the head alone is tried first (~µs), then the whole
    body (msgspec skips the items without building them, ~1 ms per MB). "" when the body is
    not a list at all: decode_list reports that."""
    cut = data.find(b'"items"')
    if cut > 0:
        try:
            head = _decode_head(data[:cut] + b'"items":null}')
            return (head.metadata.continue_ or "") if head.metadata else ""
        except (msgspec.DecodeError, msgspec.ValidationError):
            pass
    try:
        head = _decode_head(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""
    return (head.metadata.continue_ or "") if head.metadata else ""


_gc_holds = 0
_gc_was_enabled = False


@contextmanager
def gc_held():
    """Keep the cyclic GC off while lists are being decoded, across pages and across the
    informers listing at the same time (a count, not a flag): with it on, decoding 150,000
    pods triggers collections that rescan every record built so far. Records are acyclic;
    refcounting frees them as usual."""
    global _gc_holds, _gc_was_enabled
    if _gc_holds == 0:
        _gc_was_enabled = gc.isenabled()
        gc.disable()
    _gc_holds += 1
    try:
        yield
    finally:
        _gc_holds -= 1
        if _gc_holds == 0 and _gc_was_enabled:
            gc.enable()


def field_selector_for(kind: str) -> str | None:
    """Events are watched for sandbox failures only."""
    return SANDBOX_FAILURE_SELECTOR if kind == "events" else None


def permission_missing(kind: str, verb: str, error: BaseException) -> str:
    """The one line an operator acts on when RBAC denies a read: which verb, which resource,
    which user, and the file that grants it."""
    found = _USER.search(str(error))
    user = f' for user "{found.group(1)}"' if found else ""
    return (f'cannot {verb} {kind}: RBAC denies "{verb}" on "{kind}"{user}; '
            f"grant it with {RBAC_FILE}")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with "equal jitter": attempt n waits in [d/2, d], d = initial *
    factor**(n-1) capped at cap."""

    initial: float = 0.5
    cap: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int) -> float:
        base = min(self.cap, self.initial * self.factor ** max(0, attempt - 1))
        return random.uniform(base / 2, base)


class Informer:
    """Keeps `store` (record_key -> record) of one kind current. Run it with `await run()`
    (forever; cancel the task to stop) or list once with `await list_all()`."""

    def __init__(self, kind: str, path: str | Sequence[str], transport: KubeTransport,
                 field_selector: str | None = None, page_size: int = 500, *,
                 watch_timeout: tuple[int, int] = (300, 600), backoff: Backoff = Backoff(),
                 forbidden_retry: float = 60.0,
                 on_change: Callable[[Informer], None] | None = None) -> None:
        self.kind = kind
        self.paths = (path,) if isinstance(path, str) else tuple(path)
        self.path = self.paths[0]  # the path in use (after a 404 fallback, the one that worked)
        self.transport = transport
        self.field_selector = field_selector
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.backoff = backoff
        self.forbidden_retry = forbidden_retry
        self.on_change = on_change
        self.store: Store = Store()
        self.log = ChangeLog()  # every key the watch changed: consumers diff by it
        self.resource_version = ""
        self.synced = False  # a full list has succeeded at least once
        self.forbidden = False
        self.failures = 0  # consecutive failed attempts; 0 while healthy
        self.error: str | None = None  # the last error, kept until the next success
        self.error_since: datetime | None = None  # start of the current failure streak
        self.skipped = 0  # objects that could not be decoded
        self.lists = 0  # completed lists (the first one and every relist)
        self.listing = 0  # objects received so far by the first list, while it runs
        self.watches = 0  # watch requests accepted by the server
        self._frozen = False
        self._gone_streak = 0  # 410s in a row without a good event in between
        self._verb = "list"  # what the loop is doing: "list" or "watch" (names a 403)
        self._watch_denied = False  # list allowed, watch forbidden: poll by relisting

    # -- state ------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """"syncing" | "live" | "reconnecting" | "forbidden"."""
        if self.forbidden:
            return "forbidden"
        if self.failures:
            return "reconnecting"
        return "live" if self.synced else "syncing"

    def freeze(self) -> Store:
        """The current store, handed out read-only (the next change copies it first), stamped
        with the change log's version."""
        self._frozen = True
        return self.store.stamp(self.log)

    def _writable(self) -> Store:
        if self._frozen:
            self.store = Store(self.store)
            self._frozen = False
        return self.store

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def _healthy(self) -> None:
        if self.failures or self.forbidden:
            self.failures = 0
            self.forbidden = False
            self._watch_denied = False
            self.error = None
            self.error_since = None
            self._changed()

    def _failed(self, error: BaseException, *, forbidden: bool = False) -> None:
        self.failures += 1
        self.forbidden = forbidden
        previous = self.error
        self._watch_denied = forbidden and self._verb == "watch"
        if forbidden:
            self.error = "forbidden: " + permission_missing(self.kind, self._verb, error)
            if self._watch_denied and self.synced:
                self.error += f"; showing a list refreshed every {self.forbidden_retry:g} s"
            self.error += f" (the server said: {error})"
        elif isinstance(error, ApiError) and error.status:
            self.error = f"HTTP {error.status}: {error}"
        else:
            self.error = str(error) or type(error).__name__
        if self.error_since is None:
            self.error_since = datetime.now(timezone.utc)
        if self.error != previous:
            logger.warning("%s: %s", self.kind, self.error)
        self._changed()

    # -- list -------------------------------------------------------------------------------

    async def list_all(self) -> tuple[Store, str]:
        """One full paginated list: (records by key, resourceVersion). On 404 the next path
        is tried (runtimeclasses: node.k8s.io/v1, then v1beta1)."""
        self._verb = "list"
        for index, path in enumerate(self.paths):
            try:
                result = await self._list_path(path)
            except NotFound:
                if index == len(self.paths) - 1:
                    raise
                continue
            self.path = path
            return result
        raise AssertionError("unreachable")

    async def _list_path(self, path: str) -> tuple[Store, str]:
        """Pipelined: as soon as a page has arrived, the request for the next one goes out
        (its continue token is read from the page's head), and the page is decoded while the
        server works on the next one."""
        items = Store()
        version = ""
        self.listing = 0

        def query_for(token: str) -> dict[str, str | int]:
            query: dict[str, str | int] = {"limit": self.page_size}
            if self.field_selector:
                query["fieldSelector"] = self.field_selector
            if token:
                query["continue"] = token
            return query

        with gc_held():
            pending: asyncio.Task | None = asyncio.ensure_future(
                self.transport.get_json_bytes(path, query_for("")))
            try:
                while pending is not None:
                    data = await pending
                    pending = None
                    token = continue_token(data)
                    if token:
                        pending = asyncio.ensure_future(
                            self.transport.get_json_bytes(path, query_for(token)))
                        for _ in range(3):  # let the request reach the socket before decoding
                            await asyncio.sleep(0)
                    page = decode_list(self.kind, data)
                    del data
                    for item in page.items:
                        items[record_key(self.kind, item)] = item
                    if not self.synced and pending is not None:
                        self.listing = len(items)  # progress, for the header
                        self._changed()
                    self.skipped += page.skipped
                    version = page.resource_version or version
                    if page.continue_token != token:  # the head disagreed with the full decode
                        if pending is not None:
                            pending.cancel()
                        pending = (asyncio.ensure_future(self.transport.get_json_bytes(
                            path, query_for(page.continue_token))) if page.continue_token else None)
            finally:
                if pending is not None:
                    pending.cancel()
                    await asyncio.gather(pending, return_exceptions=True)
        return items, version

    def _replace(self, items: Store, version: str) -> None:
        self.listing = 0
        self.store = items
        self.log = ChangeLog()  # a new list: what the old log says no longer applies
        self._frozen = False
        self.resource_version = version
        self.synced = True
        self.lists += 1
        if not self._watch_denied:
            self._healthy()  # a watch still denied stays reported until a watch is accepted
        self._changed()

    # -- watch ------------------------------------------------------------------------------

    def _watch_seconds(self) -> int:
        low, high = self.watch_timeout
        return random.randint(low, high)

    def _watch_opened(self) -> None:
        self.watches += 1
        if self.failures or self.forbidden:
            logger.info("%s: watch re-established after %d failed attempt(s)", self.kind,
                        self.failures)
        self._healthy()

    async def _watch(self) -> None:
        """Watch from self.resource_version until the server ends the stream."""
        seconds = self._watch_seconds()
        self._verb = "watch"
        query: dict[str, str | int] = {"watch": "true", "allowWatchBookmarks": "true",
                                       "resourceVersion": self.resource_version,
                                       "timeoutSeconds": seconds}
        if self.field_selector:
            query["fieldSelector"] = self.field_selector
        stream = self.transport.stream_lines(self.path, query, idle_timeout=seconds + 30,
                                             on_open=self._watch_opened)
        async with aclosing(stream) as lines:
            async for line in lines:
                if line.strip():
                    self._apply(decode_watch_line(self.kind, line))

    def _apply(self, event: WatchEvent) -> None:
        kind = event.type
        if kind == "ERROR":
            if event.status_code is None:  # not a watch event at all: skip the line
                self.skipped += 1
                return
            raise api_error(event.status_code, event.message, self.path, self.kind)
        self._gone_streak = 0
        if event.resource_version:
            self.resource_version = event.resource_version
        if kind == "BOOKMARK":
            return
        if event.item is None:
            self.skipped += 1
            return
        key = record_key(self.kind, event.item)
        if kind == "DELETED":
            if key in self.store:
                del self._writable()[key]
                self.log.record(key)
                self._changed()
        else:
            self._writable()[key] = event.item
            self.log.record(key)
            self._changed()

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """List, then watch forever; recover from every error. Cancel the task to stop."""
        need_list = True
        while True:
            try:
                if need_list:
                    self._replace(*await self.list_all())
                    need_list = False
                await self._watch()
                self._gone_streak = 0
            except Gone:
                need_list = True  # resourceVersion too old (or continue token expired)
                logger.info("%s: 410 Gone, relisting", self.kind)
                self._gone_streak += 1
                if self._gone_streak > 1:  # 410 again right after a relist: do not spin
                    await asyncio.sleep(self.backoff.delay(self._gone_streak - 1))
            except Forbidden as error:
                self._failed(error, forbidden=True)
                need_list = True
                await asyncio.sleep(self.forbidden_retry)
            except TooManyRequests as error:
                self._failed(error)
                await asyncio.sleep(error.retry_after)
            except (KubeError, DecodeError) as error:
                self._failed(error)
                await asyncio.sleep(self.backoff.delay(self.failures))
            except Exception as error:  # noqa: BLE001 - a bug must show as an error, not a hang
                logger.exception("informer %s failed", self.kind)
                self._failed(RuntimeError(f"internal error: {type(error).__name__}: {error}"))
                need_list = True
                await asyncio.sleep(self.backoff.delay(self.failures))

