"""WATCH: newline-delimited JSON events over a chunked response, replayed from the history,
with bookmarks, timeoutSeconds, selectors (objects moving in and out of a selector become
ADDED/DELETED as on the real server) and Table events (column definitions on the first only)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Callable, Protocol

import msgspec
from aiohttp import web

from . import status as st
from .faults import Faults
from .reads import ApiError, Output, Target, predicate, table_list
from .recording import RECORD
from .store import Change, Expired, ObjectStore

encode = msgspec.json.Encoder().encode
NOT_OLDER_THAN = "NotOlderThan"
DROP = object()  # queued by drop_watches(): abort the connection
DEFAULT_TIMEOUT = 1800.0
BATCH = 500  # queued events sent in one write


class WatchHost(Protocol):
    """What a watch needs of the server that serves it (the API double is one)."""

    store: ObjectStore
    faults: Faults
    clock: Callable[[], datetime]
    bookmark_interval: float
    open_watches: set  # the store's watchers of open watches, which drop_watches() aborts


def list_options_errors(query: dict[str, str], watch: bool, watch_list: bool) -> list[tuple[str, str]]:
    """What kube-apiserver 1.37's ListOptions validation forbids about the watch-list
    parameters (apimachinery internalversion/validation): (field, detail) pairs, [] if none.
    watch_list: the WatchList feature gate (on by default since 1.34)."""
    initial = "sendInitialEvents" in query
    match = query.get("resourceVersionMatch", "")
    if not watch:
        return [("sendInitialEvents", "sendInitialEvents is forbidden for list")] if initial else []
    errors = []
    if initial:
        if match != NOT_OLDER_THAN:
            errors.append(("resourceVersionMatch", "sendInitialEvents requires setting "
                                                   f"resourceVersionMatch to {NOT_OLDER_THAN}"))
        if not watch_list:
            errors.append(("sendInitialEvents", "sendInitialEvents is forbidden for watch unless "
                                                "the WatchList feature gate is enabled"))
    elif match:
        errors.append(("resourceVersionMatch", "resourceVersionMatch is forbidden for watch "
                                               "unless sendInitialEvents is provided"))
    return errors


class WatchStream:
    def __init__(self, server: WatchHost, request: web.Request, target: Target,
                 output: Output, query: dict[str, str]):
        self.server, self.request, self.target = server, request, target
        self.output, self.query = output, query
        self.match = predicate(target, query)
        self.columns_sent = False
        self.last_rv = 0
        self.since = self._since(query)

    @staticmethod
    def _since(query: dict[str, str]) -> int | None:
        if query.get("sendInitialEvents") == "true":
            return None
        raw = query.get("resourceVersion") or "0"
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(st.status(400, "BadRequest", f'resourceVersion: Invalid value: "{raw}"')) from None
        return None if value == 0 else value

    def _timeout(self) -> float:
        try:
            return float(self.query.get("timeoutSeconds") or DEFAULT_TIMEOUT)
        except ValueError:
            return DEFAULT_TIMEOUT

    async def run(self) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": self.output.content_type.replace(
            "List", ""), "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        await response.prepare(self.request)
        self.request[RECORD].status = 200
        try:
            await self._watch(response)
        except ConnectionResetError:
            pass  # the client left (kubectl -w ended, a dashboard quit): not an error
        return response

    async def _watch(self, response: web.StreamResponse) -> None:
        plural = self.target.resource.plural
        body = self.server.faults.watch_body_for(plural)
        if body is not None:
            await self._faulty(response, body)
            return
        if self.server.faults.take_gone(plural):
            expired = Expired(self.since or 0, self.server.store.resource_version)
            await self._error(response, expired)
            return
        try:
            watcher, backlog, floor = self.server.store.subscribe(self.target.resource, self.since)
        except Expired as expired:
            await self._error(response, expired)
            return
        self.server.open_watches.add(watcher)
        try:
            self.last_rv = floor
            await self._send_backlog(response, backlog)
            if self.query.get("sendInitialEvents") == "true" and self._bookmarks():
                await self._bookmark(response, initial_end=True, settled=False)
            if await self._stream(response, watcher.queue, floor):
                await response.write_eof()
        finally:
            self.server.open_watches.discard(watcher)
            self.server.store.unsubscribe(watcher)

    async def _faulty(self, response: web.StreamResponse, body: str) -> web.StreamResponse:
        """An injected bad watch body (Faults.watch_body), after the 200."""
        if body == "junk":
            await response.write(b"<html>\n{\"kind\": \"nothing\"}\nnot json\n")
        elif body == "silent":
            await asyncio.Event().wait()  # until the client gives up (or the server stops)
        elif body == "abort" and self.request.transport is not None:
            self.request.transport.abort()
            return response
        await response.write_eof()
        return response

    async def _paced(self, plural: str) -> None:
        """Wait as Faults.slow_initial_events says, re-read meanwhile (clearing it releases)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while (pace := self.server.faults.initial_pace_for(plural)) and loop.time() - started < pace[0]:
            await asyncio.sleep(min(0.05, pace[0]))

    def _bookmarks(self) -> bool:
        return self.query.get("allowWatchBookmarks") in ("true", "1")

    async def _stream(self, response: web.StreamResponse, queue: asyncio.Queue, floor: int) -> bool:
        """Send changes until the timeout (True: close cleanly) or a drop (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout()
        interval = self.server.bookmark_interval
        next_bookmark = loop.time() + interval
        while (now := loop.time()) < deadline:
            wake = min(deadline, next_bookmark) if self._bookmarks() else deadline
            try:
                if queue.empty():
                    change = await asyncio.wait_for(queue.get(), max(wake - now, 0))
                else:
                    change = queue.get_nowait()  # no timer task when events are waiting
            except TimeoutError:
                if self._bookmarks() and loop.time() >= next_bookmark and queue.empty():
                    await self._bookmark(response)
                    next_bookmark = loop.time() + interval
                continue
            # send what is queued in one write (one chunk, one TLS record) instead of one each
            batch = [change]
            while len(batch) < BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            lines = []
            for change in batch:
                if change is DROP:
                    if lines:
                        await response.write(b"".join(lines))
                    if self.request.transport is not None:
                        self.request.transport.abort()
                    return False
                if change.rv > floor:
                    line = self._line(change)
                    if line is not None:
                        lines.append(line)
            if lines:
                await response.write(b"".join(lines))
        if self._bookmarks():
            await self._bookmark(response, settled=queue.empty())
        return True

    def _event_type(self, change: Change) -> str | None:
        target, obj = self.target, change.obj
        if target.prefix and not change.key.startswith(target.prefix):
            return None
        if self.match is None:
            return change.type
        now_in = self.match(obj)
        if change.type != "MODIFIED":
            return change.type if now_in else None
        was_in = change.old is not None and self.match(change.old)
        if now_in:
            return "MODIFIED" if was_in else "ADDED"
        return "DELETED" if was_in else None

    async def _send_backlog(self, response: web.StreamResponse, backlog: list[Change]) -> None:
        """The initial events (or the changes since the watch's resourceVersion), BATCH lines
        a write (one write per line took seconds at 150,000 pods); paced as
        Faults.slow_initial_events says."""
        plural = self.target.resource.plural
        pace = self.server.faults.initial_pace_for(plural)
        initial = self.query.get("sendInitialEvents") == "true"
        size = pace[1] if pace and initial else BATCH
        for start in range(0, len(backlog), size):
            if start and initial:
                await self._paced(plural)
            lines = [line for change in backlog[start:start + size]
                     if (line := self._line(change)) is not None]
            if lines:
                await response.write(b"".join(lines))

    def _line(self, change: Change) -> bytes | None:
        """The watch event line for a change (None: filtered out). Plain JSON lines are
        encoded once per change and shared by every watcher of that resource version."""
        kind = self._event_type(change)
        self.last_rv = max(self.last_rv, change.rv)
        if kind is None:
            return None
        resource, obj = self.target.resource, change.obj
        shared = self.output.mode not in ("table", "partial")
        if shared:
            cache_key = (kind, self.target.version)
            wire = change.wire
            if wire is not None:
                line = wire.get(cache_key)
                if line is not None:
                    return line
            else:
                wire = change.wire = {}
        if self.output.mode == "table":
            data = table_list(self.server.store, self.target, [(change.key, obj)], self.output,
                              self.query, self.server.clock(), {"resourceVersion": str(change.rv)},
                              columns=not self.columns_sent)
            self.columns_sent = True
        elif self.output.mode == "partial":
            data = encode({"kind": "PartialObjectMetadata",
                           "apiVersion": f"meta.k8s.io/{self.output.version}",
                           "metadata": obj["metadata"]})
        else:
            item = self.server.store.encoded(resource, change.key, obj)
            head = b'{"kind":"%s","apiVersion":"%s"' % (
                resource.kind.encode(), resource.api_version(self.target.version).encode())
            data = head + (b"," + item[1:] if len(item) > 2 else b"}")
        line = b'{"type":"' + kind.encode() + b'","object":' + data + b"}\n"
        if shared:
            wire[cache_key] = line
        return line

    async def _bookmark(self, response: web.StreamResponse, initial_end: bool = False,
                        settled: bool = True) -> None:
        """A BOOKMARK at the RV up to which every change has been sent (or filtered out)."""
        rv = max(self.last_rv, self.server.store.flushed_rv) if settled else self.last_rv
        self.last_rv = rv
        meta: dict = {"resourceVersion": str(rv)}  # 1.37 omits the empty creationTimestamp
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        resource = self.target.resource
        obj = {"kind": resource.kind, "apiVersion": resource.api_version(self.target.version),
               "metadata": meta}
        await response.write(encode({"type": "BOOKMARK", "object": obj}) + b"\n")

    async def _error(self, response: web.StreamResponse, expired: Expired) -> None:
        body = st.expired(str(expired))
        await response.write(encode({"type": "ERROR", "object": body}) + b"\n")
        await response.write_eof()
