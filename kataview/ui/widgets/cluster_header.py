"""The header: where we are connected, what the cluster holds, and how fresh the data is."""

from __future__ import annotations

import math
from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from kataview.model.cluster_view import ClusterView
from kataview.model.records import WatchState
from kataview.model.redaction import redact
from kataview.model.terminal_text import terminal_safe
from kataview.sources.base import SourceInfo
from kataview.ui.formatting import clock, count, plural

FAMILY_VARIABLE = {"runc": "$runtime-runc", "kata": "$runtime-kata", "gvisor": "$runtime-gvisor"}


def watch_text(state: WatchState, now: datetime | None = None) -> tuple[str, str]:
    """(text, style) for the freshness badge; the text alone says everything."""
    if state.never_connected:
        return f"✕ {first_failure(state)}{retrying(state, now)}", "$stale"
    if state.phase == "syncing":
        return f"◌ {state.label}", "$text-muted"
    if state.phase == "live":
        return "● live", "$success"
    since = f" since {clock(state.stale_since)}" if state.stale_since else ""
    if state.phase == "reconnecting":
        return f"◐ reconnecting (stale{since})", "$stale"
    return f"✕ stale{since}", "$stale"


def first_failure(state: WatchState) -> str:
    """Why nothing could be read: the failure all the resources share, as the transport
    words it ("cannot reach https://...: Connection refused")."""
    failures = [error for kind, error in sorted(state.errors.items()) if kind not in state.denied]
    return terminal_safe(redact(failures[0] if failures else state.last_error or "no answer yet"))


def retrying(state: WatchState, now: datetime | None) -> str:
    if state.retry_at is None or now is None:
        return ", retrying"
    seconds = max(0, math.ceil((state.retry_at - now).total_seconds()))
    return f", retrying in {seconds} s" if seconds else ", retrying now"


def denied_text(state: WatchState) -> str:
    """A state of its own: RBAC denies some resources, the others are live."""
    kinds = len(state.denied)
    return f"⚠ {kinds} kind{'s' if kinds > 1 else ''} denied: {', '.join(state.denied)}"


def undecodable(snapshot, kind: str) -> list:
    """Next to a count: how many more the server sent that could not be decoded."""
    number = snapshot.skipped.get(kind)
    return [(f" (+{count(number)} undecodable)", "bold $warning")] if number else []


def runtime_counts(view: ClusterView) -> list[tuple[str, str]]:
    parts = []
    for label, number in view.runtime_counts.items():
        family = view.family_of.get(label, "other")
        parts.append((terminal_safe(f"{label} {count(number)}"), FAMILY_VARIABLE.get(family, "$runtime-other")))
    return parts


class ClusterHeader(Static):
    """Two lines: connection, namespace and state; then the cluster's counts."""

    _shown: tuple | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self._count_down)

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def _count_down(self) -> None:
        """'retrying in N s' counts down between snapshots."""
        if self._shown is not None and self._shown[0] is not None and self._shown[0].state.retry_at:
            self.show(*self._shown[:4], self.app.now())

    def show(self, view: ClusterView | None, info: SourceInfo, namespace: str | None,
             read_only: bool, now: datetime) -> None:
        self._shown = (view, info, namespace, read_only, now)
        badges: list = []
        if read_only:
            badges += [(" READ-ONLY ", "bold reverse $warning"), " "]
        if view is not None:
            state = view.state
            text, style = watch_text(state, now)
            badges += [(text, f"bold {style}")]
            if state.denied:
                badges += ["  ", (denied_text(state), "bold $warning")]
            failing = {k: v for k, v in state.errors.items() if k not in state.denied}
            errors = state.last_error or ", ".join(f"{k}: {v}" for k, v in failing.items())
            if errors and state.phase != "live" and not state.never_connected:
                badges += ["  ", (terminal_safe(redact(errors)), "$stale")]  # a server's words
        server = [("  server ", "$text-muted"), terminal_safe(info.server)]
        where = [("kataview", "bold $accent"), ("  context ", "$text-muted"), terminal_safe(info.context),
                 ("  ns ", "$text-muted"), terminal_safe(namespace or "all"), "  "]
        width = self.size.width or 200
        line1 = Content.assemble(*where[:3], *server, *where[3:], *badges)
        if line1.cell_length > width:  # narrow terminal: the server goes first
            line1 = Content.assemble(*where, *badges)
        if view is None:
            line2 = Content.styled("waiting for the first snapshot…", "$text-muted")
        elif view.state.never_connected:
            line2 = Content.styled("no data: nothing has been read from the cluster yet", "$text-muted")
        else:
            snapshot = view.snapshot
            counts: list = [plural(len(snapshot.nodes), "node"), *undecodable(snapshot, "nodes"), " · ",
                            plural(len(snapshot.runtime_classes), "RuntimeClass").replace("Classs", "Classes"),
                            *undecodable(snapshot, "runtimeclasses"),
                            " · ", plural(len(snapshot.pods), "pod"), *undecodable(snapshot, "pods"), ": "]
            for index, (text, style) in enumerate(runtime_counts(view)):
                counts += [" · " if index else "", (text, style)]
            unread = sorted(set(snapshot.unreadable) - set(view.state.denied))
            if unread:  # denials are a state on the first line; anything else unread, here
                counts += ["  ", (f"unreadable: {', '.join(unread)}", "$warning")]
            line2 = Content.assemble(*counts)
        self.update(Content("\n").join([line1, line2]))
