"""Where the TUI's snapshots come from: a live cluster, the embedded demo, or a fixed snapshot.

A source runs until cancelled and calls `publish(snapshot, state)` whenever it has news; the
UI never reaches into the kube layer itself. `make_app(settings, source)` takes any of these.
The live and demo sources, and `build_source` that picks one, are in kataview.sources.live;
StaticSource (a fixed snapshot) is in kataview.sources.static.

A source may also offer a `PodReader` (`pod_reader()`, None while it cannot read): single
GETs the pod screens make on a key press, a pod as served and its container log, so the UI
reads the workload without importing the kube layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Callable, Protocol

from kataview.model.records import ClusterSnapshot, WatchState

Publish = Callable[[ClusterSnapshot, WatchState], None]


@dataclass(frozen=True)
class SourceInfo:
    context: str
    server: str
    namespace: str | None = None  # None: all namespaces


@dataclass(frozen=True)
class LogRequest:
    """What GET pods/NAME/log is asked for (the API's PodLogOptions that kataview uses)."""

    container: str | None = None
    follow: bool = False
    previous: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None


class PodReader(Protocol):
    async def pod_object(self, namespace: str, name: str) -> dict:
        """The pod as the server serves it now (a fresh GET), as parsed JSON."""

    def pod_log(self, namespace: str, name: str, request: LogRequest) -> AsyncIterator[str]:
        """The container's log, a line at a time (without the newline); follows while asked."""


class SnapshotSource(Protocol):
    info: SourceInfo

    async def run(self, publish: Publish) -> None:
        """Publish snapshots until cancelled. Errors are reported through WatchState."""


class ContextError(Exception):
    """A context switch refused before anything was closed (an unknown context, a kubeconfig
    that does not load); the message says why, in one line."""


class ContextSwitching(Protocol):
    """What a source offers when it reads a kubeconfig (live, demo): its contexts, and a switch
    that closes the current connection and watches another context's cluster from the same
    `run` (new connection, new informers) without the app restarting."""

    def context_names(self) -> list[str]:
        """The kubeconfig's contexts, for completion."""

    def switch_context(self, name: str) -> SourceInfo:
        """Point the running source at context `name`; raises ContextError and changes nothing
        when it cannot."""
