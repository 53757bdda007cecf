"""The main screen: header, the four panes (nodes, RuntimeClasses, findings, pods by runtime),
the `/` filter bar and the footer. At 80x24 only the focused pane shows, with a pane bar."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.content import Content
from textual.events import DescendantFocus, Resize
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from kataview.model.findings import in_namespace
from kataview.model.vm_cost import NO_TOTALS, totals_text
from kataview.ui import command_table
from kataview.model.cluster_view import ClusterView
from kataview.ui.columns import FINDING_COLUMNS, NODE_COLUMNS, RUNTIME_CLASS_COLUMNS, pod_columns
from kataview.ui.loading import pane_note
from kataview.ui.sorting import PANE_SORT_KEYS, SortedRows, SortOrder, next_order, sort_letters
from kataview.ui.widgets.cluster_header import ClusterHeader
from kataview.ui.widgets.command_bar import CommandBar
from kataview.ui.widgets.pane_lines import FullCellsLine, PaneBar
from kataview.ui.widgets.virtual_table import Section, VirtualTable

PANES = (("nodes", "Nodes"), ("runtime-classes", "RuntimeClasses"), ("findings", "Findings"),
         ("pods", "Pods by runtime"))
SHORT_TITLES = {"nodes": "Nodes", "runtime-classes": "RCs", "findings": "Findings", "pods": "Pods"}
COMPACT_WIDTH, COMPACT_HEIGHT = 120, 32
EMPTY_TEXT = {"nodes": "no nodes",
              "runtime-classes": "no RuntimeClasses: every pod runs the node's default handler",
              "findings": "no findings", "pods": "no pods"}
NOTHING_READ = "nothing read from the cluster yet (see the header)"
# rows a filter keystroke may look at within the frame that echoes it (~0.2 us a row: ~5 ms)
FILTER_ROWS_IN_FRAME = 20_000
SORT_BINDINGS = [Binding(letter, f"sort('{letter}')", f"Sort {what}", show=False, id=f"sort-{letter.lower()}")
                 for letter, what in sort_letters().items()]


def group_detail_text(group) -> str:
    """The group header's detail and its VMs' declared overhead (model.vm_cost)."""
    noun = "VM" if group.family == "kata" else "sandbox"
    return " · ".join(part for part in (group.detail, totals_text(group.vm_totals, noun)) if part)


def cluster_vm_text(view: ClusterView) -> str:
    """Every sandbox of the cluster: the groups' totals summed."""
    summed = NO_TOTALS
    for group in view.pod_groups:
        summed = summed.plus(group.vm_totals)
    return totals_text(summed, "sandbox")


