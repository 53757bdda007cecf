"""The human form of `kataview report`: rich tables, plain when piped, NO_COLOR respected."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from kataview.cli.text_table import TextTable, fitted
from kataview.model.terminal_text import terminal_safe, terminal_safe_tree

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def nodes_table(report: dict[str, Any]) -> TextTable:
    table = TextTable("Nodes", ["NAME", "READY", "ROLES", "RUNTIME", "HANDLERS", "KATA LABEL", "TAINTS",
                                "PODS BY RUNTIME"])
    for node in report["nodes"]:
        runtime = node["containerRuntime"]["raw"] or "unknown"
        handlers = ", ".join(name or '""' for name in node["handlers"]) or "none"
        if node["handlersInferred"]:
            handlers += " (inferred)"
        pods = ", ".join(f"{label}={count}" for label, count in node["podsByRuntime"].items()) or "-"
        table.rows.append([node["name"], yes_no(node["ready"]), ",".join(node["roles"]) or "<none>", runtime,
                           handlers, node["kataLabel"] or "-", "\n".join(node["taints"]) or "-", pods])
    return table


def runtime_classes_table(report: dict[str, Any]) -> TextTable:
    table = TextTable("RuntimeClasses", ["NAME", "HANDLER", "OVERHEAD", "NODE SELECTOR", "TOLERATIONS", "PODS",
                                         "NODES ABLE"])
    for rc in report["runtimeClasses"]:
        overhead = " ".join(f"{key}={value}" for key, value in sorted(rc["overhead"].items())) or "-"
        scheduling = rc["scheduling"] or {}
        selector = ",".join(f"{k}={v}" for k, v in scheduling.get("nodeSelector", {}).items()) or "-"
        able = f"{rc['nodesAble']}/{len(rc['nodes'])}" + (" (inferred)" if rc["nodesAbleInferred"] else "")
        table.rows.append([rc["name"], rc["handler"], overhead, selector,
                           "\n".join(scheduling.get("tolerations", [])) or "-", str(rc["pods"]), able])
    return table


def runtimes_table(report: dict[str, Any]) -> TextTable:
    table = TextTable("Pods by runtime", ["RUNTIME", "HANDLER", "PODS"], right=frozenset({2}))
    for group in report["podsByRuntime"]:
        table.rows.append([group["runtime"], group["handler"] or "-", str(group["pods"])])
    return table


def findings_table(report: dict[str, Any]) -> TextTable:
    table = TextTable("Findings", ["CODE", "SEVERITY", "OBJECT", "FINDING"], row_styles=[])
    for finding in report["findings"]:
        where = f"{finding['namespace']}/" if finding["namespace"] else ""
        table.rows.append([finding["code"], finding["severity"], f"{finding['kind']} {where}{finding['name']}",
                           finding["message"]])
        table.row_styles.append(SEVERITY_STYLE.get(finding["severity"], ""))
    return table


WIDE_POD_COLUMNS = ("NAMESPACE", "NAME", "NODE", "STATUS", "RUNTIMECLASS", "HANDLER", "FAMILY", "OVERHEAD")
# what HANDLER says when there is none, by the pod's runtimeSource (no spaces: one field for awk)
NO_HANDLER = {"default": "<default>", "legacy-annotation": "<legacy>", "missing-runtimeclass": "<missing>",
              "unreadable-runtimeclass": "<unknown>"}


def pod_lines(report: dict[str, Any]) -> str:
    """`-o wide`: one line per pod, columns as wide as their longest value (kubectl's layout,
    never wrapped, no spaces inside a value: a line is a pod, for grep and awk). Values are
    made terminal-safe here, a pod at a time (one isprintable() over the joined line says
    whether any value needs it: ~0.1 s for 150,000 pods, where walking every value is ~5 s),
    and widths are terminal cells (a CJK name takes two per character, a zero-width one none)."""
    rows = [WIDE_POD_COLUMNS]
    odd: set[int] = set()  # rows with a non-ASCII value: measured and padded in cells
    for pod in report["pods"]:
        overhead = ",".join(f"{key}={value}" for key, value in sorted((pod["overhead"] or {}).items()))
        row = (pod["namespace"], pod["name"], pod["node"] or "<none>", pod["status"],
               pod["runtimeClassName"] or "<none>",
               pod["handler"] or NO_HANDLER.get(pod["runtimeSource"], "<none>"), pod["family"],
               overhead or "<none>")
        joined = " ".join(row)
        if not (joined.isascii() and joined.isprintable()):
            odd.add(len(rows))
            row = tuple(terminal_safe(value) for value in row)
        rows.append(row)
    columns = range(len(WIDE_POD_COLUMNS) - 1)
    widths = [max(len(row[index]) for row in rows) for index in columns]
    for number in odd:
        widths = [max(width, cell_len(rows[number][index])) for index, width in zip(columns, widths)]
    return "".join(_pod_line(row, widths, number in odd) for number, row in enumerate(rows))


def _pod_line(row: tuple[str, ...], widths: list[int], in_cells: bool) -> str:
    if in_cells:
        cells = [value + " " * (width - cell_len(value)) for value, width in zip(row, widths)]
    else:
        cells = [value.ljust(width) for value, width in zip(row, widths)]
    return "   ".join(cells) + "   " + row[-1] + "\n"


def report_console() -> Console:
    """Strings are never read as markup: every one of them comes from the cluster, and a
    stray `[/]` in a node's runtime version would otherwise end the report in a traceback."""
    if sys.stdout.isatty():
        return Console(markup=False)
    # Piped output is read by people later and grepped: don't fold names at 80 columns.
    return Console(markup=False, width=int(os.environ.get("COLUMNS", "200")))


def print_tables(console: Console, table: TextTable) -> None:
    for part in fitted(table, console.width):
        console.print(part)


def print_report(report: dict[str, Any], console: Console | None = None, *, wide: bool = False) -> None:
    """Prints the report's tables (with `wide`, one line per pod after them). Every string of
    the report is made terminal-safe first (control and bidi characters shown, never sent),
    whichever table shows it."""
    console = console or report_console()
    # every string but the pods' (pod_lines makes those safe itself, a line at a time)
    pods = report.get("pods", [])
    report = {**terminal_safe_tree({key: value for key, value in report.items() if key != "pods"}), "pods": pods}
    counts = report["counts"]
    console.print(Text(f"context {report['context']}  server {report['server']}  "
                       f"{counts['nodes']} nodes, {counts['runtimeClasses']} RuntimeClasses, {counts['pods']} pods"))
    for table in (nodes_table(report), runtime_classes_table(report), runtimes_table(report)):
        print_tables(console, table)
    if wide:
        console.print(Text("Pods"))
        console.file.write(pod_lines(report))
    if report["findings"]:
        print_tables(console, findings_table(report))
    else:
        console.print("No findings.")
    for resource, why in sorted(report["unreadable"].items()):
        console.print(Text(f"could not read {resource}: {why}; the rest of the report is complete", style="yellow"))
    for resource, number in report.get("skipped", {}).items():
        console.print(Text(f"could not decode {number} of the {resource} the server sent; they are "
                           "missing from the counts and tables above (see the log)", style="yellow"))
