"""The rows of the nodes, RuntimeClasses and findings panes, from one analysis. Stdlib only.

Rows are frozen and reused while their inputs are the same objects as for the previous view:
each builder takes the previous inputs (name -> (inputs..., row)) and returns the rows with the
inputs to keep for the next view. Every row has a `key`, a `namespace` ("" when cluster-scoped)
and a lowercase `haystack` for the `/` filter (one column a line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kataview.model import analysis
from kataview.model.analysis import KATA_NODE_LABEL, Analysis, NodeHandlers
from kataview.model.quantity import format_bytes, format_millis
from kataview.model.records import ClusterSnapshot, Node, RuntimeClass

WARNING_GLYPH = "⚠"
INFERRED_MARK = "~"


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
    labels: Any = field(default_factory=dict, compare=False)  # for `/-l`
    pod_count: int = 0  # the sort key of PODS PER RUNTIME


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
    overhead_bytes: int = -1  # the sort key of OVERHEAD (-1: none)


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
    severity_rank: int = 9  # the sort key of SEV: errors first


def node_row(node: Node, snapshot: ClusterSnapshot, pods: dict[str, int], warned: bool,
             handlers: NodeHandlers | None = None) -> NodeRow:
    handlers = handlers if handlers is not None else analysis.node_handlers(node, snapshot)
    handler_text = ",".join(handlers.names) or "default only"
    if handlers.inferred:
        handler_text += f" {INFERRED_MARK}"
    if handlers.known_missing:
        handler_text += f" (lacks {','.join(handlers.known_missing)})"
    ready = {True: "Ready", False: "NotReady", None: "Unknown"}[node.ready]
    roles = ",".join(node.roles) or "<none>"
    if node.unschedulable:
        ready += ",NoSched"
    kata = node.labels.get(KATA_NODE_LABEL, "")
    pods_text = " ".join(f"{label.split(' ')[0]}:{n}" for label, n in sorted(pods.items()))
    return NodeRow(
        key=node.name, name=node.name, ready=ready, roles=roles,
        runtime=node.container_runtime_version or "?", handlers=handler_text,
        kata=kata or "-", taints=",".join(str(t) for t in node.taints) or "-",
        pods=pods_text or "-", warning=WARNING_GLYPH if warned else "",
        labels=node.labels, pod_count=sum(pods.values()),
        haystack="\n".join((node.name, ready, roles, node.container_runtime_version or "", handler_text, kata,
                            pods_text)).lower())


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
    return f"{format_millis(rc.overhead_cpu_millis)}/{format_bytes(rc.overhead_memory_bytes)}"


def runtime_class_row(rc: RuntimeClass, snapshot: ClusterSnapshot, pods: int, warned: bool,
                      fits: list | None = None) -> RuntimeClassRow:
    fits = fits if fits is not None else analysis.runtime_class_nodes(rc, snapshot)
    able = sum(1 for fit in fits if fit.can_run)
    inferred = any(fit.inferred for fit in fits if fit.can_run)
    return RuntimeClassRow(
        key=rc.name, name=rc.name, handler=rc.handler, family=analysis.runtime_family(rc.handler),
        overhead=overhead_text(rc), scheduling=scheduling_text(rc), pods=pods,
        nodes=f"{able}/{len(fits)}" + (f" {INFERRED_MARK}" if inferred else ""),
        warning=WARNING_GLYPH if warned else "",
        overhead_bytes=-1 if rc.overhead_memory_bytes is None else rc.overhead_memory_bytes,
        haystack="\n".join((rc.name, rc.handler, analysis.runtime_family(rc.handler), overhead_text(rc),
                            scheduling_text(rc))).lower())


def finding_rows(snapshot: ClusterSnapshot, findings: list | None = None) -> list[FindingRow]:
    rows = []
    order = {"error": 0, "warning": 1, "info": 2}
    findings = findings if findings is not None else analysis.find_findings(snapshot)
    for index, finding in enumerate(findings):
        namespace = finding.namespace or ""
        target = f"{namespace}/{finding.name}" if namespace else finding.name
        rows.append(FindingRow(
            key=f"{finding.code}:{finding.kind}:{target}:{index}", severity=finding.severity,
            code=finding.code, kind=finding.kind, namespace=namespace, name=finding.name,
            target=f"{finding.kind} {target}", message=finding.message,
            severity_rank=order.get(finding.severity, 3),
            haystack="\n".join((finding.severity, finding.code, finding.kind, namespace, finding.name,
                                 finding.message)).lower()))
    rows.sort(key=lambda row: (order.get(row.severity, 3), row.kind, row.namespace, row.name))
    return rows


def warned_objects(rows: list[FindingRow]) -> set[tuple[str, str]]:
    """(kind, name) of the cluster-scoped objects a finding is about: their rows get the mark."""
    return {(row.kind, row.name) for row in rows if not row.namespace}


def changed_node_rows(found: Analysis, previous: list[NodeRow], old_nodes: dict) -> tuple[list[NodeRow], dict]:
    """The previous node rows with those of the nodes whose pod counts changed made anew: for
    an incremental analysis whose node facts, node handlers and warnings are the previous
    view's (a copy only once a row changes)."""
    facts = found.node_facts
    rows, node_inputs = previous, old_nodes
    no_counts: dict[str, int] = {}
    for name in found.pod_changes_nodes():
        position = facts.index.get(name)
        known = old_nodes.get(name)
        counts = found.counts.per_node.get(name, no_counts)
        if position is None or known is None or known[1] is counts or known[1] == counts:
            continue
        if rows is previous:
            rows, node_inputs = list(rows), dict(old_nodes)
        node = facts.sorted_nodes[position]
        row = node_row(node, found.snapshot, counts, known[3], known[2])
        node_inputs[name] = (node, counts, known[2], known[3], row)
        rows[position] = row
    return rows, node_inputs


