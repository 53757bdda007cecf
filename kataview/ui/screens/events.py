"""The `:events` screen: the events kataview has (a live cluster's informers watch sandbox
failures only: reason=FailedCreatePodSandBox), newest first, in the app's namespace. Enter
opens the event's pod."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from kataview.model.cluster_view import ClusterView
from kataview.model.events import PodFinder
from kataview.ui.formatting import age
from kataview.ui.screens.detail import DetailRow, detail_columns
from kataview.ui.widgets.cluster_header import ClusterHeader
from kataview.ui.widgets.virtual_table import VirtualTable

EVENT_COLUMNS = detail_columns([("LAST SEEN", 9), ("TYPE", 7), ("REASON", 22), ("OBJECT", 44),
                                ("COUNT", 5), ("MESSAGE", 30, True)])


def event_rows(view: ClusterView, namespace: str | None, now) -> list[DetailRow]:
    find = PodFinder(view.snapshot)
    events = [event for event in view.snapshot.events if namespace is None or event.involved_namespace == namespace]
    events.sort(key=lambda event: event.last_seen or event.first_seen or now, reverse=True)
    rows = []
    for event in events:
        pod = find(event.involved_uid, event.involved_namespace, event.involved_name) \
            if event.involved_kind == "Pod" else None
        where = "/".join(part for part in (event.involved_namespace, event.involved_name) if part)
        seen = event.last_seen or event.first_seen
        cells = {"LAST SEEN": age(seen, now) if seen else "?", "TYPE": event.type, "REASON": event.reason,
                 "OBJECT": f"{event.involved_kind} {where}".strip(), "COUNT": str(event.count),
                 "MESSAGE": event.message}
        rows.append(DetailRow(f"{event.namespace}/{event.name}/{event.uid}", cells,
                              {"TYPE": "warning" if event.type == "Warning" else ""},
                              namespace=event.involved_namespace,
                              haystack="\n".join(cells.values()).lower(),
                              target=("Pod", pod.uid) if pod is not None else None))
    return rows


class EventsScreen(Screen):
    BINDINGS = [Binding("escape", "back", "Back", id="back")]

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield VirtualTable(EVENT_COLUMNS, id="events", empty_text="no events (kataview watches sandbox failures)")
        yield Footer()

    def on_mount(self) -> None:
        self.app.view_changed.subscribe(self, self.show_view)
        self.show_view(self.app.view)
        self.query_one("#events", VirtualTable).focus()

    def show_view(self, view: ClusterView | None) -> None:
        app = self.app
        self.query_one(ClusterHeader).show(view, app.source.info, app.namespace, app.settings.read_only, app.now())
        table = self.query_one("#events", VirtualTable)
        rows = event_rows(view, app.namespace, app.now()) if view is not None else []
        scope = f" in {app.namespace}" if app.namespace else ""
        table.border_title = f"Events{scope} ({len(rows)})"
        table.set_rows(rows)

    def action_back(self) -> None:
        self.dismiss()

    def on_virtual_table_row_opened(self, event: VirtualTable.RowOpened) -> None:
        if event.row.target is not None:
            self.app.open_object(*event.row.target)
