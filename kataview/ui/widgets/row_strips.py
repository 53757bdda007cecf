"""The drawn lines of a VirtualTable's rows (`cells_strip`), kept while nothing they depend on
changes (`RowStrips`).

A scroll by one line moves every visible row up: without these, the whole pane is drawn
again per key (about 0.2 ms per row at 200 columns, over 10 ms for a tall pane). A line
depends on its row object (rows are immutable: a changed pod is a new row), on the column
layout and width, on the table's styles, and on the clock (AGE): the table clears the cache
when any of those change, so an entry is only ever reused within the same second and layout.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from kataview.ui.widgets.column_fit import Column, fit


class RowStrips:
    """Strips by row identity, for one (width, layout, style) context at a time."""

    def __init__(self, limit: int = 512) -> None:
        self.limit = limit  # a few screens of rows: the cache is for scrolling, not for all rows
        self.context: tuple | None = None
        self.entries: dict[int, tuple[Any, Strip]] = {}

    def use(self, context: tuple) -> None:
        """The context lines are drawn in now; a different one drops every entry."""
        if context != self.context:
            self.context = context
            self.entries.clear()

    def get(self, row: Any) -> Strip | None:
        entry = self.entries.get(id(row))
        # by identity, holding the row: an id reused by a new object never matches
        return entry[1] if entry is not None and entry[0] is row else None

    def put(self, row: Any, strip: Strip) -> None:
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[id(row)] = (row, strip)

    def clear(self) -> None:
        self.entries.clear()


def cells_strip(columns: Sequence[tuple[Column, int]], row: Any, width: int, row_style: Style,
                style_of: Callable[[str], Style], mark: tuple[str, str] | None,
                saw: Callable[[Column, str], bool]) -> tuple[Strip, bool]:
    """One line of cells in the laid out columns (the column titles, with the sort mark, when
    row is None), and whether a cell was wider than the widths measured so far (`saw`)."""
    segments = []
    used = 0
    widened = False
    for column, column_width in columns:
        if used >= width:
            break
        text = column.title if row is None else column.value(row)
        if row is not None and column.measure and saw(column, text):
            widened = True  # wider than the sample showed: lay out again
        cell_width = min(column_width, width - used)
        borrowed = False
        if mark is not None and column.title == mark[0]:
            text += mark[1]
            # a title as wide as its column keeps its arrow by taking the space after it
            if cell_len(text) > cell_width and used + cell_width < width:
                cell_width += 1
                borrowed = True
        style = row_style
        if row is not None and column.style is not None:
            name = column.style(row)
            if name:
                style = row_style + style_of(name)
        segments.append(Segment(fit(text, cell_width, column.right, column.middle), style))
        used += cell_width
        if used < width and not borrowed:
            segments.append(Segment(" ", row_style))
            used += 1
    if used < width:
        segments.append(Segment(" " * (width - used), row_style))
    return Strip(segments, width), widened
