"""The report's text tables at 80 columns: cells wrap at word boundaries (after a space or one
of `- / , : =`), names never break, nothing is wider than the terminal; a table that fits is
exactly what rich prints by itself."""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone

import pytest
from rich.console import Console
from rich.table import Table

from kataview.cli.report import build_report
from kataview.cli.report_text import print_report
from kataview.cli.text_table import TextTable, fitted, wrap
from kataview.demo.scenario import classic_objects
from kataview.sources.base import SourceInfo
from kataview.sources.static import snapshot_from_objects

NOW = datetime(2026, 11, 22, 5, 10, tzinfo=timezone.utc)


def classic_report() -> dict:
    snapshot = snapshot_from_objects(classic_objects(), taken_at=NOW)
    return build_report(snapshot, SourceInfo("kataview-demo", "https://127.0.0.1:6443"))


def rendered(report: dict, width: int, **options) -> str:
    out = io.StringIO()
    print_report(report, Console(file=out, width=width, color_system=None, markup=False), **options)
    return out.getvalue()


def cell_texts(report: dict) -> list[str]:
    texts = []
    for node in report["nodes"]:
        texts += [node["name"], node["containerRuntime"]["raw"], *node["taints"], *node["roles"],
                  *node["handlers"], *node["podsByRuntime"]]
    for rc in report["runtimeClasses"]:
        texts += [rc["name"], rc["handler"], *(rc["scheduling"] or {}).get("tolerations", [])]
    for finding in report["findings"]:
        texts += [finding["name"], finding["message"]]
    return texts


@pytest.mark.parametrize("width", [80, 100, 200])
def test_no_word_is_broken_and_no_line_is_too_wide(width):
    report = classic_report()
    text = rendered(report, width)
    assert max(len(line) for line in text.splitlines()) <= width
    words = {word for value in cell_texts(report) for word in re.split(r"[\s/,:=\-]+", value) if word}
    broken = sorted(word for word in words if word not in text)
    assert broken == []  # at 80 columns main printed `k8s-con / trol-pl / ane`
    for node in report["nodes"]:  # names stay whole, on one line
        assert re.search(rf"│ {re.escape(node['name'])} ", text), node["name"]


def test_every_column_is_still_shown_at_80():
    text = rendered(classic_report(), 80)
    for header in ("NAME", "READY", "ROLES", "RUNTIME", "HANDLERS", "KATA", "TAINTS", "PODS BY", "OVERHEAD",
                   "NODE SELECTOR", "TOLERATIONS", "NODES ABLE", "CODE", "SEVERITY", "OBJECT", "FINDING"):
        assert header in text, header
    assert "Nodes (continued)" in text  # what did not fit beside NAME comes in a second table


def test_a_table_that_fits_is_what_rich_prints():
    rows = [["k8s-worker", "containerd://2.0.1", "3"], ["k8s-worker-untrusted", "containerd://1.7.22", "12"]]
    ours = TextTable("Nodes", ["NAME", "RUNTIME", "PODS"], rows, right=frozenset({2}))
    theirs = Table(title="Nodes", title_justify="left")
    for header in ("NAME", "RUNTIME"):
        theirs.add_column(header)
    theirs.add_column("PODS", justify="right")
    for row in rows:
        theirs.add_row(*row)

    def text(*tables) -> str:
        out = io.StringIO()
        console = Console(file=out, width=120, color_system=None)
        for table in tables:
            console.print(table)
        return out.getvalue()

    assert text(*fitted(ours, 120)) == text(theirs)


def test_wrap_breaks_at_boundaries_and_folds_only_what_cannot_fit():
    assert wrap("node-role.kubernetes.io/control-plane:NoSchedule", 26) == \
        "node-role.kubernetes.io/\ncontrol-plane:NoSchedule"
    assert wrap("kata=2, kata-legacy (missing RuntimeClass)=1", 16) == "kata=2,\nkata-legacy\n(missing\nRuntimeClass)=1"
    assert wrap("abcdefghij", 4) == "abcd\nefgh\nij"
    assert wrap("a\nb c", 10) == "a\nb c"
