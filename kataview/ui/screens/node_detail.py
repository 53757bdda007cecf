"""Node detail: labels, taints, runtime handlers (reported or inferred), conditions, and the
node's pods by runtime (Enter opens a pod)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from kataview.model.records import Node
from kataview.ui import analysis
from kataview.ui.cluster_view import ClusterView
from kataview.ui.formatting import age, cpu, memory
from kataview.ui.screens.detail import DetailRow, DetailScreen, detail_columns, facts
from kataview.ui.widgets.virtual_table import Section, VirtualTable

CONDITION_COLUMNS = detail_columns([("TYPE", 16), ("STATUS", 7), ("REASON", 26), ("MESSAGE", 20, True)])
POD_COLUMNS = detail_columns([("NAMESPACE", 14), ("NAME", 24, True), ("STATUS", 16), ("READY", 5), ("AGE", 5)])


def condition_rows(node: Node) -> list[DetailRow]:
    rows = []
    for condition in node.conditions:
        healthy = (condition.status == "True") == (condition.type == "Ready")
        rows.append(DetailRow(condition.type, {"TYPE": condition.type, "STATUS": condition.status,
                                               "REASON": condition.reason, "MESSAGE": condition.message},
                              {"STATUS": "" if healthy else "error"}))
    return rows


class NodeDetailScreen(DetailScreen):
    kind = "node"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.node: Node | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary", classes="section")
        yield Static(id="handlers", classes="section")
        yield Static(id="labels", classes="section")
        yield VirtualTable(CONDITION_COLUMNS, id="conditions", classes="section", empty_text="no conditions")
        yield VirtualTable(POD_COLUMNS, id="node-pods", classes="section", empty_text="no pods on this node")

    def refresh_body(self, view: ClusterView) -> bool:
        snapshot = view.snapshot
        node = snapshot.nodes.get(self.key)
        present = node is not None
        node = node or self.node
        if node is None:
            self.query_one("#title", Static).update("node not found")
            return False
        self.node = node
        now = self.app.now()
        self.query_one("#title", Static).update(Content.assemble(("Node ", "$text-muted"), (node.name, "bold")))
        runtime_name, runtime_version = node.container_runtime
        self.section("summary", "Node", facts([
            ("status", {True: "Ready", False: "NotReady", None: "Unknown"}[node.ready]
             + (", unschedulable" if node.unschedulable else "")),
            ("roles", ",".join(node.roles) or "<none>"), ("address", node.address() or ""),
            ("runtime", f"{runtime_name} {runtime_version}" if runtime_name else node.container_runtime_version or "?"),
            ("kubelet", node.kubelet_version), ("OS", node.os_image), ("kernel", node.kernel_version),
            ("capacity", f"{cpu(node.cpu_capacity_millis)} cpu, {memory(node.memory_capacity_bytes)}"
             if node.cpu_capacity_millis else ""),
            ("age", age(node.created, now)),
            ("findings", "; ".join(f"{f.code} {f.message}" for f in view.findings_for("Node", node.name))),
        ]))
        handlers = analysis.node_handlers(node, snapshot)
        how = "inferred" if handlers.inferred else "reported"
        self.section("handlers", "Runtime handlers", facts([
            ("handlers", ", ".join(handlers.names) or "none"),
            ("source", f"{how}: {handlers.reason}"),
            ("taints", ", ".join(str(taint) for taint in node.taints) or "none"),
        ]))
        self.section("labels", f"Labels ({len(node.labels)})",
                     "\n".join(f"{k}={v}" if v else k for k, v in sorted(node.labels.items())) or "none")
        conditions = self.query_one("#conditions", VirtualTable)
        conditions.border_title = "Conditions"
        conditions.set_rows(condition_rows(node))
        self.show_pods(view, node, now)
        return present

    def show_pods(self, view: ClusterView, node: Node, now) -> None:
        sections = []
        total = 0
        for group in view.pod_groups:
            rows = [DetailRow(row.key, {"NAMESPACE": row.namespace, "NAME": row.name, "STATUS": row.status,
                                        "READY": row.ready, "AGE": age(row.created, now)},
                              {"STATUS": "" if row.status == "Running" else "warning"}, target=("Pod", row.key))
                    for row in group.rows if row.node == node.name]
            if rows:
                sections.append(Section(group.key, rows, title=group.label, style=group.family))
                total += len(rows)
        table = self.query_one("#node-pods", VirtualTable)
        table.border_title = f"Pods by runtime ({total:,})"
        table.set_sections(sections)
