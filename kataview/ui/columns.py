"""Column layouts for every list (the order an operator reads them in)."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from kataview.ui.formatting import age
from kataview.ui.widgets.virtual_table import Column

SEVERITY_STYLE = {"error": "error", "warning": "warning"}


def pod_columns(now: Callable[[], datetime]) -> list[Column]:
    return [
        Column("NAMESPACE", 12, lambda row: row.namespace, drop=4),
        Column("NAME", 20, lambda row: row.name, flex=True),
        Column("NODE", 20, lambda row: row.node or "<none>", drop=2),
        Column("RUNTIME", 14, lambda row: row.runtime, style=lambda row: row.family),
        Column("STATUS", 16, lambda row: row.status,
               style=lambda row: None if row.status in ("Running", "Completed", "Succeeded") else "warning"),
        Column("READY", 5, lambda row: row.ready, drop=3),
        Column("RST", 4, lambda row: str(row.restarts), right=True, drop=1),
        Column("AGE", 6, lambda row: age(row.created, now()), right=True),
    ]


NODE_COLUMNS = [
    Column("!", 1, lambda row: row.warning, style=lambda row: "warning"),
    Column("NAME", 14, lambda row: row.name, flex=True),
    Column("STATUS", 8, lambda row: row.ready, style=lambda row: None if row.ready == "Ready" else "error"),
    Column("ROLES", 13, lambda row: row.roles, drop=1),
    Column("RUNTIME", 19, lambda row: row.runtime, drop=2),
    Column("HANDLERS (~ inferred)", 22, lambda row: row.handlers),
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
