"""Column layouts for every list (the order an operator reads them in)."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

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


def pod_columns(now: Callable[[], datetime]) -> list[Column]:
    """Status, runtime and ready are kept whole; NAME is cut in the middle (its generated
    suffix tells replicas apart); at 80 columns RST, NODE and NAMESPACE drop, in that order
    (w shows them)."""
    return [
        Column("NAMESPACE", 10, lambda row: row.namespace, drop=3),
        Column("NAME", 20, lambda row: row.name, flex=True, middle=True),
        Column("NODE", 12, lambda row: row.node or "<none>", drop=2, middle=True),
        Column("RUNTIME", 8, lambda row: runtime_cell(row.runtime), style=lambda row: row.family, keep=True),
        Column("STATUS", 7, lambda row: row.status, keep=True,
               style=lambda row: None if row.status in ("Running", "Completed", "Succeeded") else "warning"),
        Column("READY", 5, lambda row: row.ready, drop=4, keep=True),
        Column("RST", 3, lambda row: str(row.restarts), right=True, drop=1),
        Column("AGE", 5, lambda row: age(row.created, now()), right=True, measure=False),
    ]


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
