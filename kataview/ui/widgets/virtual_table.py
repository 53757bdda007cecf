"""VirtualTable: a keyed, filterable list that renders only the visible rows (Line API).

Rows are any objects with `key`, `namespace` and `haystack`; columns say how to turn a row into
text. Sections (e.g. one per runtime) interleave header lines. The cursor and the scroll
position are held by key, so an update that inserts or removes rows above keeps the operator's
place. Cost per frame grows with the screen height, never with the number of rows.
"""

from __future__ import annotations

from typing import Any, Sequence

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kataview.ui.filtering import RowFilter, parse_filter
from kataview.ui.widgets.column_fit import Column, ContentWidths, Layout, allocate, cells_line, fit, full_cells
from kataview.ui.widgets.row_strips import RowStrips
from kataview.ui.widgets.sections import Section, SectionHeader, section_lines

__all__ = ["Column", "RowMessage", "Section", "SectionHeader", "VirtualTable", "fit"]


class RowMessage(Message):
    """A message about one row of a VirtualTable."""

    def __init__(self, table: VirtualTable, row: Any) -> None:
        super().__init__()
        self.table = table
        self.row = row

    @property
    def control(self) -> VirtualTable:
        return self.table


class VirtualTable(ScrollView, can_focus=True):
    CLOCK_TICK_S = 1.0  # visible lines are redrawn this often (ages)
    COMPONENT_CLASSES = {
        "virtual-table--header", "virtual-table--cursor", "virtual-table--section",
        "virtual-table--runc", "virtual-table--kata", "virtual-table--gvisor",
        "virtual-table--other", "virtual-table--warning", "virtual-table--error",
        "virtual-table--dim", "virtual-table--empty",
    }
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="cursor-up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="cursor-down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="page-up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="page-down"),
        Binding("home,g", "edge(0)", "First", show=False, id="first-row"),
        Binding("end,G", "edge(1)", "Last", show=False, id="last-row"),
        Binding("enter", "open", "Open", id="open"),
    ]

    class RowOpened(RowMessage):
        """Enter (or a double click) on a row."""

    class CursorMoved(RowMessage):
        """The cursor moved to another row."""

    class LayoutChanged(Message):
        """The columns shown, or which of them are narrower than their content, changed."""

        def __init__(self, table: VirtualTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, columns: Sequence[Column], *, empty_text: str = "nothing to show",
                 namespaced: bool = False, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = tuple(columns)
        self.empty_text = empty_text
        self.namespaced = namespaced
        self.sections: list[Section] = []
        self.lines: list[Any] = []  # SectionHeader or row, in display order
        self.row_filter = RowFilter()
        self._matches: list[list] | None = None  # per section, for narrowing as the filter grows
        self.namespace: str | None = None
        self.cursor_key: str | None = None
        self._cursor_index = 0
        self._column_layout: tuple[tuple, Layout] | None = None
        self._widths = ContentWidths(self.columns)  # measured once per snapshot
        self._cuts_posted: tuple | None = None
        self.wide = False  # show every column, squeezed, instead of dropping some
        self.row_count = 0  # rows after filtering, headers excluded
        self.sort_mark: tuple[str, str] | None = None  # (column title, arrow) of the sorted column
        self._row_strips = RowStrips()
        self._base_style: Style | None = None  # self.rich_style walks every ancestor: once per style change

    # ---- data in -------------------------------------------------------------------------

    def set_sections(self, sections: Sequence[Section]) -> None:
        """Replace the rows; the cursor and the scroll anchor stay on the same keys."""
        anchor_key, anchor_offset = self._anchor()
        self.sections = list(sections)
        before = self._widths.content
        self._widths.measure_rows(section.rows for section in self.sections)
        self._rebuild(anchor_key, anchor_offset)
        if self._widths.content != before:
            self.refresh()  # every line is drawn at the new widths, not only the changed rows

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.set_sections([Section(None, rows)])

    def set_sort_mark(self, title: str | None, arrow: str = "") -> None:
        """Mark the column the rows are sorted by (the screen sorts them)."""
        mark = (title, arrow) if title else None
        if mark != self.sort_mark:
            self.sort_mark = mark
            self.refresh()  # the marked column may widen by the arrow's cell

    def set_filter(self, text: str) -> RowFilter:
        anchor_key, anchor_offset = self._anchor()
        previous, self.row_filter = self.row_filter, parse_filter(text)
        self._rebuild(anchor_key, anchor_offset, narrow=self._narrows(previous, self.row_filter))
        return self.row_filter

    def filter_work(self, text: str) -> int:
        """How many rows set_filter(text) would look at: the current matches when the text
        narrows the kept filter (typing on), else every row."""
        if self._matches is not None and self._narrows(self.row_filter, parse_filter(text)):
            return sum(len(matched) for matched in self._matches)
        return sum(len(section.rows) for section in self.sections)

    def _narrows(self, previous: RowFilter, new: RowFilter) -> bool:
        return (previous.plain and new.plain and not previous.negate and not new.negate
                and not self.names_sections(new) and previous.text in new.text)

    def set_wide(self, wide: bool) -> None:
        if wide != self.wide:
            self.wide = wide
            self.refresh()

    def layout_at(self, width: int | None = None) -> Layout:
        """The columns as drawn now (or at width)."""
        return self._layout(self.scrollable_content_region.width if width is None else width)

    def full_cells(self, row: Any) -> list[tuple[str, str]]:
        """(title, whole text) of the row's cells that are not shown whole (dropped or cut)."""
        return full_cells(self.layout_at(), self.columns, row)

    def names_sections(self, row_filter: RowFilter) -> bool:
        """A plain word that is some section's tag (`kata`) picks sections, not rows."""
        return row_filter.plain and any(row_filter.text in section.tags for section in self.sections)

    def set_namespace(self, namespace: str | None) -> None:
        if not self.namespaced:
            return
        anchor_key, anchor_offset = self._anchor()
        self.namespace = namespace
        self._rebuild(anchor_key, anchor_offset)

    @property
    def cursor_row(self) -> Any | None:
        index = self._locate_cursor()
        return self.lines[index] if index is not None else None

    def move_cursor_to(self, key: str) -> bool:
        for index, line in enumerate(self.lines):
            if line.key == key and not isinstance(line, SectionHeader):
                self._set_cursor(index)
                return True
        return False

    # ---- internals -----------------------------------------------------------------------

    def _anchor(self) -> tuple[str | None, int]:
        """The key to keep in place across a rebuild and its offset from the top of the view."""
        index = self._locate_cursor()
        top = round(self.scroll_y)
        if index is not None:
            return self.cursor_key, index - top
        if 0 <= top < len(self.lines):
            return self.lines[top].key, 0
        return None, 0

    def _rebuild(self, anchor_key: str | None, anchor_offset: int, narrow: bool = False) -> None:
        before = self._visible_lines()
        old_index = self._cursor_index
        namespace = self.namespace if self.namespaced else None
        earlier = self._matches if narrow and self._matches is not None else None
        lines, count, self._matches = section_lines(self.sections, self.row_filter, namespace, earlier,
                                                    self.names_sections(self.row_filter))
        self.lines = lines
        self.row_count = count
        self.virtual_size = Size(0, len(lines) + 1 if lines else 2)  # header + rows, or the empty text
        self._cursor_index = min(old_index, max(0, len(lines) - 1))
        index = self._locate_cursor()
        if index is None:
            index = self._nearest_row(self._cursor_index, 1) if lines else None
            self.cursor_key = lines[index].key if index is not None else None
            self._cursor_index = index or 0
        anchor = self._index_of(anchor_key) if anchor_key is not None else None
        if anchor is not None:
            self.scroll_to(y=max(0, anchor - anchor_offset), animate=False, force=True)
        self._scroll_cursor_into_view()
        self._refresh_changed(before)

    def _visible_lines(self) -> tuple[int, int, str | None, list]:
        top = round(self.scroll_y)
        return top, self._cursor_index, self.cursor_key, self.lines[top:top + self.size.height]

    def _refresh_changed(self, before: tuple[int, int, str | None, list]) -> None:
        """Repaint only the visible lines whose row (or cursor mark) changed. Under a steady
        watch most of the screen stays the same, and every repainted line goes through
        Textual's whole strip pipeline (a third of the dashboard's CPU at 150,000 pods).
        Rows are immutable and reused while unchanged, so identity says it; ages move with
        the clock tick (on_mount)."""
        top, cursor, key, old = before
        now_top, now_cursor, now_key, new = self._visible_lines()
        if now_top != top or not old or not new or len(old) != len(new):
            self.refresh()
            return
        for offset, (was, now) in enumerate(zip(old, new)):
            index = top + offset
            if was is not now or ((index == cursor and was.key == key)
                                  != (index == now_cursor and now.key == now_key)):
                self.refresh_line(index + 1)  # virtual line 0 is the column titles

    def _index_of(self, key: str) -> int | None:
        if self.cursor_key == key:
            return self._locate_cursor()
        for index, line in enumerate(self.lines):
            if line.key == key:
                return index
        return None

    def _locate_cursor(self) -> int | None:
        key = self.cursor_key
        if key is None or not self.lines:
            return None
        index = self._cursor_index
        if index < len(self.lines) and self.lines[index].key == key:
            return index
        for index, line in enumerate(self.lines):
            if line.key == key:
                self._cursor_index = index
                return index
        return None

    def _nearest_row(self, index: int, direction: int) -> int | None:
        """The closest non-header line from index in direction, then the other way."""
        for step in (direction, -direction):
            probe = index
            while 0 <= probe < len(self.lines):
                if not isinstance(self.lines[probe], SectionHeader):
                    return probe
                probe += step
        return None

    def _set_cursor(self, index: int) -> None:
        before, top = self._cursor_index, self.scroll_offset.y
        self._cursor_index = index
        row = self.lines[index]
        changed = row.key != self.cursor_key
        self.cursor_key = row.key
        self._scroll_cursor_into_view()
        if self.scroll_offset.y == top:
            # the view did not scroll: only the old and the new cursor line look different
            # (a whole-table repaint per key costs ~1 ms per line at 200 columns)
            self.refresh_line(before + 1)  # virtual line 0 is the column titles
            self.refresh_line(index + 1)
        else:
            self.refresh()
        if changed:
            self.post_message(self.CursorMoved(self, row))

    def _scroll_cursor_into_view(self) -> None:
        index = self._locate_cursor()
        if index is None:
            return
        visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, force=True)
        elif index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False, force=True)

    # ---- actions -------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        if not self.lines:
            return
        start = self._locate_cursor()
        start = 0 if start is None else start
        target = min(max(start + delta, 0), len(self.lines) - 1)
        index = self._nearest_row(target, 1 if delta > 0 else -1)
        if index is not None:
            self._set_cursor(index)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 2))

    def action_edge(self, end: int) -> None:
        if self.lines:
            index = self._nearest_row(len(self.lines) - 1 if end else 0, -1 if end else 1)
            if index is not None:
                self._set_cursor(index)

    def action_open(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.RowOpened(self, row))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        index = round(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self.lines) and not isinstance(self.lines[index], SectionHeader):
            self._set_cursor(index)
            if event.chain >= 2:
                self.action_open()

    def on_mount(self) -> None:
        # cells like AGE are computed when a line is drawn, and _refresh_changed leaves
        # unchanged lines alone: the visible lines are redrawn once a second
        self.set_interval(self.CLOCK_TICK_S, self._clock_tick)

    def _clock_tick(self) -> None:
        if self.lines and self.display:
            self._row_strips.clear()  # AGE (and the VM figures gathered since) move on
            self.refresh()

    def notify_style_update(self) -> None:
        self._base_style = None
        self._row_strips.clear()
        super().notify_style_update()

    def watch_show_vertical_scrollbar(self) -> None:
        # the content narrows or widens by the scrollbar: lines drawn at the old width would
        # be cropped (the column layout depends on the width), so draw them all again
        self.refresh()

    def on_focus(self) -> None:
        self._row_strips.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._row_strips.clear()
        self.refresh()

    # ---- rendering -----------------------------------------------------------------------

    def _layout(self, width: int) -> Layout:
        """The columns that fit in width, with their widths (column_fit.allocate); computed
        when the width, the wide mode or the content widths change, not per frame."""
        marked = self.sort_mark[0] if self.sort_mark else None
        key = (width, self.wide, tuple(self._widths.content), marked)
        cached = self._column_layout
        if cached is not None and cached[0] == key:
            return cached[1]
        layout = allocate(self.columns, self._widths.content, width, self.wide, marked)
        self._column_layout = (key, layout)
        cuts = (tuple(column.title for column in layout.dropped), layout.narrowed)
        if cuts != self._cuts_posted:
            self._cuts_posted = cuts
            self.post_message(self.LayoutChanged(self))
        return layout

    def _widen(self) -> None:
        if self._widths.widen():
            self.refresh()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"virtual-table--{name}", partial=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if self._base_style is None:
            self._base_style = self.rich_style
        base = self._base_style
        if y == 0:
            return self._render_cells(None, width, base + self._style("header"))
        index = round(self.scroll_y) + y - 1
        if not self.lines:
            text = self.empty_text if y == 1 else ""
            return Strip([Segment(fit(text, width), base + self._style("empty"))], width)
        if index >= len(self.lines):
            return Strip.blank(width, base)
        line = self.lines[index]
        if isinstance(line, SectionHeader):
            style = base + self._style("section")
            if line.style:
                style += self._style(line.style)
            return Strip([Segment(fit(line.text, width), style)], width)
        if index == self._cursor_index and line.key == self.cursor_key:
            return self._render_cells(line, width, base + self._style("cursor"))
        self._row_strips.use((width, self._layout(width), base))
        strip = self._row_strips.get(line)
        if strip is None:
            strip = self._render_cells(line, width, base)
            self._row_strips.put(line, strip)
        return strip

    def _render_cells(self, row: Any, width: int, row_style: Style) -> Strip:
        """One line of cells: the column titles when row is None."""
        segments, widened = cells_line(self._layout(width).columns, row, width, row_style, self._style,
                                       self.sort_mark if row is None else None, self._widths.saw)
        if widened:  # applied after this frame: every line of one frame has the same layout
            self.call_after_refresh(self._widen)
        return Strip(segments, width)
