"""The drawn lines of a VirtualTable's rows, kept while nothing they depend on changes.

A scroll by one line moves every visible row up: without these, the whole pane is drawn
again per key (about 0.2 ms per row at 200 columns, over 10 ms for a tall pane). A line
depends on its row object (rows are immutable: a changed pod is a new row), on the column
layout and width, on the table's styles, and on the clock (AGE): the table clears the cache
when any of those change, so an entry is only ever reused within the same second and layout.
"""

from __future__ import annotations

from typing import Any

from textual.strip import Strip


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
