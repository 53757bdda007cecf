"""TextPager: a read-only, searchable page of lines (Line API), for a pod's YAML, its describe
and its container log.

Lines are plain strings made terminal-safe (and redacted) when they are added, with optional
spans naming component classes (`text-pager--key` ...) for colour. Only the visible lines are
drawn, so a 10,000-line log costs per frame what a screenful does. The buffer is bounded:
beyond `max_lines` the oldest lines go, and `dropped` counts them. `wrap` folds long lines at
the width (as `less` does); otherwise left/right scroll. Search is plain, case-insensitive
text; the matches on screen are highlighted, the current one more.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterable, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kataview.model.redaction import redact
from kataview.model.terminal_text import terminal_safe

MAX_LINE_CHARS = 16_384  # a longer line is cut, saying how much (a log line without newlines)


@dataclass(frozen=True, slots=True)
class PagerLine:
    text: str
    spans: tuple[tuple[int, int, str], ...] = ()  # (start, end, class suffix) over text
    style: str = ""  # a class suffix for the whole line (heading, error)


def safe_text(text: str) -> str:
    """What may reach the screen: tabs expanded, credentials redacted, controls made visible,
    and no longer than MAX_LINE_CHARS."""
    text = terminal_safe(redact(text.expandtabs(8)))
    if len(text) > MAX_LINE_CHARS:
        text = f"{text[:MAX_LINE_CHARS]}… (cut: {len(text) - MAX_LINE_CHARS:,} more characters)"
    return text


def plain_line(text: str, style: str = "") -> PagerLine:
    return PagerLine(safe_text(text), (), style)


class TextPager(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "text-pager--key", "text-pager--string", "text-pager--number", "text-pager--muted",
        "text-pager--heading", "text-pager--error", "text-pager--warning", "text-pager--match",
        "text-pager--current", "text-pager--empty",
    }
    BINDINGS = [
        Binding("up,k", "scroll_up", "Up", show=False, id="pager-up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="pager-down"),
        Binding("left,h", "scroll_left", "Left", show=False, id="pager-left"),
        Binding("right", "scroll_right", "Right", show=False, id="pager-right"),
        Binding("pageup,b", "page_up", "Page up", show=False, id="pager-page-up"),
        Binding("pagedown,space", "page_down", "Page down", show=False, id="pager-page-down"),
        Binding("home,g", "scroll_home", "Top", show=False, id="pager-top"),
        Binding("end,G", "scroll_end", "End", show=False, id="pager-end"),
    ]

    def __init__(self, *, max_lines: int | None = None, empty_text: str = "", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.lines: list[PagerLine] = []
        self.max_lines = max_lines
        self.dropped = 0  # lines dropped from the front since the last set_lines
        self.empty_text = empty_text
        self.wrap = False
        self.term = ""  # the search, lower case
        self.current: tuple[int, int] | None = None  # (line, offset) of the current match
        self._widths: list[int] = []  # cells per line
        self._row_starts: list[int] = []  # wrap: first row of each line, for the current width
        self._wrapped_at = 0

    # ---- content -------------------------------------------------------------------------

    def set_lines(self, lines: Iterable[PagerLine]) -> None:
        self.lines = list(lines)
        self.dropped = 0
        self._trim()
        self._widths = [cell_len(line.text) for line in self.lines]
        self.current = None
        self._relayout()
        self.scroll_to(0, 0, animate=False)

    def append(self, lines: Sequence[PagerLine]) -> None:
        """More lines at the end; the view follows when it was at the end."""
        if not lines:
            return
        at_end = self.scroll_y >= self.max_scroll_y
        before = len(self.lines)
        self.lines.extend(lines)
        self._widths.extend(cell_len(line.text) for line in lines)
        gone = self._trim()
        if self.current is not None:
            line, offset = self.current
            self.current = (line - gone, offset) if line >= gone else None
        self._relayout()
        if at_end or before == 0:
            self.scroll_end(animate=False, immediate=True)

    def _trim(self) -> int:
        if self.max_lines is None or len(self.lines) <= self.max_lines:
            return 0
        excess = len(self.lines) - self.max_lines
        del self.lines[:excess]
        del self._widths[:excess]
        self.dropped += excess
        return excess

    def set_wrap(self, wrap: bool) -> None:
        top = self._line_at_row(round(self.scroll_y))
        self.wrap = wrap
        self._relayout()
        self.scroll_to(0, self._row_of_line(top), animate=False)

    # ---- layout --------------------------------------------------------------------------

    def _relayout(self) -> None:
        width = max(1, self.scrollable_content_region.width or self.size.width or 80)
        if self.wrap:
            self._wrapped_at = width
            starts, row = [], 0
            for cells in self._widths:
                starts.append(row)
                row += max(1, -(-cells // width))
            self._row_starts = starts
            self.virtual_size = Size(width, row)
        else:
            self.virtual_size = Size(max(self._widths, default=0), len(self.lines))
        self.refresh()

    def on_resize(self) -> None:
        if self.wrap and self.scrollable_content_region.width != self._wrapped_at:
            self._relayout()

    def _line_at_row(self, row: int) -> int:
        if not self.wrap:
            return row
        return max(0, bisect_right(self._row_starts, row) - 1)

    def _row_of_line(self, line: int) -> int:
        if not self.wrap:
            return line
        return self._row_starts[line] if 0 <= line < len(self._row_starts) else 0

    # ---- search --------------------------------------------------------------------------

    def search(self, term: str) -> None:
        """Highlight term and go to its first match at or after the top line."""
        self.term = term.lower()
        self.current = None
        if self.term:
            self.goto_match(1, start=(self._line_at_row(round(self.scroll_y)), -1))
        self.refresh()

    def goto_match(self, step: int, start: tuple[int, int] | None = None) -> bool:
        """The next (step 1) or previous (-1) match, wrapping around; False when none."""
        if not self.term or not self.lines:
            return False
        line, offset = start or self.current or (self._line_at_row(round(self.scroll_y)), -1)
        count = len(self.lines)
        for turn in range(count + 1):
            index = (line + step * turn) % count
            text = self.lines[index].text.lower()
            if step > 0:
                found = text.find(self.term, offset + 1 if turn == 0 else 0)
            elif turn == 0:  # a match starting before the current one
                found = text.rfind(self.term, 0, offset + len(self.term) - 1) if offset > 0 else -1
            else:
                found = text.rfind(self.term)
            if found >= 0:
                self.current = (index, found)
                self._show_line(index)
                self.refresh()
                return True
        return False

    def match_position(self) -> tuple[int, int]:
        """(ordinal of the current match from 1, total matches); (0, total) when none is current."""
        if not self.term:
            return 0, 0
        total = ordinal = 0
        for index, line in enumerate(self.lines):
            text = line.text.lower()
            if self.current is not None and index == self.current[0]:
                ordinal = total + text.count(self.term, 0, self.current[1] + len(self.term))
            total += text.count(self.term)
        return ordinal, total

    def _show_line(self, index: int) -> None:
        row = self._row_of_line(index)
        height = self.scrollable_content_region.height or 1
        if not round(self.scroll_y) <= row < round(self.scroll_y) + height:
            self.scroll_to(y=max(0, row - height // 3), animate=False)

    # ---- rendering -----------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"text-pager--{name}", partial=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = round(self.scroll_y) + y
        if not self.lines:
            text = self.empty_text if y == 0 else ""
            return Strip([Segment(text, base + self._style("empty"))]).crop_extend(0, width, base)
        index = self._line_at_row(row)
        if index >= len(self.lines) or (not self.wrap and row >= len(self.lines)):
            return Strip.blank(width, base)
        strip = self._line_strip(index, base)
        if self.wrap:
            start = (row - self._row_starts[index]) * max(1, self._wrapped_at)
            return strip.crop_extend(start, start + width, base)
        start = round(self.scroll_x)
        return strip.crop_extend(start, start + width, base)

    def _line_strip(self, index: int, base: Style) -> Strip:
        line = self.lines[index]
        text = line.text
        line_style = base + self._style(line.style) if line.style else base
        marks = [(start, end, self._style(name)) for start, end, name in line.spans]
        if self.term:
            lowered, size, at = text.lower(), len(self.term), 0
            while (found := lowered.find(self.term, at)) >= 0:
                current = self.current == (index, found)
                marks.append((found, found + size, self._style("current" if current else "match")))
                at = found + size
        if not marks:
            return Strip([Segment(text, line_style)])
        # split at every mark boundary; later marks (search) win over earlier (colour)
        cuts = sorted({0, len(text), *(p for start, end, _ in marks for p in (start, end))})
        segments = []
        for left, right in zip(cuts, cuts[1:]):
            style = line_style
            for start, end, mark in marks:
                if start <= left and right <= end:
                    style = style + mark
            segments.append(Segment(text[left:right], style))
        return Strip(segments)
