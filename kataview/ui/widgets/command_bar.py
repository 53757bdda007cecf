"""The `:` line at the bottom (k9s): an Input whose grey completion comes from a suggester of
the whole line (kataview.ui.command_table.LineCompletion). The main screen opens it, runs what is
entered and keeps the history."""

from __future__ import annotations

from textual.suggester import Suggester
from textual.widgets import Input


class CommandBar(Input):
    def __init__(self, suggester: Suggester, id: str | None = None) -> None:
        super().__init__(id=id, select_on_focus=False, suggester=suggester,
                         placeholder="pods nodes rc findings events ns NAME ctx NAME log q — Tab completes, Esc closes")

    def accept_suggestion(self) -> bool:
        """Tab: take the grey completion, as → does at the end of the line (Input's own
        cursor-right is what accepts it)."""
        before = self.value
        self.cursor_position = len(before)
        self.action_cursor_right()
        return self.value != before
