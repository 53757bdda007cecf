"""The header: where we are connected, what the cluster holds, and how fresh the data is."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from kataview.model.records import WatchState
from kataview.model.redaction import redact
from kataview.model.terminal_text import terminal_safe
from kataview.sources import SourceInfo
from kataview.ui.cluster_view import ClusterView
from kataview.ui.formatting import clock, count, plural

FAMILY_VARIABLE = {"runc": "$runtime-runc", "kata": "$runtime-kata", "gvisor": "$runtime-gvisor"}


def watch_text(state: WatchState) -> tuple[str, str]:
    """(text, style) for the freshness badge; the text alone says everything."""
    if state.phase == "syncing":
        return f"◌ {state.label}", "$text-muted"
    if state.phase == "live":
        return "● live", "$success"
    since = f" since {clock(state.stale_since)}" if state.stale_since else ""
    if state.phase == "reconnecting":
        return f"◐ reconnecting (stale{since})", "$stale"
    return f"✕ stale{since}", "$stale"


def runtime_counts(view: ClusterView) -> list[tuple[str, str]]:
    parts = []
    for label, number in view.runtime_counts.items():
        family = view.family_of.get(label, "other")
        parts.append((terminal_safe(f"{label} {count(number)}"), FAMILY_VARIABLE.get(family, "$runtime-other")))
    return parts


class ClusterHeader(Static):
    """Two lines: connection, namespace and state; then the cluster's counts."""

    _shown: tuple | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def show(self, view: ClusterView | None, info: SourceInfo, namespace: str | None,
             read_only: bool, now: datetime) -> None:
        self._shown = (view, info, namespace, read_only, now)
        badges: list = []
        if read_only:
            badges += [(" READ-ONLY ", "bold reverse $warning"), " "]
        if view is not None:
            text, style = watch_text(view.state)
            badges += [(text, f"bold {style}")]
            errors = view.state.last_error or ", ".join(f"{k}: {v}" for k, v in view.state.errors.items())
            if errors and view.state.phase != "live":
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
        else:
            snapshot = view.snapshot
            counts: list = [plural(len(snapshot.nodes), "node"), " · ",
                            plural(len(snapshot.runtime_classes), "RuntimeClass").replace("Classs", "Classes"),
                            " · ", plural(len(snapshot.pods), "pod"), ": "]
            for index, (text, style) in enumerate(runtime_counts(view)):
                counts += [" · " if index else "", (text, style)]
            if snapshot.unreadable:
                counts += ["  ", (f"unreadable: {', '.join(sorted(snapshot.unreadable))}", "$warning")]
            line2 = Content.assemble(*counts)
        self.update(Content("\n").join([line1, line2]))
