"""List+watch informers: one resource kind, kept current in an in-memory store of records.

The loop (client-go's reflector, simplified; the figures are in backoff.py):

1. list: a watch-list where the server serves it (kube/watch_list.py: the initial events up
   to the end bookmark), else paginated (limit=page_size + continue), decoding each page
   straight into records. The FIRST list fills the store as it arrives (snapshots show the
   pods read so far, `listing` and `expected` say how far it is); a relist builds a new store
   that replaces the old one in one step, so readers never see a half relist;
2. watch from the list's resourceVersion with allowWatchBookmarks and a randomised
   timeoutSeconds; a clean end of the stream re-watches from the last seen version, but never
   more than once a second, and a watch that ended within a second without an event is a
   failure (an empty 200 must not become a tight loop);
3. "live" means the server sent something: a list, a watch event or a bookmark; a watch that
   stays silent for two bookmark intervals is dropped, and after two of those in a row the
   informer lists again (a black-holed watch must not hide changes forever);
4. 410 Gone (HTTP or an ERROR event) relists; other errors back off with jitter (exponential,
   capped, forgotten after two quiet minutes) and re-watch from the last seen version; 429
   waits Retry-After, clamped to 1-60 s; 403 marks the informer "forbidden" and retries
   slowly while the other informers go on.

The store is copy-on-write: `freeze()` hands out the current dict, and the next change
copies it first, so a snapshot holds a dict nobody mutates and an unchanged kind costs
nothing per snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import random
from contextlib import ExitStack, aclosing
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence

from kataview.model.changes import ChangeLog, Store

from .backoff import (BOOKMARK_INTERVAL, IDLES_BEFORE_RELIST, SHORT_WATCH, Backoff, LogLimiter,
                      RetryClock, clamp_retry_after)
from .decode import DecodeError, DecodedList, WatchEvent, decode_list, decode_watch_line, record_key
from .errors import (
    ApiError,
    BadListBody,
    Forbidden,
    Gone,
    KubeError,
    NotFound,
    ServerSilent,
    TooManyRequests,
    WatchEndedEarly,
    WatchIdle,
    api_error,
)
from .pages import body_kind, continue_token, gc_held
from .resource_paths import (SANDBOX_FAILURE_SELECTOR, field_selector_for, permission_missing,
                             resource_paths)
from .transport import KubeTransport
from .watch_list import INITIAL_EVENTS_QUERY, WatchListRefused, refusal

__all__ = ["SANDBOX_FAILURE_SELECTOR", "Backoff", "Informer", "continue_token",
           "field_selector_for", "gc_held", "permission_missing", "resource_paths"]

logger = logging.getLogger(__name__)
class Informer:
    """Keeps `store` (record_key -> record) of one kind current. Run it with `await run()`
    (forever; cancel the task to stop) or list once with `await list_all()`."""

    def __init__(self, kind: str, path: str | Sequence[str], transport: KubeTransport,
                 field_selector: str | None = None, page_size: int = 500, *,
                 watch_timeout: tuple[int, int] = (300, 600), backoff: Backoff = Backoff(),
                 forbidden_retry: float = 60.0, bookmark_interval: float = BOOKMARK_INTERVAL,
                 min_watch_gap: float = SHORT_WATCH, log_limiter: LogLimiter | None = None,
                 on_change: Callable[[Informer], None] | None = None,
                 label_selector: str | None = None, watch_list: bool = False) -> None:
        self.kind = kind
        self.paths = (path,) if isinstance(path, str) else tuple(path)
        self.path = self.paths[0]  # the path in use (after a 404 fallback, the one that worked)
        self.transport = transport
        self.field_selector = field_selector
        self.label_selector = label_selector  # filtered by the server, as kubectl's -l
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.backoff = backoff
        self.forbidden_retry = forbidden_retry
        self.idle_limit = 2 * bookmark_interval  # silent this long: the watch is dead
        self.min_watch_gap = min_watch_gap  # seconds between two watch requests, at least
        self.on_change = on_change
        self.store: Store = Store()
        self.log = ChangeLog()  # every key the watch changed: consumers diff by it
        self.resource_version = ""
        self.synced = False  # a full list has succeeded at least once
        self.forbidden = False
        self.failures = 0  # consecutive failed attempts; 0 while healthy
        self.error: str | None = None  # the last error, kept until the next success
        self.error_since: datetime | None = None  # start of the current failure streak
        self.skipped = 0  # objects the last list and the watch since could not decode
        self.lists = 0  # completed lists (the first one and every relist)
        self.listing = 0  # objects received so far by the first list, while it runs
        self.expected: int | None = None  # its total, estimated from remainingItemCount
        self.watch_list = watch_list  # list by watch-list first (run() only)
        self.watch_list_refused: str | None = None  # why this server is listed page by page
        self.watches = 0  # watch requests accepted by the server
        self.junk_lines = 0  # watch lines that were not watch events at all
        self.retry_at: datetime | None = None  # while waiting to retry: when
        self._retry = RetryClock(backoff)
        self._limiter = log_limiter or LogLimiter(logger)
        self._idles = 0  # silent watches in a row
        self._quiet = True  # the current watch has sent no event or bookmark yet
        self._last_watch_start = float("-inf")
        self._frozen = False
        self._gone_streak = 0  # 410s in a row without a good event in between
        self._verb = "list"  # what the loop is doing: "list" or "watch" (names a 403)
        self._watch_denied = False  # list allowed, watch forbidden: poll by relisting
        self._initial: Store | None = None  # a watch-list's store until its end bookmark
        self._filling = False  # the first list writes into the visible store
        self._gc_hold = ExitStack()  # the cyclic GC held off during a watch-list's initial events
        self._need_list = True  # until a list (or a watch-list's initial events) is complete

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
        self._watch_denied = forbidden and self._verb == "watch"
        if forbidden:
            self.error = "forbidden: " + permission_missing(self.kind, self._verb, error)
            if self._watch_denied and self.synced:
                self.error += f"; showing a list refreshed every {self.forbidden_retry:g} s"
            self.error += f" (the server said: {error})"
        elif isinstance(error, ApiError) and error.status and error.status != 401:
            self.error = f"HTTP {error.status}: {error}"
        else:
            self.error = str(error) or type(error).__name__
        if self.error_since is None:
            self.error_since = datetime.now(timezone.utc)
        # the same failure of another kind (its path aside) is the same news
        self._limiter.log(logging.WARNING, self.kind, self.error,
                          key=self.error.replace(self.path, "PATH"))
        self._changed()

    async def _fail_and_wait(self, error: BaseException, seconds: float, *,
                             forbidden: bool = False) -> None:
        """Report the failure (with the time of the next attempt, for the header), wait."""
        self.retry_at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        self._failed(error, forbidden=forbidden)
        try:
            await asyncio.sleep(seconds)
        finally:
            self.retry_at = None

    def _first_event(self) -> None:
        """The first event or bookmark of a watch; after a failure, the watch is really back."""
        self._quiet = False
        self._gone_streak = 0
        if self.failures:
            self._receiving()

    def _receiving(self) -> None:
        self._idles = 0
        self._limiter.log(logging.INFO, self.kind,
                          "receiving events again (the server answered and sent data)")
        self._healthy()

    # -- list -------------------------------------------------------------------------------

    async def list_all(self, fill: bool = False) -> tuple[Store, str]:
        """One full paginated list: (records by key, resourceVersion). On 404 the next path
        is tried (runtimeclasses: node.k8s.io/v1, then v1beta1). fill: write the pages into
        the visible store as they arrive (the first list of run())."""
        self._verb = "list"
        for index, path in enumerate(self.paths):
            try:
                result = await self._list_path(path, fill)
            except NotFound:
                if index == len(self.paths) - 1:
                    raise
                continue
            self.path = path
            return result
        raise AssertionError("unreachable")

    async def _list_path(self, path: str, fill: bool) -> tuple[Store, str]:
        """Pipelined: as soon as a page has arrived, the request for the next one goes out
        (its continue token is read from the page's head), and the page is decoded while the
        server works on the next one."""
        items = self._begin_fill() if fill else Store()
        version = ""
        skipped = 0

        def query_for(token: str) -> dict[str, str | int]:
            query: dict[str, str | int] = {"limit": self.page_size}
            if self.field_selector:
                query["fieldSelector"] = self.field_selector
            if self.label_selector:
                query["labelSelector"] = self.label_selector
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
                    page = self._decode_page(data, path)
                    del data
                    if fill:
                        items = self._writable()  # a snapshot may hold the previous pages
                        for item in page.items:
                            key = record_key(self.kind, item)
                            items[key] = item
                            self.log.record(key)
                    else:
                        for item in page.items:
                            items[record_key(self.kind, item)] = item
                    if not self.synced and pending is not None:
                        self.listing = len(items)  # progress, for the header
                        if page.remaining is not None:
                            self.expected = len(items) + page.remaining
                        self._changed()
                    skipped += page.skipped
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
        self.skipped = skipped  # what this list could not decode (watch events add to it)
        if skipped:
            self._limiter.log(logging.WARNING, self.kind, f"{skipped} object(s) in the list "
                              "could not be decoded; they are left out (and counted)")
        return items, version

    def _decode_page(self, data: bytes, path: str) -> DecodedList:
        try:
            return decode_list(self.kind, data)
        except DecodeError as error:
            raise BadListBody(f"GET {path}: {self.transport.server} answered with "
                              f"{body_kind(data, error)}, not a list of {self.kind}") from None

    def _begin_fill(self) -> Store:
        """A first list starts from an empty visible store (a retried one starts over)."""
        self.store, self.log, self._frozen = Store(), ChangeLog(), False
        self.listing, self.expected, self._filling = 0, None, True
        return self.store

    def _replace(self, items: Store, version: str) -> None:
        self.listing = 0
        self.expected = None
        self._idles = 0
        self._filling = self._need_list = False
        if items is not self.store:  # a relist: what the old log says no longer applies
            self.store = items
            self.log = ChangeLog()
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
        self.watches += 1  # an HTTP 200 alone proves nothing: live waits for an event

    async def _watch(self, initial: bool = False) -> None:
        """Watch from self.resource_version until the server ends the stream. Raises
        WatchEndedEarly for a watch over within a second with no event, WatchIdle for one
        silent (or sending only junk) for idle_limit seconds. initial: a watch-list (the
        current state first, up to the end bookmark); WatchListRefused when the server
        refuses it or ends the stream before that bookmark."""
        loop = asyncio.get_running_loop()
        wait = self._last_watch_start + self.min_watch_gap - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        started = self._last_watch_start = loop.time()
        self._quiet = True
        seconds = self._watch_seconds()
        self._verb = "watch"
        query: dict[str, str | int] = {"watch": "true", "allowWatchBookmarks": "true",
                                       "resourceVersion": self.resource_version,
                                       "timeoutSeconds": seconds}
        if initial:
            query = {**INITIAL_EVENTS_QUERY, "timeoutSeconds": seconds}
            self._initial = self._begin_fill() if not self.synced else Store()
            self._gc_hold.enter_context(gc_held())  # as for a paginated list, until the end
        if self.field_selector:
            query["fieldSelector"] = self.field_selector
        if self.label_selector:
            query["labelSelector"] = self.label_selector
        stream = self.transport.stream_lines(self.path, query, idle_timeout=self.idle_limit,
                                             on_open=self._watch_opened)
        junk, junk_since = 0, started
        try:
            async with aclosing(stream) as lines:
                async for line in lines:
                    if not line.strip():
                        continue
                    if self._apply(decode_watch_line(self.kind, line)):
                        junk = 0
                        continue
                    junk += 1  # a line that is no watch event: data arrives, nothing usable
                    if junk == 1:
                        junk_since = loop.time()
                    elif loop.time() - junk_since > self.idle_limit:
                        raise ServerSilent("only lines that are no watch events")
        except ServerSilent:
            raise WatchIdle(f"watch silent for {self.idle_limit:g} s (no event, no bookmark); "
                            "dropped it") from None
        except ApiError as error:
            raise (refusal(error) if initial and self._initial is not None else None) or error
        finally:
            initial_pending, self._initial = self._initial is not None, None
            self._gc_hold.close()
        if initial_pending:
            raise WatchListRefused("the server ended the watch-list before its initial-events-end "
                                   "bookmark; listing page by page instead")
        elapsed = loop.time() - started
        if self._quiet and elapsed < SHORT_WATCH:
            raise WatchEndedEarly(f"the server ended the watch after {elapsed:.2f} s without "
                                  "sending an event")

    def _apply(self, event: WatchEvent) -> bool:
        """Apply one event. False for a line that is not a watch event at all."""
        kind = event.type
        if kind == "ERROR":
            if event.status_code is None:  # not a watch event at all: skip the line
                self.junk_lines += 1
                return False
            raise api_error(event.status_code, event.message, self.path, self.kind)
        if self._quiet:  # the first event of this watch (checked once per event: cheap)
            self._first_event()
        if self._initial is not None:
            self._apply_initial(event)
            return True
        if event.resource_version:
            self.resource_version = event.resource_version
        if kind == "BOOKMARK":
            return True
        if event.item is None:
            self.skipped += 1
            return True
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
        return True

    def _apply_initial(self, event: WatchEvent) -> None:
        """An event of a watch-list before its end bookmark: into the store being built."""
        if event.type == "BOOKMARK":
            if event.initial_end:
                items = self.store if self._filling else self._initial
                self._initial = None
                self._gc_hold.close()
                self._replace(items, event.resource_version)
            return
        if event.item is None:
            self.skipped += 1
            return
        key = record_key(self.kind, event.item)
        store = self._initial = self._writable() if self._filling else self._initial
        if event.type == "DELETED":
            store.pop(key, None)
        else:
            store[key] = event.item
        if self._filling:
            self.log.record(key)
            self.listing = len(store)
            self._changed()

    async def _list(self) -> None:
        """The (re)list: by watch-list, which then goes on as the watch, or page by page."""
        if self.watch_list and self.watch_list_refused is None:
            self._verb = "list"
            try:
                await self._watch(initial=True)
                return
            except WatchListRefused as refused:
                self.watch_list_refused = str(refused)
                self._limiter.log(logging.INFO, self.kind, str(refused))
            except (TooManyRequests, Gone):
                raise
            except KubeError as error:
                if not self._need_list:  # after the initial events: a watch error as any other
                    raise
                # as client-go: progress beats waiting for a stream a proxy keeps breaking
                self._limiter.log(logging.INFO, self.kind, f"the watch-list failed ({error}); "
                                  "listing page by page this time",
                                  key=f"watch-list failed: {type(error).__name__}")
        self._replace(*await self.list_all(fill=not self.synced))
        await self._watch()

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """List, then watch forever; recover from every error. Cancel the task to stop."""
        self._need_list = True
        while True:
            try:
                if self._need_list:
                    await self._list()  # which watches too, once listed
                else:
                    await self._watch()
                self._gone_streak = 0
            except Gone:
                self._need_list = True  # resourceVersion too old (or continue token expired)
                logger.info("%s: 410 Gone, relisting", self.kind)
                self._gone_streak += 1
                if self._gone_streak > 1:  # 410 again right after a relist: do not spin
                    await asyncio.sleep(self.backoff.delay(self._gone_streak - 1))
            except Forbidden as error:
                self._need_list = True
                await self._fail_and_wait(error, self.forbidden_retry, forbidden=True)
            except TooManyRequests as error:
                wait = max(clamp_retry_after(error.retry_after), self._retry.next_delay())
                await self._fail_and_wait(error, wait)
            except WatchIdle as error:
                self._idles += 1
                if self._idles >= IDLES_BEFORE_RELIST:  # changes may be hidden from us
                    self._need_list, self._idles = True, 0
                await self._fail_and_wait(error, self._retry.next_delay())
            except (KubeError, DecodeError) as error:
                await self._fail_and_wait(error, self._retry.next_delay())
            except Exception as error:  # noqa: BLE001 - a bug must show as an error, not a hang
                logger.exception("informer %s failed", self.kind)
                self._need_list = True
                await self._fail_and_wait(
                    RuntimeError(f"internal error: {type(error).__name__}: {error}"),
                    self._retry.next_delay())