def node_rows(found: Analysis, previous: list[NodeRow] | None, old_nodes: dict,
              warned: set) -> tuple[list[NodeRow], dict]:
    """Every node's row, reusing a row while its node record, pod counts, handlers and
    warning are the same as for the previous view."""
    node_inputs: dict[str, tuple] = {}
    rows = []
    no_counts: dict[str, int] = {}
    for node in found.node_facts.sorted_nodes:
        counts = found.counts.per_node.get(node.name, no_counts)
        handlers = found.node_handlers(node)
        flag = ("Node", node.name) in warned
        known = old_nodes.get(node.name)
        if (known is not None and known[0] is node and known[2] is handlers and known[3] == flag
                and (known[1] is counts or known[1] == counts)):
            row = known[4]
        else:
            row = node_row(node, found.snapshot, counts, flag, handlers)
        node_inputs[node.name] = (node, counts, handlers, flag, row)
        rows.append(row)
    if previous is not None and len(rows) == len(previous) and all(a is b for a, b in zip(rows, previous)):
        rows = previous  # the same list: the table need not change
    return rows, node_inputs


def class_rows(found: Analysis, old_classes: dict, warned: set) -> tuple[list[RuntimeClassRow], dict]:
    """Every RuntimeClass's row, reusing a row while its record, node fits, pod count and
    warning are the same as for the previous view."""
    class_inputs: dict[str, tuple] = {}
    rows = []
    for rc in found.node_facts.sorted_classes:
        fits = found.runtime_class_nodes(rc)
        pods = found.counts.rc_pods.get(rc.name, 0)
        flag = ("RuntimeClass", rc.name) in warned
        known = old_classes.get(rc.name)
        if known is not None and known[0] is rc and known[1] is fits and known[2] == pods and known[3] == flag:
            row = known[4]
        else:
            row = runtime_class_row(rc, found.snapshot, pods, flag, fits)
        class_inputs[rc.name] = (rc, fits, pods, flag, row)
        rows.append(row)
    return rows, class_inputs
