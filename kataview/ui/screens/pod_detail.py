"""Pod detail: containers and their states, recent events, its RuntimeClass and overhead, and
the VM panel: for a Kata pod, its VM gathered over SSH from the node (a worker in group
"vm-detail"), refreshed on r and every few seconds while the screen is in front. An unknown
host key is offered for trust in a dialog (never in read-only mode); a changed one never is.

The first gather starts when the screen is composed (right after Enter), not once it is
mounted and painted: the SSH round trip overlaps with building the screen, and an answer
that arrives before the panel is ready is shown in the first paint, without a spinner. The
worker fills the panel itself when the answer comes (no round trip through a message)."""

from __future__ import annotations

import asyncio
import shlex
from functools import partial

from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Static

from kataview.hosts.errors import HostKeyChanged, UnknownHostKey
from kataview.model import analysis
from kataview.model.cluster_view import ClusterView
from kataview.model.object_rows import overhead_text, scheduling_text
from kataview.model.records import ClusterSnapshot, Node, Pod
from kataview.model.terminal_text import terminal_safe
from kataview.model.vm import VMDetail
from kataview.ui.formatting import age, clock, labels_text
from kataview.ui.screens.detail import DetailRow, DetailScreen, detail_columns, facts
from kataview.ui.theme import styles_dir
from kataview.ui.widgets.cluster_header import FAMILY_VARIABLE
from kataview.ui.widgets.virtual_table import VirtualTable
from kataview.ui.widgets.vm_panel import VMPanel

CONTAINER_COLUMNS = detail_columns([("NAME", 14), ("STATE", 10), ("REASON", 18), ("READY", 5),
                                    ("RESTARTS", 8), ("STARTED", 8), ("IMAGE", 20, True)])
EVENT_COLUMNS = detail_columns([("LAST", 8), ("TYPE", 7), ("REASON", 22), ("COUNT", 5), ("MESSAGE", 30, True)])
VM_REFRESH_SECONDS = 5.0  # Settings.vm_refresh_seconds wins when present; 0 turns it off
VM_GROUP = "vm-detail"


def vm_text(pod: Pod, family: str, node: Node | None = None, reachable: bool = True) -> str:
    """What the VM panel says when there is no VM detail to gather."""
    name = pod.node_name or "(not scheduled yet)"
    if family == "kata":
        if not pod.node_name:
            return "This pod will run in its own Kata Containers VM once it is scheduled: no VM yet."
        if node is None:
            return f"This pod runs in a Kata Containers VM on node {name}, which is not in the cluster any more."
        if not reachable:
            return (f"This pod runs in its own Kata Containers VM on node {name}. VM detail is gathered "
                    f"over SSH from node {name} (the sandbox id via crictl, the hypervisor via ps) when "
                    "kataview watches a cluster; this is a fixed snapshot.")
    if family == "gvisor":
        return f"This pod runs in a gVisor sandbox (runsc) on node {name}: a user-space kernel, no VM."
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


def kubectl_command(verb: str, pod: Pod, context: str) -> str:
    """The kubectl command that edits the pod or opens a shell in its first container."""
    words = ["kubectl", "--context", context, "-n", pod.namespace]
    if verb == "edit":
        words += ["edit", "pod", pod.name]
    else:
        container = pod.containers[0].name if pod.containers else ""
        words += ["exec", "-it", pod.name, *(["-c", container] if container else []), "--", "sh"]
    return shlex.join(words)


