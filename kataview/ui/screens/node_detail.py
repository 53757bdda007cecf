"""Node detail: labels, taints, runtime handlers (reported or inferred), conditions, the
node's pods by runtime (Enter opens a pod), and every Kata VM on the node with its pod,
listed over SSH (on open for a node that can run Kata, and on v; worker group "node-vms")."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from kataview.hosts.node_vms import NodeVM, gather_node_vms
from kataview.model import analysis
from kataview.model.cluster_view import ClusterView
from kataview.model.records import Node
from kataview.model.terminal_text import terminal_safe
from kataview.ui.formatting import age, clock, cpu, memory
from kataview.ui.screens.detail import DetailRow, DetailScreen, detail_columns, facts
from kataview.ui.theme import styles_dir
from kataview.ui.widgets.virtual_table import Section, VirtualTable
from kataview.ui.widgets.vm_panel import Spinner, duration, error_line

CONDITION_COLUMNS = detail_columns([("TYPE", 16), ("STATUS", 7), ("REASON", 26), ("MESSAGE", 20, True)])
POD_COLUMNS = detail_columns([("NAMESPACE", 14), ("NAME", 24, True), ("STATUS", 16), ("READY", 5), ("AGE", 6)])
VM_COLUMNS = detail_columns([("POD", 30, True), ("CTRS", 4), ("SANDBOX", 12), ("HYPERVISOR", 16), ("PID", 7),
                             ("vCPU", 6), ("MEMORY MiB", 12), ("RSS MiB", 7), ("CPU%", 5), ("UP", 7)])
VM_GROUP = "node-vms"


def vm_sections(vms: list[NodeVM]) -> list[Section]:
    """VMs grouped by the pod's owner: three replicas of a pod read as three VMs at once."""
    groups: dict[str, list[DetailRow]] = {}
    containers: dict[str, set[int]] = {}
    for item in vms:
        vm, pod = item.vm, item.pod
        owner = (f"{pod.owner.kind} {pod.namespace}/{pod.owner.name}" if pod and pod.owner
                 else f"Pod {pod.namespace}/{pod.name}" if pod else "no pod in the cluster (orphan sandbox?)")
        count = len(pod.containers) if pod else None
        mem = "?" if vm.memory_mib is None else f"{vm.memory_mib}/{vm.memory_max_mib or '?'}"
        cpus = "?" if vm.vcpus_boot is None else f"{vm.vcpus_boot:g}/{vm.vcpus_max or '?'}"
        groups.setdefault(owner, []).append(DetailRow(vm.sandbox_id or str(vm.pid), {
            "POD": pod.name if pod else "?", "CTRS": "?" if count is None else str(count),
            "SANDBOX": (vm.sandbox_id or "?")[:12], "HYPERVISOR": vm.kind or "?", "PID": str(vm.pid),
            "vCPU": cpus, "MEMORY MiB": mem,
            "RSS MiB": "?" if vm.host_rss_kib is None else f"{vm.host_rss_kib / 1024:,.0f}",
            "CPU%": "?" if vm.host_cpu_percent is None else f"{vm.host_cpu_percent:.1f}",
            "UP": duration(vm.uptime_seconds),
        }, {"POD": "" if pod else "warning"}, target=("Pod", pod.uid) if pod else None))
        if count is not None:
            containers.setdefault(owner, set()).add(count)
    sections = []
    for owner, rows in groups.items():
        counts = containers.get(owner, set())
        each = f"{next(iter(counts))} container{'s' if counts != {1} else ''} each" if len(counts) == 1 else ""
        sections.append(Section(owner, rows, title=owner, style="kata", noun="VMs", detail=each))
    return sections


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
    CSS_PATH = [styles_dir() / "vm.tcss"]
    BINDINGS = [Binding("v", "list_vms", "List VMs", id="list-vms")]

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.node: Node | None = None
        self._vms_asked = False

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary", classes="section")
        yield Static(id="handlers", classes="section")
        # the Kata VMs come right after the handlers: above the fold at 160x48 whatever the
        # node's labels, conditions and pods take
        yield Spinner(id="node-vms-spinner", animate=self.app.settings.frozen_now is None)
        yield VirtualTable(VM_COLUMNS, id="node-vms", classes="section", empty_text="")
        yield VirtualTable(POD_COLUMNS, id="node-pods", classes="section", empty_text="no pods on this node")
        yield VirtualTable(CONDITION_COLUMNS, id="conditions", classes="section", empty_text="no conditions")
        yield Static(id="labels", classes="section")

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
        self.query_one("#title", Static).update(Content.assemble(("Node ", "$text-muted"), (terminal_safe(node.name), "bold")))
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
        if not self._vms_asked:
            self._vms_asked = True
            self.query_one(Spinner).stop()
            table = self.query_one("#node-vms", VirtualTable)
            table.border_title = "Kata VMs on this node"
            kata = any(analysis.runtime_family(h) == "kata" for h in handlers.names) or any(
                analysis.pod_runtime(p, snapshot).family == "kata" for p in snapshot.pods.values()
                if p.node_name == node.name)
            if kata and self.app.vm_gatherer() is not None:
                self.action_list_vms()
            else:
                self._vm_note("press v to list the Kata VMs on this node over SSH"
                              if self.app.vm_gatherer() is not None else
                              "Kata VMs are listed over SSH when kataview watches a cluster")
        return present

    # ---- VMs over SSH ---------------------------------------------------------------------

    def _vm_note(self, text: str) -> None:
        table = self.query_one("#node-vms", VirtualTable)
        table.empty_text = text
        table.set_sections([])
        table.refresh()

    def action_list_vms(self) -> None:
        gatherer = self.app.vm_gatherer()
        view, node = self.app.view, self.node
        if gatherer is None or node is None or view is None:
            return
        snapshot = view.snapshot
        pods = [p for p in snapshot.pods.values() if p.node_name == node.name
                and analysis.pod_runtime(p, snapshot).family == "kata"]
        self.query_one(Spinner).spin(f"listing Kata VMs over SSH on {node.name} ({gatherer.pool.address_of(node)})…")
        self.run_worker(gather_node_vms(gatherer, node, pods), name=f"vms on {node.name}", group=VM_GROUP,
                        exclusive=True, exit_on_error=False, description=f"Kata VMs on {node.name}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != VM_GROUP or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self.query_one(Spinner).stop()
        table = self.query_one("#node-vms", VirtualTable)
        if event.state == WorkerState.ERROR:
            line, _ = error_line(event.worker.error, self.key, self.app.settings.read_only, retry="v",
                                 trust_hint="Open one of its Kata pods to check and trust the key.")
            self._vm_note(line.plain)
            table.border_title = "Kata VMs on this node (could not list)"
            return
        vms: list[NodeVM] = event.worker.result
        for item in vms:
            if item.pod is not None:
                self.app.remember_vm(item.pod.uid, item.vm)
        containers = sum(len(item.pod.containers) for item in vms if item.pod)
        table.border_title = (f"Kata VMs on this node ({len(vms)} VM{'s' if len(vms) != 1 else ''}, "
                              f"{containers} containers) · listed {clock(self.app.now())} · v refresh")
        table.empty_text = "no Kata VM runs on this node"
        table.set_sections(vm_sections(vms))

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
