"""Tables for the report's text form that fit a width without breaking words.

rich folds a cell that is narrower than its longest word (`k8s-con / trol-pl / ane` at 80
columns), and shrinks the widest columns first whatever they hold. Here the widths are
chosen first: a line may break after a space or after one of `- / , : =` (the separators of
names, labels, taints and lists), never inside a word; the first column (the names) never
breaks. A table that fits as it is goes to rich untouched (byte for byte what rich prints).
One that does not fit even at those minimum widths is split into several tables, each
repeating the first column ("Nodes", "Nodes (continued)"); only a single piece wider than the
whole width is folded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.table import Table

_PIECE = re.compile(r"[^\s/,:=\-]+[/,:=\-]*|[/,:=\-]+")


@dataclass
class TextTable:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    row_styles: list[str] | None = None  # one per row when the rows have styles
    right: frozenset[int] = frozenset()  # columns justified right


def pieces(word: str) -> list[str]:
    """A word cut after each run of separators: `containerd://2.0.1` -> `containerd://`, `2.0.1`."""
    return _PIECE.findall(word) or [word]


def min_width(text: str, breakable: bool = True) -> int:
    if not breakable:
        return max_width(text)
    return max((cell_len(piece) for word in text.split() for piece in pieces(word)), default=0)


def max_width(text: str) -> int:
    return max((cell_len(line) for line in text.split("\n")), default=0)


def wrap(text: str, width: int) -> str:
    """Greedy line filling at the break points; a piece wider than `width` is folded."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        lines = [""]
        for word in paragraph.split():
            gap = " " if lines[-1] else ""
            if cell_len(lines[-1] + gap + word) <= width:
                lines[-1] += gap + word
                continue
            if cell_len(word) <= width:
                lines.append(word)
                continue
            for index, piece in enumerate(pieces(word)):
                gap = " " if lines[-1] and index == 0 else ""
                if cell_len(lines[-1] + gap + piece) > width and lines[-1]:
                    lines.append("")
                    gap = ""
                while cell_len(piece) > width:  # last resort: nothing else fits
                    cut = fold_at(piece, width)
                    lines[-1:] = [piece[:cut], ""]
                    piece = piece[cut:]
                lines[-1] += gap + piece
        out.extend(line for line in lines if line or len(lines) == 1)
    return "\n".join(out)


def fold_at(text: str, width: int) -> int:
    """How many characters of `text` fill `width` cells (at least one)."""
    used = 0
    for index, char in enumerate(text):
        used += cell_len(char)
        if used > width:
            return max(1, index)
    return len(text)


def chrome(columns: int) -> int:
    """Borders and padding of rich's default box: a bar left of each column and one at the
    end, one space of padding either side of each cell."""
    return 3 * columns + 1


def column_ranges(table: TextTable) -> tuple[list[int], list[int]]:
    """Each column's (minimum, natural) width; the first column's cells (names) never break."""
    mins, maxs = [], []
    for index, header in enumerate(table.headers):
        cells = [row[index] for row in table.rows]
        mins.append(max([min_width(header), *(min_width(text, breakable=index > 0) for text in cells)]))
        maxs.append(max([max_width(header), *(max_width(text) for text in cells)]))
    return mins, maxs


def share(mins: list[int], maxs: list[int], room: int) -> list[int]:
    """Widths within [min, max] summing to at most `room`: the widest columns give way first
    (a common cap), none below its minimum; spare columns are handed out from the left."""
    if sum(maxs) <= room:
        return list(maxs)
    if sum(mins) > room:  # narrower than the words: the widest give way, cells get folded
        widths = list(mins)
        while sum(widths) > room and max(widths) > 1:
            widths[widths.index(max(widths))] -= 1
        return widths
    low, high = 0, max(maxs)
    while low < high:  # the largest cap that fits
        cap = (low + high + 1) // 2
        if sum(min(hi, max(lo, cap)) for lo, hi in zip(mins, maxs)) <= room:
            low = cap
        else:
            high = cap - 1
    widths = [min(hi, max(lo, low)) for lo, hi in zip(mins, maxs)]
    spare = room - sum(widths)
    for index, (width, hi) in enumerate(zip(widths, maxs)):
        if spare > 0 and width < hi:
            widths[index] += 1
            spare -= 1
    return widths


def column_groups(mins: list[int], width: int) -> list[list[int]]:
    """Columns packed left to right into tables that fit at their minimum widths, each
    starting with column 0."""
    groups = [[0]]
    for index in range(1, len(mins)):
        trial = groups[-1] + [index]
        if len(groups[-1]) > 1 and sum(mins[i] for i in trial) + chrome(len(trial)) > width:
            groups.append([0, index])
        else:
            groups[-1] = trial
    return groups


def rich_table(table: TextTable, title: str, columns: list[int] | None = None,
               widths: list[int] | None = None) -> Table:
    columns = list(range(len(table.headers))) if columns is None else columns
    out = Table(title=title, title_justify="left")
    for place, index in enumerate(columns):
        header = table.headers[index] if widths is None else wrap(table.headers[index], widths[place])
        out.add_column(header, overflow="fold", width=None if widths is None else widths[place],
                       justify="right" if index in table.right else "left")
    for number, row in enumerate(table.rows):
        cells = [row[index] if widths is None else wrap(row[index], widths[place])
                 for place, index in enumerate(columns)]
        out.add_row(*cells, style=None if table.row_styles is None else table.row_styles[number])
    return out


def fitted(table: TextTable, width: int) -> list[Table]:
    """The rich tables that show `table` within `width` columns."""
    mins, maxs = column_ranges(table)
    if sum(maxs) + chrome(len(maxs)) <= width:
        return [rich_table(table, table.title)]
    tables = []
    for number, group in enumerate(column_groups(mins, width)):
        room = width - chrome(len(group))
        widths = share([mins[i] for i in group], [maxs[i] for i in group], room)
        tables.append(rich_table(table, table.title if number == 0 else f"{table.title} (continued)",
                                 group, widths))
    return tables
