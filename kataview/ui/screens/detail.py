"""The shape every detail screen shares: the cluster header, a title, a scrolling body of
sections, a banner when the object is gone, Escape to go back. Subclasses fill `refresh_body`
from each new ClusterView; the object they show is looked up by key, never by row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from kataview.model.cluster_view import ClusterView
from kataview.model.terminal_text import terminal_safe
from kataview.ui.widgets.cluster_header import ClusterHeader
from kataview.ui.widgets.column_fit import Column
from kataview.ui.widgets.virtual_table import VirtualTable


@dataclass(frozen=True)
class DetailRow:
    """A row of a small table on a detail screen; `cells` by column title."""

    key: str
    cells: dict[str, str]
    styles: dict[str, str]
    namespace: str = ""
    haystack: str = ""
    target: tuple[str, str] | None = None  # (kind, key) to open on Enter


def detail_columns(spec: Iterable[tuple[str, int] | tuple[str, int, bool]]) -> list[Column]:
    columns = []
    for title, width, *flex in spec:
        columns.append(Column(title, width, lambda row, t=title: row.cells.get(t, ""),
                              style=lambda row, t=title: row.styles.get(t), flex=bool(flex and flex[0])))
    return columns


def plain(text: str, *, lines: bool = False) -> Content:
    """Text from the cluster or a node as Content: never read as markup, terminal-safe."""
    return Content(terminal_safe(text, lines=lines))


def facts(pairs: Iterable[tuple[str, Any]]) -> Content:
    """Aligned "label  value" lines; values may be Content (already styled, made safe by
    whoever styled it) or plain text (made terminal-safe here)."""
    pairs = [(label, value) for label, value in pairs if value not in (None, "")]
    width = max((len(label) for label, _ in pairs), default=0)
    lines = [Content.assemble((label.ljust(width), "$text-muted"), "  ",
                              value if isinstance(value, Content) else plain(str(value))) for label, value in pairs]
    return Content("\n").join(lines)


class DetailScreen(Screen):
    BINDINGS = [Binding("escape", "back", "Back", id="back")]
    kind = ""

    def __init__(self, key: str) -> None:
        super().__init__(classes="detail")
        self.key = key
        self.gone_since = None  # when the object left the cluster

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield Static(id="title")
        yield Static(id="gone-banner")
        with VerticalScroll(id="body"):
            yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def section(self, widget_id: str, title: str, content: Content | str) -> None:
        """A str content is shown as it is (several lines, never markup), terminal-safe."""
        widget = self.query_one(f"#{widget_id}", Static)
        widget.border_title = title
        widget.update(content if isinstance(content, Content) else plain(content, lines=True))

    def on_mount(self) -> None:
        self.app.view_changed.subscribe(self, self.show_view)
        self.show_view(self.app.view)
        tables = self.query(VirtualTable)
        if tables:
            tables.first().focus()

    def show_view(self, view: ClusterView | None) -> None:
        app = self.app
        self.query_one(ClusterHeader).show(view, app.source.info, app.namespace, app.settings.read_only, app.now())
        if view is None:
            return
        present = self.refresh_body(view)
        banner = self.query_one("#gone-banner", Static)
        if present:
            self.gone_since = None
        elif self.gone_since is None:
            self.gone_since = view.snapshot.taken_at or app.now()
        banner.display = not present
        if not present:
            from kataview.ui.formatting import clock

            banner.update(f"{self.kind} deleted at {clock(self.gone_since)}; showing last known state")

    def refresh_body(self, view: ClusterView) -> bool:
        """Fill the sections; False when the object is no longer in the snapshot."""
        raise NotImplementedError

    def action_back(self) -> None:
        self.dismiss()

    def on_virtual_table_row_opened(self, event: VirtualTable.RowOpened) -> None:
        target = getattr(event.row, "target", None)
        if target is not None:
            self.app.open_object(*target)
