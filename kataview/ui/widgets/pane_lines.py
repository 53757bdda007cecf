"""The one-line widgets around the panes: the pane bar (at 80x24, where one pane shows at a
time) and the line under the panes with the focused row's cut cells in full. Each redraws
only when what it says changes, and never asks for a layout pass: their heights are fixed
in main.tcss, and a layout per cursor move cost ~10 ms at 150,000 pods."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from kataview.model.terminal_text import terminal_safe
from kataview.ui.widgets.virtual_table import VirtualTable


class PaneBar(Static):
    def show(self, panes: list[tuple[str, bool]]) -> None:
        """(label, focused) per pane, in order."""
        parts = [Content.styled(f" {label} ", "reverse bold" if focused else "") for label, focused in panes]
        self.update(Content("│").join(parts), layout=False)


class FullCellsLine(Static):
    """The focused row's cells that are dropped or cut, in full (the pane draws the rest);
    empty while all are whole."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: tuple | None = None

    def show(self, table: VirtualTable) -> None:
        if not table.size.width:
            return
        layout = table.layout_at()
        row = table.cursor_row
        cells = table.full_cells(row) if layout.cuts and row is not None else []
        hint = "w: fewer columns" if table.wide else "w: all columns" if layout.dropped else ""
        shown = (tuple(cells), hint if layout.cuts else "")
        if shown == self.shown:
            return  # a cursor move within rows that read alike: no repaint
        self.shown = shown
        if not layout.cuts:
            self.update("", layout=False)
            return
        parts = [Content.assemble((title, "$text-muted"), " ", Content(terminal_safe(text)))
                 for title, text in cells]
        tail = ["  ", (hint, "$text-muted")] if hint else []
        self.update(Content.assemble("⤷ ", Content(" · ").join(parts), *tail), layout=False)
