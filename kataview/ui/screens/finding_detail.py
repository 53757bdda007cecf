"""A finding's detail (Enter on a finding): its full text, what to do, what the check looks
at, and the objects involved (Enter opens a pod, node or RuntimeClass). model/finding_detail.py
works it out; the finding is looked up again in each new view by code and object."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from kataview.model.cluster_view import ClusterView
from kataview.model.finding_detail import FindingDetail, finding_detail
from kataview.model.terminal_text import terminal_safe
from kataview.ui.columns import SEVERITY_STYLE
from kataview.ui.screens.detail import DetailRow, DetailScreen, detail_columns, plain
from kataview.ui.widgets.virtual_table import VirtualTable

OBJECT_COLUMNS = detail_columns([("KIND", 12), ("OBJECT", 28, True), ("WHY", 30, True)])
OPENABLE = ("Pod", "Node", "RuntimeClass")


def finding_key(finding) -> str:
    """What names a finding across views (a Finding or a FindingRow)."""
    return "\0".join((finding.code, finding.kind, finding.namespace, finding.name))


class FindingDetailScreen(DetailScreen):
    kind = "Finding"

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.detail: FindingDetail | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(id="finding-text", classes="section")
        yield Static(id="finding-advice", classes="section")
        yield VirtualTable(OBJECT_COLUMNS, id="finding-objects", classes="section", empty_text="no objects")
        yield Static(id="finding-object-why", classes="section")
        yield Static(id="finding-check", classes="section")

    def refresh_body(self, view: ClusterView) -> bool:
        found = view.analysis.findings() if view.analysis is not None else []
        finding = next((f for f in found if finding_key(f) == self.key), None)
        present = finding is not None
        if finding is not None:
            self.detail = finding_detail(finding, view.analysis)
        detail = self.detail
        if detail is None:
            self.query_one("#title", Static).update("Finding no longer raised")
            return False
        finding = detail.finding
        self.query_one("#title", Static).update(Content.assemble(
            ("Finding ", "$text-muted"), (finding.code, "bold"), "  ",
            (finding.severity, f"bold ${SEVERITY_STYLE.get(finding.severity, 'text-muted')}"),
            (f"  {terminal_safe(finding.object)}", "")))
        self.section("finding-text", "What is wrong", detail.statement)
        self.section("finding-advice", "What to do", detail.advice or "-")
        self.section("finding-check", f"What {finding.code} checks", detail.check or "-")
        table = self.query_one("#finding-objects", VirtualTable)
        table.border_title = f"Objects involved ({len(detail.objects)})  ·  Enter opens a pod, node or RuntimeClass"
        table.set_rows([DetailRow(f"{index}", {"KIND": item.kind, "OBJECT": item.label, "WHY": item.role}, {},
                                  target=(item.kind, item.key) if item.kind in OPENABLE and item.key else None)
                        for index, item in enumerate(detail.objects)])
        self.show_object_why()
        return present

    def show_object_why(self) -> None:
        row = self.query_one("#finding-objects", VirtualTable).cursor_row
        text = f"{row.cells['KIND']} {row.cells['OBJECT']}: {row.cells['WHY']}" if row is not None else ""
        why = self.query_one("#finding-object-why", Static)
        why.border_title = "The object under the cursor"
        why.update(plain(text))

    def on_virtual_table_cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        self.show_object_why()

    def on_virtual_table_row_opened(self, event: VirtualTable.RowOpened) -> None:
        event.prevent_default()  # DetailScreen's handler would open the target a second time
        target = event.row.target
        if target is None:
            kind = event.row.cells["KIND"]
            why = "it is not in the cluster" if kind in OPENABLE else f"kataview has no {kind} view"
            self.notify(f"{kind} {event.row.cells['OBJECT']}: nothing to open ({why})", timeout=4)
            return
        self.app.open_object(*target)
