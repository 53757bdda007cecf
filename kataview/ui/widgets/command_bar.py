"""The `:` line at the bottom (k9s): an Input whose grey completion comes from a suggester of
the whole line (kataview.ui.command_table.LineCompletion). The main screen opens it, runs what is
entered; the bar keeps the history (up/down, as a shell)."""

from __future__ import annotations

from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input


class CommandBar(Input):
    # shown in the footer while the bar is open (the screen's tab is "Next pane"); the
    # screen's on_key does the work, before bindings, so keys typed in a burst are not lost
    BINDINGS = [
        Binding("tab", "complete", "Complete", id="command-complete"),
        Binding("escape", "close", "Close", id="command-close"),
    ]

    def __init__(self, suggester: Suggester, id: str | None = None) -> None:
        super().__init__(id=id, select_on_focus=False, suggester=suggester,
                         placeholder="pods nodes rc findings events ns NAME ctx NAME log q — Tab completes, Esc closes")
        self.history: list[str] = []
        self.history_at = 0  # where up/down are in history; len(history): the new line

    def start_entry(self) -> None:
        self.value = ""
        self.history_at = len(self.history)

    def remember(self, line: str) -> None:
        if not self.history or self.history[-1] != line:
            self.history.append(line)

    def recall(self, step: int) -> None:
        """Up (-1) or down (+1) through the history; past the newest: an empty line."""
        self.history_at = max(0, min(len(self.history), self.history_at + step))
        self.value = self.history[self.history_at] if self.history_at < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        self.accept_suggestion()

    def action_close(self) -> None:
        self.value = ""
        self.screen.set_focus(None)

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
