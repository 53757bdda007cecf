"""Pod detail: containers and their states, recent events, its RuntimeClass and overhead, and
the VM panel (filled over SSH by a later release; until then it says how it will be)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from kataview.model.records import ClusterSnapshot, Pod
from kataview.ui import analysis
from kataview.ui.cluster_view import ClusterView, overhead_text, scheduling_text
from kataview.ui.formatting import age, clock, labels_text
from kataview.ui.screens.detail import DetailRow, DetailScreen, detail_columns, facts
from kataview.ui.widgets.cluster_header import FAMILY_VARIABLE
from kataview.ui.widgets.virtual_table import VirtualTable

CONTAINER_COLUMNS = detail_columns([("NAME", 14), ("STATE", 10), ("REASON", 18), ("READY", 5),
                                    ("RESTARTS", 8), ("STARTED", 8), ("IMAGE", 20, True)])
EVENT_COLUMNS = detail_columns([("LAST", 8), ("TYPE", 7), ("REASON", 22), ("COUNT", 5), ("MESSAGE", 30, True)])


def vm_text(pod: Pod, family: str) -> str:
    node = pod.node_name or "(not scheduled yet)"
    if family == "kata":
        return (f"This pod runs in its own Kata Containers VM on node {node}.\n"
                f"VM detail is gathered over SSH from node {node}: the sandbox id via crictl, the "
                "hypervisor process via ps, then vCPUs, memory, guest kernel, shared filesystem and "
                "host-side RSS/CPU (coming in the next release).")
    if family == "gvisor":
        return (f"This pod runs in a gVisor sandbox (runsc) on node {node}: a user-space kernel, no VM. "
                "Sandbox detail over SSH comes in the next release.")
    if family == "runc":
        return "This pod runs in plain runc containers on the node's kernel: there is no VM."
    return "This pod's runtime handler is unknown to kataview, so there is no VM detail to gather."


def container_rows(pod: Pod, now) -> list[DetailRow]:
    rows = []
    for container in pod.containers:
        state = container.state or "unknown"
        rows.append(DetailRow(container.name, {
            "NAME": container.name, "STATE": state, "REASON": container.reason or container.last_termination_reason,
            "READY": "yes" if container.ready else "no", "RESTARTS": str(container.restart_count),
            "STARTED": age(container.started_at, now) if container.started_at else "-", "IMAGE": container.image,
        }, {"STATE": "" if state == "running" else "warning", "READY": "" if container.ready else "warning"}))
    return rows


def event_rows(pod: Pod, snapshot: ClusterSnapshot) -> list[DetailRow]:
    events = [event for event in snapshot.events
              if event.involved_uid == pod.uid or (event.involved_kind == "Pod" and event.involved_name == pod.name
                                                   and event.involved_namespace == pod.namespace)]
    events.sort(key=lambda event: event.last_seen or event.first_seen or snapshot.taken_at, reverse=True)
    return [DetailRow(event.uid, {
        "LAST": clock(event.last_seen), "TYPE": event.type, "REASON": event.reason,
        "COUNT": str(event.count), "MESSAGE": event.message,
    }, {"TYPE": "warning" if event.type == "Warning" else ""}) for event in events[:50]]


class PodDetailScreen(DetailScreen):
    kind = "pod"

    def __init__(self, uid: str) -> None:
        super().__init__(uid)
        self.pod: Pod | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary", classes="section")
        yield VirtualTable(CONTAINER_COLUMNS, id="containers", classes="section", empty_text="no container status yet")
        yield Static(id="runtime", classes="section")
        yield Static(id="vm", classes="section")
        yield VirtualTable(EVENT_COLUMNS, id="events", classes="section", empty_text="no sandbox events")

    def refresh_body(self, view: ClusterView) -> bool:
        snapshot = view.snapshot
        pod = snapshot.pods.get(self.key)
        present = pod is not None
        pod = pod or self.pod
        if pod is None:
            self.query_one("#title", Static).update("pod not found")
            return False
        self.pod = pod
        runtime = analysis.pod_runtime(pod, snapshot)
        now = self.app.now()
        runtime_style = FAMILY_VARIABLE.get(runtime.family, "$runtime-other")
        self.query_one("#title", Static).update(Content.assemble(
            ("Pod ", "$text-muted"), (f"{pod.namespace}/{pod.name}", "bold"), "  ", (f"[{runtime.label}]", runtime_style)))
        self.section("summary", "Pod", facts([
            ("node", pod.node_name or "<not scheduled>"), ("status", pod.status_text), ("phase", pod.phase),
            ("ready", f"{pod.ready_count}/{len(pod.containers)}"), ("restarts", pod.restarts),
            ("age", age(pod.created, now)), ("pod IP", pod.pod_ip), ("QoS", pod.qos_class),
            ("owner", f"{pod.owner.kind}/{pod.owner.name}" if pod.owner else ""),
            ("labels", labels_text(pod.labels)),
            ("findings", "; ".join(f"{f.code} {f.message}" for f in view.findings_for("Pod", pod.name, pod.namespace))),
        ]))
        containers = self.query_one("#containers", VirtualTable)
        containers.border_title = f"Containers ({len(pod.containers)})"
        containers.set_rows(container_rows(pod, now))
        self.section("runtime", "Runtime", self.runtime_facts(pod, runtime, snapshot))
        self.section("vm", "VM", vm_text(pod, runtime.family))
        events = self.query_one("#events", VirtualTable)
        rows = event_rows(pod, snapshot)
        events.border_title = f"Recent events ({len(rows)})"
        events.set_rows(rows)
        return present

    def runtime_facts(self, pod: Pod, runtime, snapshot: ClusterSnapshot) -> Content:
        rc = snapshot.runtime_classes.get(pod.runtime_class_name or "")
        style = FAMILY_VARIABLE.get(runtime.family, "$runtime-other")
        if pod.runtime_class_name and rc is None:
            rc_text = Content.styled(f"{pod.runtime_class_name} (does not exist)", "$error")
        else:
            rc_text = pod.runtime_class_name or "none (the node's default handler)"
        return facts([
            ("runtime", Content.styled(f"{runtime.label} ({runtime.family})", style)),
            ("RuntimeClass", rc_text),
            ("handler", "unknown: the RuntimeClass is missing" if runtime.handler is None
             else runtime.handler or "default (runc)"),
            ("class overhead", overhead_text(rc) if rc else ""),
            ("pod overhead", ", ".join(f"{k}={v}" for k, v in sorted(pod.overhead.items()))),
            ("scheduling", scheduling_text(rc) if rc else ""),
        ])