class PodDetailScreen(DetailScreen):
    kind = "pod"
    CSS_PATH = [styles_dir() / "vm.tcss"]
    BINDINGS = [Binding("r", "refresh_vm", "Refresh VM", id="refresh-vm"),
                Binding("e", "kubectl('edit')", "Edit (kubectl)", id="pod-edit"),
                Binding("s", "kubectl('exec')", "Shell (kubectl)", id="pod-shell"),
                Binding("y", "read_pod('yaml')", "YAML", id="pod-yaml"),
                Binding("d", "read_pod('describe')", "Describe", id="pod-describe"),
                Binding("l", "read_pod('logs')", "Logs", id="pod-logs")]

    def __init__(self, uid: str) -> None:
        super().__init__(uid)
        self.pod: Pod | None = None
        self.vm_target: tuple[Pod, Node, ClusterSnapshot] | None = None  # a Kata pod we can reach
        self._vm_timer = None
        self._refused: set[tuple[str, int, str]] = set()  # host keys the operator refused here
        self._panel_ready = False  # the VM panel is mounted and has been told what to show
        self._vm_waiting: VMDetail | BaseException | None = None  # an answer before that

    def compose_body(self) -> ComposeResult:
        self._start_vm_early()
        yield Static(id="summary", classes="section")
        yield VirtualTable(CONTAINER_COLUMNS, id="containers", classes="section", empty_text="no container status yet")
        yield Static(id="runtime", classes="section")
        yield VMPanel(id="vm", classes="section", animate=self.app.settings.frozen_now is None)
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
            ("Pod ", "$text-muted"), (terminal_safe(f"{pod.namespace}/{pod.name}"), "bold"), "  ",
            (terminal_safe(f"[{runtime.label}]"), runtime_style)))
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
        self.update_vm(pod, runtime.family, snapshot)
        events = self.query_one("#events", VirtualTable)
        rows = event_rows(pod, snapshot)
        events.border_title = f"Recent events ({len(rows)})"
        events.set_rows(rows)
        return present

    # ---- the VM panel -------------------------------------------------------------------

    def _start_vm_early(self) -> None:
        """At compose time (just after Enter): start gathering before the screen is built."""
        view = self.app.view
        pod = view.snapshot.pods.get(self.key) if view is not None else None
        if pod is None:
            return
        snapshot = view.snapshot
        node = snapshot.nodes.get(pod.node_name or "")
        if node is None or analysis.pod_runtime(pod, snapshot).family != "kata":
            return
        if self.app.vm_gatherer() is not None:
            self.vm_target = (pod, node, snapshot)
            self.fetch_vm()

    def update_vm(self, pod: Pod, family: str, snapshot: ClusterSnapshot) -> None:
        """Start gathering the first time a reachable Kata pod is shown; else say why not."""
        node = snapshot.nodes.get(pod.node_name or "")
        gatherer = self.app.vm_gatherer() if family == "kata" and node is not None else None
        ready, self._panel_ready = self._panel_ready, True
        if gatherer is None:
            self.vm_target = None
            self.query_one(VMPanel).show_message(vm_text(pod, family, node, reachable=False))
            return
        first = self.vm_target is None
        self.vm_target = (pod, node, snapshot)
        if first:
            self.fetch_vm()
        elif not ready:  # started at compose time: show its answer, or that it is on its way
            waiting, self._vm_waiting = self._vm_waiting, None
            if waiting is not None:
                self._show_vm(waiting)
            else:
                self.query_one(VMPanel).show_loading(node.name, gatherer.pool.address_of(node))

    @property
    def vm_every(self) -> float:
        every = getattr(self.app.settings, "vm_refresh_seconds", None)
        return VM_REFRESH_SECONDS if every is None else float(every)

    def fetch_vm(self) -> None:
        if self.vm_target is None:
            return
        if self._vm_timer is not None:
            self._vm_timer.stop()
            self._vm_timer = None
        pod, node, snapshot = self.vm_target
        gatherer = self.app.vm_gatherer()
        self._vm_waiting = None
        if self._panel_ready:
            self.query_one(VMPanel).show_loading(node.name, gatherer.pool.address_of(node))
        self.run_worker(self._gather_vm(gatherer, pod, node, snapshot), name=f"vm {pod.key}",
                        group=VM_GROUP, exclusive=True, exit_on_error=False,
                        description=f"VM detail of {pod.key}")

    async def _gather_vm(self, gatherer, pod: Pod, node: Node, snapshot: ClusterSnapshot) -> VMDetail | None:
        """The worker: gather, then fill the panel at once (or leave the answer for it)."""
        try:
            result: VMDetail | BaseException = await gatherer.fetch(pod, node, snapshot)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a NodeError, or a bug: either way it is shown in place
            result = error
        if self._panel_ready:
            self._show_vm(result)
        else:
            self._vm_waiting = result
        return result if isinstance(result, VMDetail) else None

    def _show_vm(self, result: VMDetail | BaseException) -> None:
        if self.vm_target is None or not self.is_attached:
            return
        panel = self.query_one(VMPanel)
        if isinstance(result, VMDetail):
            self.app.remember_vm(self.vm_target[0].uid, result)
            panel.show_detail(result, self.app.now(), self.vm_every or None)
            self._schedule_vm()
            return
        node = self.vm_target[1].name
        panel.show_error(result, node, self.app.settings.read_only, self.app.now())
        self.app.record("error", f"VM detail of {self.vm_target[0].key}: {result}")
        if self._offer_host_key(result):
            return
        if not isinstance(result, (UnknownHostKey, HostKeyChanged)):
            self._schedule_vm()

    def _schedule_vm(self) -> None:
        if self.vm_every > 0:
            self._vm_timer = self.set_timer(self.vm_every, self._vm_tick)

    def _vm_tick(self) -> None:
        self._vm_timer = None
        if self.is_current:
            self.fetch_vm()
        else:  # behind a dialog or another screen: try again later
            self._schedule_vm()

    def _offer_host_key(self, error: BaseException) -> bool:
        """Ask to trust an unknown key (never in read-only mode, never a changed key)."""
        if not isinstance(error, UnknownHostKey) or isinstance(error, HostKeyChanged):
            return False
        if self.app.settings.read_only or error.key is None or not self.is_current:
            return False
        if (error.host, error.port, error.fingerprint) in self._refused:
            return False
        from kataview.ui.screens.host_key import HostKeyScreen

        self.app.push_screen(HostKeyScreen(error), callback=partial(self._host_key_answered, error))
        return True

    def _host_key_answered(self, error: UnknownHostKey, trusted: bool | None) -> None:
        if not trusted:
            self._refused.add((error.host, error.port, error.fingerprint))
            return
        from kataview.hosts.hostkeys import trust_host_key

        try:
            line = trust_host_key(error.host, error.port, error.key, error.known_hosts)
        except (HostKeyChanged, ValueError, OSError) as problem:
            node = self.vm_target[1].name if self.vm_target else error.node
            self.query_one(VMPanel).show_error(problem, node, self.app.settings.read_only, self.app.now())
            return
        self.app.record("info", f"trusted {error.fingerprint} for {error.host}:{error.port} "
                                f"in {error.known_hosts}: {line.strip()}")
        self.fetch_vm()

    def action_kubectl(self, verb: str) -> None:
        """kataview never writes to the cluster nor execs into it: say so, with the command that would."""
        if self.pod is None:
            return
        command = kubectl_command(verb, self.pod, self.app.source.info.context)
        what = "edit pods" if verb == "edit" else "exec into containers"
        self.app.record("info", f"kataview does not {what}; {command}")
        self.notify(terminal_safe(command), title=f"kataview does not {what}; this would:", timeout=15)

    def action_read_pod(self, what: str) -> None:
        """y, d, l: this pod's YAML, describe or container logs (k9s)."""
        if self.pod is None:
            return
        from kataview.ui.screens.pod_reading import pod_read_screen

        self.app.push_screen(pod_read_screen(what, self.pod))

    def action_refresh_vm(self) -> None:
        if self.vm_target is None:
            self.notify("This pod has no VM to gather.", timeout=2)
            return
        self._refused.clear()  # r asks again about a refused host key
        self.fetch_vm()

    def runtime_facts(self, pod: Pod, runtime, snapshot: ClusterSnapshot) -> Content:
        rc = snapshot.runtime_classes.get(pod.runtime_class_name or "")
        style = FAMILY_VARIABLE.get(runtime.family, "$runtime-other")
        if pod.runtime_class_name and rc is None:
            rc_text = Content.styled(terminal_safe(f"{pod.runtime_class_name} (does not exist)"), "$error")
        else:
            rc_text = pod.runtime_class_name or "none (the node's default handler)"
        return facts([
            ("runtime", Content.styled(terminal_safe(f"{runtime.label} ({runtime.family})"), style)),
            ("RuntimeClass", rc_text),
            ("handler", "unknown: the RuntimeClass is missing" if runtime.handler is None
             else runtime.handler or "default (runc)"),
            ("class overhead", overhead_text(rc) if rc else ""),
            ("pod overhead", ", ".join(f"{k}={v}" for k, v in sorted(pod.overhead.items()))),
            ("scheduling", scheduling_text(rc) if rc else ""),
        ])
