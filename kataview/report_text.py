"""The human form of `kataview report`: rich tables, plain when piped, NO_COLOR respected."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kataview.model.terminal_text import terminal_safe_tree

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def nodes_table(report: dict[str, Any]) -> Table:
    table = Table(title="Nodes", title_justify="left", expand=False)
    for column in ("NAME", "READY", "ROLES", "RUNTIME", "HANDLERS", "KATA LABEL", "TAINTS", "PODS BY RUNTIME"):
        table.add_column(column, overflow="fold")
    for node in report["nodes"]:
        runtime = node["containerRuntime"]["raw"] or "unknown"
        handlers = ", ".join(name or '""' for name in node["handlers"]) or "none"
        if node["handlersInferred"]:
            handlers += " (inferred)"
        pods = ", ".join(f"{label}={count}" for label, count in node["podsByRuntime"].items()) or "-"
        table.add_row(node["name"], yes_no(node["ready"]), ",".join(node["roles"]) or "<none>", runtime,
                      handlers, node["kataLabel"] or "-", "\n".join(node["taints"]) or "-", pods)
    return table


def runtime_classes_table(report: dict[str, Any]) -> Table:
    table = Table(title="RuntimeClasses", title_justify="left")
    for column in ("NAME", "HANDLER", "OVERHEAD", "NODE SELECTOR", "TOLERATIONS", "PODS", "NODES ABLE"):
        table.add_column(column, overflow="fold")
    for rc in report["runtimeClasses"]:
        overhead = " ".join(f"{key}={value}" for key, value in sorted(rc["overhead"].items())) or "-"
        scheduling = rc["scheduling"] or {}
        selector = ",".join(f"{k}={v}" for k, v in scheduling.get("nodeSelector", {}).items()) or "-"
        able = f"{rc['nodesAble']}/{len(rc['nodes'])}" + (" (inferred)" if rc["nodesAbleInferred"] else "")
        table.add_row(rc["name"], rc["handler"], overhead, selector,
                      "\n".join(scheduling.get("tolerations", [])) or "-", str(rc["pods"]), able)
    return table


def runtimes_table(report: dict[str, Any]) -> Table:
    table = Table(title="Pods by runtime", title_justify="left")
    table.add_column("RUNTIME")
    table.add_column("HANDLER")
    table.add_column("PODS", justify="right")
    for group in report["podsByRuntime"]:
        table.add_row(group["runtime"], group["handler"] or "-", str(group["pods"]))
    return table


def findings_table(report: dict[str, Any]) -> Table:
    table = Table(title="Findings", title_justify="left")
    for column in ("CODE", "SEVERITY", "OBJECT", "FINDING"):
        table.add_column(column, overflow="fold")
    for finding in report["findings"]:
        where = f"{finding['namespace']}/" if finding["namespace"] else ""
        table.add_row(finding["code"], finding["severity"], f"{finding['kind']} {where}{finding['name']}",
                      finding["message"], style=SEVERITY_STYLE.get(finding["severity"], ""))
    return table


def report_console() -> Console:
    """Strings are never read as markup: every one of them comes from the cluster, and a
    stray `[/]` in a node's runtime version would otherwise end the report in a traceback."""
    if sys.stdout.isatty():
        return Console(markup=False)
    # Piped output is read by people later and grepped: don't fold names at 80 columns.
    return Console(markup=False, width=int(os.environ.get("COLUMNS", "200")))


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    """Prints the report's tables. Every string of the report is made terminal-safe first
    (control and bidi characters shown, never sent), whichever table shows it."""
    console = console or report_console()
    report = terminal_safe_tree(report)
    counts = report["counts"]
    console.print(Text(f"context {report['context']}  server {report['server']}  "
                       f"{counts['nodes']} nodes, {counts['runtimeClasses']} RuntimeClasses, {counts['pods']} pods"))
    for table in (nodes_table(report), runtime_classes_table(report), runtimes_table(report)):
        console.print(table)
    if report["findings"]:
        console.print(findings_table(report))
    else:
        console.print("No findings.")
    for resource, why in sorted(report["unreadable"].items()):
        console.print(Text(f"could not read {resource}: {why}; the rest of the report is complete", style="yellow"))
