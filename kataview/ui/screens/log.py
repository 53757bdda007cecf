"""The `L` screen (kataview's own log): the watch state history and every error, newest last."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from kataview.model.cluster_view import ClusterView
from kataview.model.redaction import redact
from kataview.ui.formatting import clock
from kataview.ui.screens.detail import DetailRow, detail_columns
from kataview.ui.widgets.cluster_header import ClusterHeader
from kataview.ui.widgets.virtual_table import VirtualTable

LOG_COLUMNS = detail_columns([("TIME", 8), ("LEVEL", 5), ("WHAT", 40, True)])


class LogScreen(Screen):
    BINDINGS = [Binding("escape,L", "back", "Back", id="back")]

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield VirtualTable(LOG_COLUMNS, id="log", empty_text="nothing logged yet")
        yield Footer()

    def on_mount(self) -> None:
        self.app.view_changed.subscribe(self, self.show_view)
        self.show_view(self.app.view)
        self.query_one("#log", VirtualTable).focus()

    def show_view(self, view: ClusterView | None) -> None:
        app = self.app
        self.query_one(ClusterHeader).show(view, app.source.info, app.namespace, app.settings.read_only, app.now())
        rows = [DetailRow(str(index), {"TIME": clock(moment), "LEVEL": level, "WHAT": redact(text)},
                          {"LEVEL": "error" if level == "error" else ""})
                for index, (moment, level, text) in enumerate(app.log_entries)]
        table = self.query_one("#log", VirtualTable)
        table.border_title = f"Log: watch state and errors ({len(rows)})"
        table.set_rows(rows)
        if rows and table.cursor_key in (None, rows[-2].key if len(rows) > 1 else None):
            table.action_edge(1)

    def action_back(self) -> None:
        self.dismiss()
