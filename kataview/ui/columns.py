"""Column layouts for every list (the order an operator reads them in)."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Mapping

from kataview.model.vm_cost import VMSeen, hypervisor, memory_text, vcpu_text
from kataview.ui.formatting import age
from kataview.ui.widgets.column_fit import Column

SEVERITY_STYLE = {"error": "error", "warning": "warning"}
# the reason a runtime label gives, shortened in the RUNTIME cell (the group header has it whole)
SHORT_REASONS = {" (missing RuntimeClass)": " (no RC)", " (RuntimeClass unreadable)": " (RC unread)",
                 " (legacy annotation)": " (legacy)"}


def runtime_cell(label: str) -> str:
    """A runtime label as its cell shows it: `kata-legacy (no RC)` for `kata-legacy (missing
    RuntimeClass)`; other labels whole."""
    for reason, short in SHORT_REASONS.items():
        if label.endswith(reason):
            return label[: -len(reason)] + short
    return label


def pod_columns(now: Callable[[], datetime], seen: Mapping[str, VMSeen] | None = None) -> list[Column]:
    """Status, runtime and ready are kept whole; NAME is cut in the middle (its generated
    suffix tells replicas apart); as the pane narrows VCPU, VM MEM, HYPERVISOR, RST, NODE and
    NAMESPACE drop, in that order (w shows them). The VM columns show the declared overhead,
    or the VM's own figures once gathered over SSH (`seen`, by pod uid)."""
    seen = seen if seen is not None else {}
    return [
        Column("NAMESPACE", 10, lambda row: row.namespace, drop=6),
        Column("NAME", 20, lambda row: row.name, flex=True, middle=True),
        Column("NODE", 12, lambda row: row.node or "<none>", drop=5, middle=True),
        Column("RUNTIME", 8, lambda row: runtime_cell(row.runtime), style=lambda row: row.family, keep=True),
        Column("STATUS", 7, lambda row: row.status, keep=True,
               style=lambda row: None if row.status in ("Running", "Completed", "Succeeded") else "warning"),
        Column("READY", 5, lambda row: row.ready, drop=7, keep=True),
        Column("RST", 3, lambda row: str(row.restarts), right=True, drop=4),
        Column("AGE", 5, lambda row: age(row.created, now()), right=True, measure=False),
        Column("HYPERVISOR", 10, lambda row: hypervisor_cell(row, seen.get(row.key)), drop=3, middle=True),
        Column("VCPU", 4, lambda row: vcpu_text(row.vm, seen.get(row.key)) if row.vm.source or row.key in seen
               else "-", right=True, drop=1),
        Column("VM MEM", 6, lambda row: memory_text(row.vm, seen.get(row.key)) if row.vm.source or row.key in seen
               else "-", right=True, drop=2),
    ]


def hypervisor_cell(row, seen: VMSeen | None) -> str:
    if seen is not None and seen.kind:
        return seen.kind
    return hypervisor(row.handler, row.family) or "-"


NODE_COLUMNS = [
    Column("!", 1, lambda row: row.warning, style=lambda row: "warning"),
    Column("NAME", 14, lambda row: row.name, flex=True, middle=True),
    Column("STATUS", 8, lambda row: row.ready, style=lambda row: None if row.ready == "Ready" else "error",
           keep=True),
    Column("ROLES", 13, lambda row: row.roles, drop=1),
    Column("RUNTIME", 19, lambda row: row.runtime, drop=2),
    Column("HANDLERS (~ inferred)", 22, lambda row: row.handlers, keep=True),
    Column("KATA", 5, lambda row: row.kata, drop=5),
    Column("TAINTS", 20, lambda row: row.taints, flex=True, drop=4),
    Column("PODS PER RUNTIME", 18, lambda row: row.pods, flex=True, drop=3),
]

RUNTIME_CLASS_COLUMNS = [
    Column("!", 1, lambda row: row.warning, style=lambda row: "warning"),
    Column("NAME", 10, lambda row: row.name, style=lambda row: row.family),
    Column("HANDLER", 10, lambda row: row.handler),
    Column("OVERHEAD", 10, lambda row: row.overhead, drop=2),
    Column("SCHEDULING", 14, lambda row: row.scheduling, flex=True, drop=1),
    Column("PODS", 5, lambda row: f"{row.pods:,}", right=True),
    Column("NODES", 6, lambda row: row.nodes, right=True, drop=3),
]

FINDING_COLUMNS = [
    Column("SEV", 5, lambda row: {"warning": "warn"}.get(row.severity, row.severity),
           style=lambda row: SEVERITY_STYLE.get(row.severity)),
    Column("CODE", 7, lambda row: row.code, drop=1),
    Column("OBJECT", 24, lambda row: row.target, drop=2),
    Column("MESSAGE", 20, lambda row: row.message, flex=True),
]
