"""What the screens show, derived once per snapshot: rows for every list, counts, findings.

Pure Python (no textual). Pod rows are reused when the pod record is the same object as in
the previous snapshot (informers share unchanged records), so a 150,000-pod update costs
little more than the pods that changed. Every row has a `key` (pod uid, node name, RC name),
a `namespace` ("" when cluster-scoped) and a lowercase `haystack` for the `/` filter.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter

from kataview.model.records import ClusterSnapshot, Node, Pod, RuntimeClass, WatchState
from kataview.ui import analysis
from kataview.ui.formatting import cpu, memory

WARNING_GLYPH = "⚠"
INFERRED_MARK = "~"
KATA_LABEL = "katacontainers.io/kata-runtime"


class PodRow:
    __slots__ = ("key", "namespace", "name", "node", "runtime", "family", "status", "ready",
                 "restarts", "created", "haystack", "sort_key", "pod")

    def __init__(self, pod: Pod, runtime: str, family: str) -> None:
        self.pod = pod
        self.key = pod.uid
        self.namespace = pod.namespace
        self.name = pod.name
        self.node = pod.node_name or ""
        self.runtime = runtime
        self.family = family
        self.status = pod.status_text
        self.ready = f"{pod.ready_count}/{len(pod.containers)}"
        self.restarts = pod.restarts
        self.created = pod.created
        self.haystack = f"{pod.namespace}\0{pod.name}\0{self.node}".lower()
        self.sort_key = f"{pod.namespace}\0{pod.name}"


@dataclass
class PodGroup:
    label: str
    handler: str | None
    family: str
    rows: list[PodRow]
    detail: str = ""  # e.g. "handler 'runsc' via RuntimeClass gvisor"

    @property
    def key(self) -> str:
        return f"group:{self.label}"


@dataclass(frozen=True)
class NodeRow:
    key: str
    name: str
    ready: str
    roles: str
    runtime: str
    handlers: str
    kata: str
    taints: str
    pods: str
    warning: str
    haystack: str
    namespace: str = ""


@dataclass(frozen=True)
class RuntimeClassRow:
    key: str
    name: str
    handler: str
    family: str
    overhead: str
    scheduling: str
    pods: int
    nodes: str
    warning: str
    haystack: str
    namespace: str = ""


@dataclass(frozen=True)
class FindingRow:
    key: str
    severity: str
    code: str
    kind: str
    namespace: str
    name: str
    target: str
    message: str
    haystack: str


@dataclass
class ClusterView:
    snapshot: ClusterSnapshot
    state: WatchState
    pod_groups: list[PodGroup] = field(default_factory=list)
    nodes: list[NodeRow] = field(default_factory=list)
    runtime_classes: list[RuntimeClassRow] = field(default_factory=list)
    findings: list[FindingRow] = field(default_factory=list)
    namespaces: dict[str, int] = field(default_factory=dict)
    runtime_counts: dict[str, int] = field(default_factory=dict)
    pods_on_node: dict[str, dict[str, int]] = field(default_factory=dict)
    pod_rows: dict[str, PodRow] = field(default_factory=dict)  # by pod uid
    family_of: dict[str, str] = field(default_factory=dict)  # runtime label -> family
    received_at: datetime | None = None

    def findings_for(self, kind: str, name: str, namespace: str = "") -> list[FindingRow]:
        return [row for row in self.findings
                if row.kind == kind and row.name == name and row.namespace == namespace]


def build_pod_groups(snapshot: ClusterSnapshot, previous: dict[str, PodRow]) -> list[PodGroup]:
    groups = []
    for group in analysis.group_pods_by_runtime(snapshot):
        label, family = group.label, group.family
        rows = []
        for pod in group.pods:
            row = previous.get(pod.uid)
            if row is None or row.pod is not pod or row.runtime != label:
                row = PodRow(pod, label, family)
            rows.append(row)
        rows.sort(key=attrgetter("sort_key"))
        detail = group.detail if group.source not in ("default", "legacy-annotation") else ""
        groups.append(PodGroup(label, group.handler, family, rows, detail))
    return groups


def node_row(node: Node, snapshot: ClusterSnapshot, pods: dict[str, int], warned: bool) -> NodeRow:
    handlers = analysis.node_handlers(node, snapshot)
    handler_text = ",".join(handlers.names) or "default only"
    if handlers.inferred:
        handler_text += f" {INFERRED_MARK}"
    if handlers.known_missing:
        handler_text += f" (lacks {','.join(handlers.known_missing)})"
    ready = {True: "Ready", False: "NotReady", None: "Unknown"}[node.ready]
    if node.unschedulable:
        ready += ",NoSched"
    kata = node.labels.get(KATA_LABEL, "")
    pods_text = " ".join(f"{label.split(' ')[0]}:{n}" for label, n in sorted(pods.items()))
    return NodeRow(
        key=node.name, name=node.name, ready=ready, roles=",".join(node.roles) or "<none>",
        runtime=node.container_runtime_version or "?", handlers=handler_text,
        kata=kata or "-", taints=",".join(str(t) for t in node.taints) or "-",
        pods=pods_text or "-", warning=WARNING_GLYPH if warned else "",
        haystack=f"\0{node.name}\0{node.name}".lower())


def scheduling_text(rc: RuntimeClass) -> str:
    if rc.node_selector is None and not rc.tolerations:
        return "-"
    parts = []
    if rc.node_selector:
        parts.append("sel " + ",".join(f"{k}={v}" for k, v in sorted(rc.node_selector.items())))
    if rc.tolerations:
        parts.append("tol " + ",".join(str(t) for t in rc.tolerations))
    return "; ".join(parts) or "-"


def overhead_text(rc: RuntimeClass) -> str:
    if rc.overhead_cpu_millis is None and rc.overhead_memory_bytes is None and not rc.overhead:
        return "-"
    if rc.overhead_cpu_millis is None and rc.overhead_memory_bytes is None:
        return " ".join(f"{k}={v}" for k, v in sorted(rc.overhead.items()))
    return f"{cpu(rc.overhead_cpu_millis)}/{memory(rc.overhead_memory_bytes)}"


def runtime_class_row(rc: RuntimeClass, snapshot: ClusterSnapshot, pods: int, warned: bool) -> RuntimeClassRow:
    fits = analysis.runtime_class_nodes(rc, snapshot)
    able = sum(1 for fit in fits if fit.can_run)
    inferred = any(fit.inferred for fit in fits if fit.can_run)
    return RuntimeClassRow(
        key=rc.name, name=rc.name, handler=rc.handler, family=analysis.runtime_family(rc.handler),
        overhead=overhead_text(rc), scheduling=scheduling_text(rc), pods=pods,
        nodes=f"{able}/{len(fits)}" + (f" {INFERRED_MARK}" if inferred else ""),
        warning=WARNING_GLYPH if warned else "", haystack=f"\0{rc.name}\0{rc.handler}".lower())


def finding_rows(snapshot: ClusterSnapshot) -> list[FindingRow]:
    rows = []
    order = {"error": 0, "warning": 1, "info": 2}
    for index, finding in enumerate(analysis.find_findings(snapshot)):
        namespace = finding.namespace or ""
        target = f"{namespace}/{finding.name}" if namespace else finding.name
        rows.append(FindingRow(
            key=f"{finding.code}:{finding.kind}:{target}:{index}", severity=finding.severity,
            code=finding.code, kind=finding.kind, namespace=namespace, name=finding.name,
            target=f"{finding.kind} {target}", message=finding.message,
            haystack=f"{namespace}\0{finding.name}\0{finding.message}".lower()))
    rows.sort(key=lambda row: (order.get(row.severity, 3), row.kind, row.namespace, row.name))
    return rows


def build_view(snapshot: ClusterSnapshot, state: WatchState, previous: ClusterView | None = None,
               received_at: datetime | None = None) -> ClusterView:
    groups = build_pod_groups(snapshot, previous.pod_rows if previous is not None else {})
    view = ClusterView(snapshot, state, pod_groups=groups, received_at=received_at)
    view.findings = finding_rows(snapshot)
    warned = {(row.kind, row.name) for row in view.findings if not row.namespace}
    view.pods_on_node = analysis.pods_per_runtime_on_node(snapshot)
    view.runtime_counts = {group.label: len(group.rows) for group in groups}
    view.family_of = {group.label: group.family for group in groups}
    view.pod_rows = {row.key: row for group in groups for row in group.rows}
    view.namespaces = dict(sorted(Counter(pod.namespace for pod in snapshot.pods.values()).items()))
    rc_pods = Counter(pod.runtime_class_name for pod in snapshot.pods.values() if pod.runtime_class_name)
    view.nodes = [node_row(node, snapshot, view.pods_on_node.get(node.name, {}), ("Node", node.name) in warned)
                  for node in sorted(snapshot.nodes.values(), key=attrgetter("name"))]
    view.runtime_classes = [runtime_class_row(rc, snapshot, rc_pods.get(rc.name, 0), ("RuntimeClass", rc.name) in warned)
                            for rc in sorted(snapshot.runtime_classes.values(), key=attrgetter("name"))]
    return view
