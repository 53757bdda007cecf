"""The problems view (ctrl+z, as k9s's "toggle faults", or `:problems`): every pod that is not
Running and Ready, has restarted, is stuck creating its sandbox or asks for a missing
RuntimeClass, worst first, with its reasons (model/problems.py works them out; this screen
only shows them). The namespace in force applies. The cursor row's reasons are shown in full
below the list; Enter opens the pod."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from kataview.model.cluster_view import ClusterView
from kataview.model.problems import Problem, problems_of
from kataview.ui.screens.detail import plain
from kataview.ui.widgets.cluster_header import ClusterHeader
from kataview.ui.widgets.virtual_table import Column, VirtualTable

SEVERE = {"sandbox", "runtimeclass", "unschedulable", "failed", "crashing"}
PROBLEM_COLUMNS = [
    Column("NAMESPACE", 12, lambda row: row.namespace, drop=2),
    Column("NAME", 30, lambda row: row.name),
    Column("RUNTIME", 12, lambda row: row.problem.runtime, style=lambda row: row.family, drop=1),
    Column("STATUS", 17, lambda row: row.problem.status,
           style=lambda row: None if row.problem.status == "Running" else "warning"),
    Column("PROBLEM", 20, lambda row: row.problem.title,
           style=lambda row: "error" if row.problem.kind in SEVERE else "warning"),
    Column("REASON", 30, lambda row: row.problem.reason, flex=True, drop=3),  # in full below the list
]
EMPTY = "no problems: every pod is Running and Ready, none restarted"


@dataclass(frozen=True)
class ProblemRow:
    key: str  # the pod's uid
    namespace: str
    name: str
    problem: Problem
    family: str
    haystack: str


def problem_rows(problems: list[Problem], family_of: dict[str, str]) -> list[ProblemRow]:
    return [ProblemRow(problem.uid, problem.namespace, problem.name, problem, family_of.get(problem.runtime, "other"),
                       "\n".join((problem.namespace, problem.name, problem.status, problem.reason)).lower())
            for problem in problems]


class ProblemsScreen(Screen):
    BINDINGS = [Binding("escape,ctrl+z", "back", "Back", id="back")]

    def __init__(self) -> None:
        super().__init__(id="problems-screen")
        self._shown: tuple | None = None  # (troubled pods, events) last shown: the rows are the same

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield VirtualTable(PROBLEM_COLUMNS, id="problems", namespaced=True, empty_text=EMPTY)
        yield Static(id="problem-reason")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#problems", VirtualTable).set_namespace(self.app.namespace)
        self.app.view_changed.subscribe(self, self.show_view)
        self.show_view(self.app.view)
        self.query_one("#problems", VirtualTable).focus()

    def show_view(self, view: ClusterView | None) -> None:
        app = self.app
        self.query_one(ClusterHeader).show(view, app.source.info, app.namespace, app.settings.read_only, app.now())
        table = self.query_one("#problems", VirtualTable)
        if view is None or view.analysis is None:
            table.empty_text = "nothing read from the cluster yet (see the header)"
            return
        table.empty_text = EMPTY
        table.set_namespace(app.namespace)
        shown = (view.analysis.troubled(), view.snapshot.events)
        if self._shown is None or any(a is not b for a, b in zip(shown, self._shown)):
            self._shown = shown
            table.set_rows(problem_rows(problems_of(view.analysis), view.family_of))
        scope = f" in {app.namespace}" if app.namespace else ""
        table.border_title = f"Problems{scope} ({table.row_count:,})  ·  Enter opens the pod, Esc goes back"
        self.show_reason()

    def show_reason(self) -> None:
        row = self.query_one("#problems", VirtualTable).cursor_row
        reason = self.query_one("#problem-reason", Static)
        if row is None:
            reason.update("")
            return
        problem = row.problem
        where = f" on {problem.node}" if problem.node else ", on no node yet"
        lines = [f"{problem.namespace}/{problem.name} ({problem.runtime}{where}): {problem.status}"]
        lines += [f"• {words}" for words in problem.reasons]
        reason.update(plain("\n".join(lines), lines=True))

    def on_virtual_table_cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        self.show_reason()

    def on_virtual_table_row_opened(self, event: VirtualTable.RowOpened) -> None:
        self.app.open_object("Pod", event.row.key)

    def action_back(self) -> None:
        self.dismiss()