class MainScreen(Screen):
    AUTO_FOCUS = "#pods"
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear-filter"),
        Binding("tab", "focus_pane(1)", "Next pane", id="focus-next-pane"),
        Binding("shift+tab", "focus_pane(-1)", "Prev pane", show=False, id="focus-previous-pane"),
        Binding("1", "show_pane('nodes')", "Nodes", show=False, id="pane-nodes"),
        Binding("2", "show_pane('runtime-classes')", "RuntimeClasses", show=False, id="pane-runtime-classes"),
        Binding("3", "show_pane('findings')", "Findings", show=False, id="pane-findings"),
        Binding("4", "show_pane('pods')", "Pods", show=False, id="pane-pods"),
        *SORT_BINDINGS,
        Binding("w", "toggle_wide", "Wide", id="wide-columns"),
        # k9s's keys on the pod under the cursor; out of the footer, which at 80 columns has
        # room for help and problems only (? lists them; a pod's detail shows them)
        Binding("y", "read_pod('yaml')", "YAML", show=False, id="pod-yaml"),
        Binding("d", "read_pod('describe')", "Describe", show=False, id="pod-describe"),
        Binding("l", "read_pod('logs')", "Logs", show=False, id="pod-logs"),
    ]

    def __init__(self) -> None:
        super().__init__(id="main")
        self.active_pane = "pods"
        self.sort_orders: dict[str, SortOrder] = {}  # pane -> how its rows are sorted (none: default)
        self.sorted_rows = {pane_id: SortedRows("sort_key" if pane_id == "pods" else None) for pane_id, _ in PANES}
        self._scoped: tuple | None = None  # (findings, namespace, the findings in it)
        self.filter_pending: str | None = None  # typed into the filter, applied after the echo

    def compose(self) -> ComposeResult:
        yield ClusterHeader(id="header")
        yield PaneBar(id="pane-bar")
        with Container(id="panes"):
            yield VirtualTable(NODE_COLUMNS, id="nodes", classes="pane", empty_text=EMPTY_TEXT["nodes"])
            yield VirtualTable(RUNTIME_CLASS_COLUMNS, id="runtime-classes", classes="pane",
                               empty_text=EMPTY_TEXT["runtime-classes"])
            # scoped by model.findings.in_namespace, not by row namespace: see scoped_findings
            yield VirtualTable(FINDING_COLUMNS, id="findings", classes="pane", empty_text=EMPTY_TEXT["findings"])
            yield VirtualTable(pod_columns(self.app.now, self.app.vm_seen), id="pods", classes="pane -active", namespaced=True,
                               empty_text=EMPTY_TEXT["pods"])
        yield FullCellsLine(id="full-cells")
        yield Input(id="filter-input", select_on_focus=False, placeholder="filter: text, !text, -l app=x, -f node=x, /regex/ — Enter keeps, Esc clears")
        yield CommandBar(command_table.LineCompletion(self.app), id="command-input")
        yield Static(id="command-error")
        yield Footer()

    def on_mount(self) -> None:
        for pane_id, _ in PANES:
            self.query_one(f"#{pane_id}", VirtualTable).set_namespace(self.app.namespace)
        self.app.view_changed.subscribe(self, self.show_view)
        self.show_view(self.app.view)

    # ---- data ----------------------------------------------------------------------------

    def show_view(self, view: ClusterView | None) -> None:
        app = self.app
        self.query_one(ClusterHeader).show(view, app.source.info, app.namespace, app.settings.read_only, app.now())
        if view is None:  # nothing read yet, or the context just changed: no other cluster's rows
            for pane_id, _ in PANES:
                self.table(pane_id).empty_text = NOTHING_READ
                self.table(pane_id).set_sections([])
            self.update_titles()
            return
        for pane_id, text in EMPTY_TEXT.items():  # "no findings" is a claim: not before any data
            self.table(pane_id).empty_text = NOTHING_READ if view.state.never_connected else text
        for pane_id, rows in (("nodes", view.nodes), ("runtime-classes", view.runtime_classes),
                              ("findings", self.scoped_findings(view))):
            self.table(pane_id).set_rows(self.sorted_rows[pane_id].rows(None, rows, self.sort_orders.get(pane_id)))
        order, pods = self.sort_orders.get("pods"), self.sorted_rows["pods"]
        self.table("pods").set_sections([
            Section(group.key, pods.rows(group.key, group.rows, order, group.changes), title=group.label,
                    style=group.family, detail=group_detail_text(group), tags=group.tags)
            for group in view.pod_groups])
        pods.keep_only({group.key for group in view.pod_groups})
        self.update_titles()
        self.update_full_cells()

    def scoped_findings(self, view: ClusterView) -> list:
        """The findings of the app's namespace: its own and the cluster-scoped ones behind the
        marks on the nodes and RuntimeClasses panes (the rule `report -n` applies). The same
        list object while neither the findings nor the namespace change."""
        namespace = self.app.namespace
        known = self._scoped
        if known is None or known[0] is not view.findings or known[1] != namespace:
            rows = [row for row in view.findings if in_namespace(row, namespace)]
            known = self._scoped = (view.findings, namespace, rows if namespace is not None else view.findings)
        return known[2]

    def apply_namespace(self, namespace: str | None) -> None:
        for pane_id, _ in PANES:
            self.table(pane_id).set_namespace(namespace)
        self.show_view(self.app.view)

    def table(self, pane_id: str) -> VirtualTable:
        return self.query_one(f"#{pane_id}", VirtualTable)

    def update_titles(self) -> None:
        view = self.app.view
        for number, (pane_id, title) in enumerate(PANES, start=1):
            table = self.table(pane_id)
            total = sum(len(section.rows) for section in table.sections)
            shown = f"{table.row_count:,}" if table.row_count == total else f"{table.row_count:,} of {total:,}"
            stale = " · stale" if view is not None and view.state.phase in ("stale", "reconnecting") else ""
            loading = pane_note(pane_id, view.state) if view is not None else ""
            cost = f" · {cluster_vm_text(view)}" if pane_id == "pods" and view is not None else ""
            border_title = f"{number} {title} ({shown}){cost.rstrip(' ·')}{loading}{stale}"
            subtitle = f"filter {table.row_filter.describe()}" if table.row_filter.active else ""
            order = self.sort_orders.get(pane_id)
            if order is not None:
                subtitle = " · ".join(part for part in (subtitle, order.describe()) if part)
            # assigned only when different: each assignment restyles and repaints the whole pane
            if table.border_title != border_title:
                table.border_title = border_title
            if table.border_subtitle != subtitle:
                table.border_subtitle = subtitle
            table.set_class(bool(stale), "-stale")
        self.update_pane_bar()

    def update_pane_bar(self) -> None:
        bar = self.query_one(PaneBar)
        if bar.display:
            bar.show([(f"{number} {SHORT_TITLES[pane_id]} {self.table(pane_id).row_count:,}",
                       pane_id == self.active_pane) for number, (pane_id, _) in enumerate(PANES, start=1)])

    # ---- layout and focus ----------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        compact = event.size.width < COMPACT_WIDTH or event.size.height < COMPACT_HEIGHT
        self.query_one("#panes").set_class(compact, "-compact")
        self.query_one("#pane-bar").display = compact
        self.query_one("#full-cells").set_class(compact, "-compact")
        self.update_pane_bar()

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if isinstance(event.widget, VirtualTable):
            self.active_pane = event.widget.id or self.active_pane
            for pane_id, _ in PANES:
                self.table(pane_id).set_class(pane_id == self.active_pane, "-active")
            self.update_pane_bar()
            self.update_full_cells()

    def action_focus_pane(self, step: int) -> None:
        order = [pane_id for pane_id, _ in PANES]
        index = order.index(self.active_pane) if self.active_pane in order else 0
        self.table(order[(index + step) % len(order)]).focus()

    def action_show_pane(self, pane_id: str) -> None:
        self.table(pane_id).focus()

    # ---- sort ----------------------------------------------------------------------------

    def sort_key_of(self, letter: str):
        return next((key for key in PANE_SORT_KEYS.get(self.active_pane, ()) if key.letter == letter), None)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "sort":
            return self.sort_key_of(parameters[0]) is not None
        return True

    def action_sort(self, letter: str) -> None:
        """Shift+letter: sort the focused pane by that column; the same key again reverses (k9s)."""
        key = self.sort_key_of(letter)
        if key is None:
            return
        pane_id = self.active_pane
        order = self.sort_orders[pane_id] = next_order(self.sort_orders.get(pane_id), key)
        self.table(pane_id).set_sort_mark(key.title, order.arrow)
        if self.app.view is not None:
            self.show_view(self.app.view)

    # ---- cut cells, wide mode ------------------------------------------------------------

    def action_toggle_wide(self) -> None:
        """Like `kubectl -o wide`: every column shown (squeezed) instead of dropping some."""
        wide = not self.table("pods").wide
        for pane_id, _ in PANES:
            self.table(pane_id).set_wide(wide)
        self.update_full_cells()

    @on(VirtualTable.CursorMoved)
    @on(VirtualTable.LayoutChanged)
    def cells_moved(self, event) -> None:
        if event.table.id == self.active_pane:
            self.update_full_cells()

    def update_full_cells(self) -> None:
        self.query_one(FullCellsLine).show(self.table(self.active_pane))

    # ---- filter --------------------------------------------------------------------------

    def action_filter(self) -> None:
        field = self.query_one("#filter-input", Input)
        if not field.has_class("-open"):  # opened early by on_key: keep what was typed since
            field.value = self.table(self.active_pane).row_filter.text
        field.add_class("-open")
        # focus now, not after a refresh: keys typed right after `/` (fast typing, paste)
        # must reach the field, not the pane's bindings (`q` would quit)
        self.set_focus(field)

    @on(Input.Changed, "#filter-input")
    def filter_changed(self, event: Input.Changed) -> None:
        # The typed character must not wait for the rows: filtering all 150,000 takes tens of
        # ms. A filter that looks at few rows (a small cluster, or typing on, which narrows
        # the last matches) is applied at once, in the echo's frame; a longer one after that
        # frame, with keys typed meanwhile coalesced into one filtering of the latest text.
        if self.filter_pending is not None:
            self.filter_pending = event.value
        elif self.table(self.active_pane).filter_work(event.value) <= FILTER_ROWS_IN_FRAME:
            self.table(self.active_pane).set_filter(event.value)
            self.update_titles()
        else:
            self.filter_pending = event.value
            self.call_after_refresh(self.apply_pending_filter)

    def apply_pending_filter(self) -> None:
        text, self.filter_pending = self.filter_pending, None
        if text is not None:
            self.table(self.active_pane).set_filter(text)
            self.update_titles()

    @on(Input.Submitted, "#filter-input")
    def filter_submitted(self) -> None:
        self.close_filter(clear=False)

    def action_clear_filter(self) -> None:
        """Esc on a pane: drop the filter it keeps (k9s)."""
        if self.table(self.active_pane).row_filter.active:
            self.close_filter(clear=True)

    def close_filter(self, clear: bool) -> None:
        field = self.query_one("#filter-input", Input)
        table = self.table(self.active_pane)
        if clear:
            self.filter_pending = None  # typed before Esc, not yet applied: dropped with it
            table.set_filter("")
            self.update_titles()
        field.remove_class("-open")
        table.focus()

    def filter_keys(self) -> set[str]:
        """The keys bound to the filter (remappable in the config file)."""
        return {key for key, bindings in self._bindings.key_to_bindings.items()
                if any(binding.action == "filter" for binding in bindings)}

    # ---- command bar (`:`) ----------------------------------------------------------------

    def open_command_bar(self) -> None:
        bar = self.query_one(CommandBar)
        if not bar.has_class("-open"):
            bar.start_entry()
        self.show_command_error("")
        bar.add_class("-open")
        self.set_focus(bar)  # now: keys typed right after `:` belong in the bar

    def close_command_bar(self) -> None:
        self.query_one(CommandBar).remove_class("-open")
        self.table(self.active_pane).focus()

    def show_command_error(self, text: str) -> None:
        line = self.query_one("#command-error", Static)
        line.update(Content(text))
        line.set_class(bool(text), "-shown")

    @on(Input.Submitted, "#command-input")
    def command_submitted(self, event: Input.Submitted) -> None:
        self.close_command_bar()
        self.run_command(event.value.strip())

    def run_command(self, line: str) -> None:
        """Run one command line (as entered in the bar, or from the palette)."""
        if not line:
            return
        self.query_one(CommandBar).remember(line)
        command, argument, name = command_table.parse(line)
        error = (f"unknown command :{name} (Tab completes; ? lists the commands)" if command is None
                 else command.run(self, argument))
        if error:
            self.app.record("error", f":{line}: {error}")
            self.show_command_error(f":{line}: {error}")

    def command_key(self, event) -> bool:
        """Keys the open command bar takes from the screen's bindings: Esc, Tab, up/down."""
        bar = self.query_one(CommandBar)
        if event.key == "escape":
            self.close_command_bar()
        elif event.key == "tab":
            bar.accept_suggestion()
        elif event.key in ("up", "down") and bar.history:
            bar.recall(-1 if event.key == "up" else 1)
        else:
            return False
        return True

    def command_bar_keys(self) -> set[str]:
        return {key for key, bindings in self.app._bindings.key_to_bindings.items()
                if any(binding.action == "command_bar" for binding in bindings)}

    def on_key(self, event) -> None:
        field = self.query_one("#filter-input", Input)
        bar = self.query_one(CommandBar)
        if bar.has_focus:
            if self.command_key(event):
                event.stop()
                event.prevent_default()
            return
        if bar.has_class("-open") and event.is_printable and event.character:
            event.stop()  # typed in the same burst as `:`, routed before the bar took the focus
            bar.insert_text_at_cursor(event.character)
            return
        if event.key in self.command_bar_keys() and not field.has_focus:
            event.stop()
            self.open_command_bar()
            return
        if self.query_one("#command-error").has_class("-shown"):
            self.show_command_error("")
        if event.key in self.filter_keys() and not field.has_class("-open"):
            # Open the field now, not when the binding runs after the keys already queued
            # behind this one (fast typing, paste): those belong in the field, and `q` among
            # them must not quit.
            self.action_filter()
        elif event.key == "escape" and field.has_focus:
            event.stop()
            self.close_filter(clear=True)
        elif field.has_class("-open") and event.is_printable and event.character:
            # Typed in the same burst as `/` (fast typing, paste): the key was routed before
            # the field took the focus, so it reaches the screen; it belongs in the field.
            event.stop()
            field.insert_text_at_cursor(event.character)

    # ---- opening objects -----------------------------------------------------------------

    @on(VirtualTable.RowOpened)
    def row_opened(self, event: VirtualTable.RowOpened) -> None:
        table_id, row = event.table.id, event.row
        if table_id == "pods":
            self.app.open_object("Pod", row.key)
        elif table_id == "nodes":
            self.app.open_object("Node", row.key)
        elif table_id == "runtime-classes":
            self.app.open_object("RuntimeClass", row.key)
        elif table_id == "findings":
            self.open_finding(row)

    def action_read_pod(self, what: str) -> None:
        """y, d, l: the pod under the cursor of the pods pane (k9s)."""
        row = self.table("pods").cursor_row if self.active_pane == "pods" else None
        pod = getattr(row, "pod", None)
        if pod is None:
            self.notify("y (YAML), d (describe) and l (logs) read a pod: pick one in the Pods pane (4).",
                        timeout=4)
            return
        from kataview.ui.screens.pod_reading import pod_read_screen

        self.app.push_screen(pod_read_screen(what, pod))

    def open_finding(self, finding) -> None:
        """Enter on a finding (a FindingRow or a model Finding) opens its detail screen: the
        full text, what to do, the objects involved. It never rescopes the dashboard."""
        from kataview.ui.screens import detail_screen_for
        from kataview.ui.screens.finding_detail import finding_key

        self.app.push_screen(detail_screen_for("Finding", finding_key(finding)))
