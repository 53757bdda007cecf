"""Column widths by priority, not greed, and the cuts that keep a cell recognisable.

A table's columns each want their content's width (measured on a bounded sample of the rows
per snapshot, then widened by any row drawn since). `allocate` gives every column that width
when it fits; when it does not, columns marked `keep` (status, runtime, handler marks, ready
counts) keep theirs, the others share what is left fairly (the smallest needs are met first,
so short columns stay whole and the long ones are cut evenly), and when even the floors do not
fit, columns drop by their `drop` rank (1 first) unless the table is in wide mode. Spare
width goes first to the columns that never drop (NAME before NODE), then to the others. Pure:
no Textual here. `cells_line` draws one line of cells in the columns laid out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from kataview.model.terminal_text import terminal_safe

ELLIPSIS = "…"
SAMPLE_ROWS = 256  # rows measured per section and snapshot: a bounded cost at 150,000 pods
KEEP_LIMIT = 60  # a kept column's floor is its content up to this (a hostile status is cut anyway)
NARROWEST = 3  # a column squeezed in wide mode keeps at least this many cells


@dataclass(frozen=True)
class Column:
    title: str
    width: int  # the floor before columns drop (a kept column's floor is its content)
    value: Callable[[Any], str]
    style: Callable[[Any], str | None] | None = None  # component class suffix, e.g. "kata"
    flex: bool = False  # wants the widest content (names, messages): cut before dropping others
    right: bool = False
    drop: int = 0  # when the table is too narrow, drop=1 goes first, then 2, ...; 0 always stays
    keep: bool = False  # never cut while the table is wide enough for every kept column whole
    middle: bool = False  # cut in the middle (a pod name keeps its unique suffix)
    measure: bool = True  # False: the content is not measured (AGE changes with the clock)


@dataclass(frozen=True)
class Layout:
    """One table's columns at one width: (column, cells) in order, the ones dropped, and
    the titles of the columns narrower than what they want (their cells may be cut)."""

    columns: tuple[tuple[Column, int], ...]
    dropped: tuple[Column, ...]
    narrowed: frozenset[str]

    @property
    def cuts(self) -> bool:
        return bool(self.dropped or self.narrowed)


def text_cells(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def sample(rows: Sequence[Any], limit: int = SAMPLE_ROWS) -> Sequence[Any]:
    """Evenly spaced rows, first and last included; all of them when there are few."""
    if len(rows) <= limit:
        return rows
    step = (len(rows) - 1) / (limit - 1)
    return [rows[round(index * step)] for index in range(limit)]


def measure(columns: Sequence[Column], rows: Iterable[Any]) -> list[int]:
    """The widest cell of each measured column over rows (0 for the others)."""
    widths = [0] * len(columns)
    measured = [(index, column.value) for index, column in enumerate(columns) if column.measure]
    for row in rows:
        for index, value in measured:
            cells = text_cells(terminal_safe(value(row)))
            if cells > widths[index]:
                widths[index] = cells
    return widths


def wants(columns: Sequence[Column], content: Sequence[int], marked: str | None = None) -> list[int]:
    """What each column asks for: its title (and the sort arrow after the marked one's) and
    content; an unmeasured column its width."""
    result = []
    for column, cells in zip(columns, content):
        title = text_cells(column.title) + (1 if column.title == marked else 0)
        result.append(max(title, cells if column.measure else column.width))
    return result


def allocate(columns: Sequence[Column], content: Sequence[int], width: int, wide: bool = False,
             marked: str | None = None) -> Layout:
    """Widths for the columns in `width` cells (one space between columns); `marked`: the
    title of the column the rows are sorted by, whose arrow needs a cell."""
    want = wants(columns, content, marked)
    floor = [min(want[i], max(column.width, KEEP_LIMIT)) if column.keep else min(column.width, want[i])
             for i, column in enumerate(columns)]
    shown = list(range(len(columns)))
    dropped: list[Column] = []
    while not wide and sum(floor[i] for i in shown) + len(shown) - 1 > width:
        droppable = [i for i in shown if columns[i].drop]
        if not droppable:
            break
        gone = min(droppable, key=lambda i: columns[i].drop)
        shown.remove(gone)
        dropped.append(columns[gone])
    room = max(0, width - (len(shown) - 1))
    given = squeeze({i: floor[i] for i in shown}, columns, room)
    # the columns that never drop (NAME, STATUS...) are served first, then the others share
    spare = room - sum(given.values())
    for first in (True, False):
        spare = share({i: want[i] for i in shown if (columns[i].drop == 0) == first}, given, spare)
    narrowed = frozenset(columns[i].title for i in shown if given[i] < want[i])
    return Layout(tuple((columns[i], given[i]) for i in shown), tuple(dropped), narrowed)


def squeeze(floor: dict[int, int], columns: Sequence[Column], room: int) -> dict[int, int]:
    """The floors, narrowed one cell at a time from the widest (others before kept columns)
    until they fit in room or every column is at NARROWEST."""
    given = dict(floor)
    excess = sum(given.values()) - room
    while excess > 0:
        candidates = [i for i in given if given[i] > NARROWEST]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: (not columns[i].keep, given[i], -i))
        given[widest] -= 1
        excess -= 1
    return given


def share(want: dict[int, int], given: dict[int, int], spare: int) -> int:
    """Spare cells to the columns of `want` still short of it, max-min fair: the smallest
    needs are met whole first, the largest are cut evenly. Returns what is left."""
    short = sorted((i for i in want if given[i] < want[i]), key=lambda i: (want[i] - given[i], i))
    for position, i in enumerate(short):
        fair = spare // (len(short) - position)
        step = min(want[i] - given[i], fair + (1 if spare % (len(short) - position) else 0))
        given[i] += step
        spare -= step
    return spare


def cut_middle(text: str, width: int) -> str:
    """text in at most width cells, cut in the middle with an ellipsis: the head and the
    tail stay (a generated pod name keeps its unique suffix: the part after its last '-'
    stays whole when it takes at most half the width)."""
    if text_cells(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    room = width - 1
    suffix = text.rsplit("-", 1)[-1]
    tail_cells = max(room - room // 2, min(text_cells(suffix) + 1, room // 2 + 1))
    tail_cells = min(tail_cells, room)
    head = set_cell_size(text, room - tail_cells)
    tail = tail_of(text, tail_cells)
    return head.rstrip() + ELLIPSIS + tail if text.isascii() else head + ELLIPSIS + tail


def tail_of(text: str, cells: int) -> str:
    """The last characters of text that fit in cells."""
    if text.isascii():
        return text[len(text) - cells:] if cells else ""
    taken, used = [], 0
    for character in reversed(text):
        size = cell_len(character)
        if used + size > cells:
            break
        taken.append(character)
        used += size
    return "".join(reversed(taken))


def fit(text: str, width: int, right: bool = False, middle: bool = False) -> str:
    """text in exactly width terminal cells: made terminal-safe (every cell of every table
    passes here), cut with an ellipsis (at the end, or in the middle) or padded. Widths are
    cells, not code points: a CJK character takes two, a zero-width one none, so columns stay
    aligned and no fragment of a longer line is left behind on the screen."""
    text = terminal_safe(text)
    if text.isascii():  # the usual case: one cell per character
        if len(text) > width:
            if middle:
                text = cut_middle(text, width)
                return text.ljust(width)
            return text[: max(0, width - 1)] + ELLIPSIS if width > 0 else ""
        return text.rjust(width) if right else text.ljust(width)
    cells = cell_len(text)
    if cells > width:
        if middle:
            return set_cell_size(cut_middle(text, width), width)
        return set_cell_size(text, width - 1) + ELLIPSIS if width > 0 else ""
    padding = " " * (width - cells)
    return padding + text if right else text + padding


class ContentWidths:
    """What each column's content needs, per snapshot: a sample of each section's rows,
    cached by the rows list (the view reuses the list of a group that did not change, so
    at 150,000 pods only the changed groups are sampled again), widened by every row drawn
    since (a row the sample missed widens its column once, and stays counted)."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = tuple(columns)
        self.index = {id(column): index for index, column in enumerate(self.columns)}
        self.sampled: dict[int, tuple[Sequence[Any], int, list[int]]] = {}
        self.drawn = [0] * len(self.columns)
        self.content = [0] * len(self.columns)

    def measure_rows(self, row_lists: Iterable[Sequence[Any]]) -> None:
        known, self.sampled = self.sampled, {}
        content = list(self.drawn)
        for rows in row_lists:
            entry = known.get(id(rows))
            if entry is None or entry[0] is not rows or entry[1] != len(rows):
                entry = (rows, len(rows), measure(self.columns, sample(rows)))
            self.sampled[id(rows)] = entry
            content = [max(a, b) for a, b in zip(content, entry[2])]
        self.content = content

    def saw(self, column: Column, text: str) -> bool:
        """A drawn cell; True when it is wider than the content widths say (`widen` then
        takes it in: not while a frame is drawn, so all its lines share one layout)."""
        cells = text_cells(text)
        index = self.index[id(column)]
        if cells <= self.drawn[index]:
            return False
        self.drawn[index] = cells
        return cells > self.content[index]

    def widen(self) -> bool:
        """Take the drawn widths into the content widths; True when that changed them."""
        content = [max(a, b) for a, b in zip(self.content, self.drawn)]
        changed, self.content = content != self.content, content
        return changed


def full_cells(layout: Layout, columns: Sequence[Column], row: Any) -> list[tuple[str, str]]:
    """(title, whole text) of the row's cells not shown whole at this layout: the dropped
    columns and the cells cut to fit their column, in the columns' order."""
    shown = {id(column): width for column, width in layout.columns}
    cells = []
    for column in columns:
        width = shown.get(id(column))
        if width is None:
            cells.append((column.title, column.value(row)))
        elif column.title in layout.narrowed:
            text = column.value(row)
            if text_cells(terminal_safe(text)) > width:
                cells.append((column.title, text))
    return cells


def cells_line(columns: Sequence[tuple[Column, int]], row: Any, width: int, row_style: Style,
               style_of: Callable[[str], Style], mark: tuple[str, str] | None,
               saw: Callable[[Column, str], bool]) -> tuple[list[Segment], bool]:
    """The segments of one line of cells in the laid out columns (the column titles, with the
    sort mark, when row is None), and whether a cell was wider than the widths measured so far
    (`saw`): a VirtualTable draws every line with this."""
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
    return segments, widened
