"""Where the TUI's snapshots come from: a live cluster, the embedded demo, or a fixed snapshot.

A source runs until cancelled and calls `publish(snapshot, state)` whenever it has news; the
UI never reaches into the kube layer itself. `make_app(settings, source)` takes any of these.
The live and demo sources, and `build_source` that picks one, are in kataview.live.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Callable, Protocol

from kataview.model.records import ClusterSnapshot, WatchState

Publish = Callable[[ClusterSnapshot, WatchState], None]


@dataclass(frozen=True)
class SourceInfo:
    context: str
    server: str
    namespace: str | None = None  # None: all namespaces


class SnapshotSource(Protocol):
    info: SourceInfo

    async def run(self, publish: Publish) -> None:
        """Publish snapshots until cancelled. Errors are reported through WatchState."""


class StaticSource:
    """A fixed snapshot (tests, screenshots); `push` sends later ones, as a watch would."""

    def __init__(self, snapshot: ClusterSnapshot, state: WatchState | None = None,
                 info: SourceInfo | None = None) -> None:
        self.info = info or SourceInfo(context="static", server="https://127.0.0.1:6443")
        self._queue: asyncio.Queue[tuple[ClusterSnapshot, WatchState]] = asyncio.Queue()
        self._queue.put_nowait((snapshot, state or WatchState(phase="live", synced=5, total=5)))

    def push(self, snapshot: ClusterSnapshot, state: WatchState | None = None) -> None:
        self._queue.put_nowait((snapshot, state or WatchState(phase="live", synced=5, total=5)))

    async def run(self, publish: Publish) -> None:
        while True:
            snapshot, state = await self._queue.get()
            publish(snapshot, state)

