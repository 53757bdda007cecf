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
        """Tab: complete the line now. The grey completion is worked out in the background and
        may not be there yet when Tab follows the letters at once; a suggester that can complete
        at once (LineCompletion.complete) is asked directly, else → takes the grey text."""
        before = self.value
        complete = getattr(self.suggester, "complete", None)
        completed = complete(before) if complete is not None else None
        if completed:
            self.value = completed
            self.cursor_position = len(completed)
        else:
            self.cursor_position = len(before)
            self.action_cursor_right()
        return self.value != before
