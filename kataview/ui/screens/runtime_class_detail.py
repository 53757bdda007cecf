"""RuntimeClass detail: handler, overhead, scheduling, the nodes that can or cannot run it
and why, and the pods that use it (Enter opens a node or a pod)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from kataview.model import analysis
from kataview.model.cluster_view import ClusterView
from kataview.model.object_rows import overhead_text, scheduling_text
from kataview.model.records import RuntimeClass
from kataview.model.terminal_text import terminal_safe
from kataview.ui.formatting import age
from kataview.ui.screens.detail import DetailRow, DetailScreen, detail_columns, facts
from kataview.ui.widgets.cluster_header import FAMILY_VARIABLE
from kataview.ui.widgets.virtual_table import VirtualTable

FIT_COLUMNS = detail_columns([("NODE", 16), ("CAN RUN", 8), ("HOW", 9), ("WHY", 30, True)])
POD_COLUMNS = detail_columns([("NAMESPACE", 14), ("NAME", 24, True), ("NODE", 14), ("STATUS", 16), ("AGE", 6)])


class RuntimeClassDetailScreen(DetailScreen):
    kind = "RuntimeClass"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.runtime_class: RuntimeClass | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary", classes="section")
        yield VirtualTable(FIT_COLUMNS, id="fits", classes="section", empty_text="no nodes")
        yield VirtualTable(POD_COLUMNS, id="rc-pods", classes="section", empty_text="no pods use this RuntimeClass")

    def refresh_body(self, view: ClusterView) -> bool:
        snapshot = view.snapshot
        rc = snapshot.runtime_classes.get(self.key)
        present = rc is not None
        rc = rc or self.runtime_class
        if rc is None:
            self.query_one("#title", Static).update("RuntimeClass not found")
            return False
        self.runtime_class = rc
        now = self.app.now()
        family = analysis.runtime_family(rc.handler)
        self.query_one("#title", Static).update(Content.assemble(
            ("RuntimeClass ", "$text-muted"), (terminal_safe(rc.name), f"bold {FAMILY_VARIABLE.get(family, '$runtime-other')}"),
            f"  ({family})"))
        self.section("summary", "RuntimeClass", facts([
            ("handler", rc.handler), ("family", family), ("overhead", overhead_text(rc)),
            ("scheduling", scheduling_text(rc)), ("age", age(rc.created, now)),
            ("findings", "; ".join(f"{f.code} {f.message}" for f in view.findings_for("RuntimeClass", rc.name))),
        ]))
        fits = analysis.runtime_class_nodes(rc, snapshot)
        able = sum(1 for fit in fits if fit.can_run)
        fit_table = self.query_one("#fits", VirtualTable)
        fit_table.border_title = f"Nodes: {able} of {len(fits)} can run it"
        fit_table.set_rows([DetailRow(fit.node, {
            "NODE": fit.node, "CAN RUN": "yes" if fit.can_run else "no",
            "HOW": "inferred" if fit.inferred else "reported", "WHY": fit.why,
        }, {"CAN RUN": "" if fit.can_run else "error"}, target=("Node", fit.node)) for fit in fits])
        rows = [DetailRow(row.key, {
            "NAMESPACE": row.namespace, "NAME": row.name, "NODE": row.node or "<none>", "STATUS": row.status,
            "AGE": age(row.created, now)}, {"STATUS": "" if row.status == "Running" else "warning"},
            target=("Pod", row.key))
            for group in view.pod_groups for row in group.rows if row.pod.runtime_class_name == rc.name]
        pod_table = self.query_one("#rc-pods", VirtualTable)
        pod_table.border_title = f"Pods ({len(rows):,})"
        pod_table.set_rows(rows)
        return present
