"""Sorting the lists as k9s does: shift+letter sorts by a column, the same key again reverses.

Pure Python (no textual): the screens keep a SortOrder per pane and a SortedRows cache, the
tables only draw what they are handed and the column mark. Rows carry their sort values
precomputed (PodRow.created_order, .restarts, ...), so a sort is one C-speed pass with an
attribute getter; a sorted run of pods is kept across views and, when the view says which
rows a group lost and gained (PodGroup.changes), updated by bisection instead of sorted again.

The letters follow k9s: N name, A age, S status (k9s's Shift-S; severity on the findings, as
its image scan view), and from k9s's pod view R ready, T restarts, O node; on the node view
R roles and O pods. The rest are kataview's: H handler(s), W the warning mark, M the overhead
memory (k9s's Shift-M is memory), C a finding's code.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass
from functools import total_ordering
from operator import attrgetter
from typing import Any, Callable, Sequence

INCREMENTAL_LIMIT = 2000  # more rows changed than this: sort again (each insertion moves memory)


@dataclass(frozen=True)
class SortKey:
    letter: str  # the key, as Textual names it: "N" is shift+n
    title: str  # the column it sorts (and marks with an arrow)
    attribute: str  # the row's precomputed value
    descending_first: bool = False  # restarts and counts: the most first
    inverted: bool = False  # the value runs against the column (creation time for AGE)


PANE_SORT_KEYS: dict[str, tuple[SortKey, ...]] = {
    "pods": (
        SortKey("N", "NAME", "name"),
        SortKey("A", "AGE", "created_order", inverted=True),
        SortKey("S", "STATUS", "status"),
        SortKey("R", "READY", "ready_order"),
        SortKey("T", "RST", "restarts", descending_first=True),
        SortKey("O", "NODE", "node"),
    ),
    "nodes": (
        SortKey("N", "NAME", "name"),
        SortKey("S", "STATUS", "ready"),
        SortKey("R", "ROLES", "roles"),
        SortKey("H", "HANDLERS (~ inferred)", "handlers"),
        SortKey("O", "PODS PER RUNTIME", "pod_count", descending_first=True),
        SortKey("W", "!", "warning", descending_first=True),
    ),
    "runtime-classes": (
        SortKey("N", "NAME", "name"),
        SortKey("H", "HANDLER", "handler"),
        SortKey("M", "OVERHEAD", "overhead_bytes", descending_first=True),
        SortKey("O", "PODS", "pods", descending_first=True),
        SortKey("W", "!", "warning", descending_first=True),
    ),
    "findings": (
        SortKey("S", "SEV", "severity_rank"),
        SortKey("C", "CODE", "code"),
        SortKey("N", "OBJECT", "target"),
    ),
}


SHORT_NAMES = {"PODS PER RUNTIME": "PODS", "!": "WARNING", "RST": "RESTARTS", "HANDLERS": "HANDLER",
               "SEV": "SEVERITY"}


def sort_letters() -> dict[str, str]:
    """Every sort letter -> what it sorts, on whichever pane (for the bindings' descriptions)."""
    found: dict[str, list[str]] = {}
    for keys in PANE_SORT_KEYS.values():
        for key in keys:
            titles = found.setdefault(key.letter, [])
            title = key.title.split(" (")[0]
            title = SHORT_NAMES.get(title, title)
            if title not in titles:
                titles.append(title)
    return {letter: "/".join(titles) for letter, titles in found.items()}


@dataclass(frozen=True)
class SortOrder:
    key: SortKey
    descending: bool  # as the column reads: AGE descending is the oldest first

    @property
    def arrow(self) -> str:
        return "↓" if self.descending else "↑"

    def describe(self) -> str:
        return f"sorted by {self.key.title.split(' (')[0]} {self.arrow}"


def next_order(current: SortOrder | None, key: SortKey) -> SortOrder:
    """The same key again reverses; another key starts in its own first direction."""
    if current is not None and current.key == key:
        return SortOrder(key, not current.descending)
    return SortOrder(key, key.descending_first)


@total_ordering
class Reversed:
    """A value that compares the other way (a bisection key for a descending run)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reversed) and self.value == other.value

    def __lt__(self, other: Reversed) -> bool:
        return other.value < self.value


def run_key(order: SortOrder, tiebreak: str | None) -> Callable[[Any], Any]:
    """The key a sorted run is ascending in: the value (reversed for a descending run), then
    the rows' default order (pods: namespace, name, uid) for ties."""
    value = attrgetter(order.key.attribute)
    reverse = order.descending != order.key.inverted
    if tiebreak is None:
        return (lambda row: Reversed(value(row))) if reverse else value
    tie = attrgetter(tiebreak)
    if reverse:
        return lambda row: (Reversed(value(row)), tie(row))
    return lambda row: (value(row), tie(row))


def sort_rows(rows: Sequence[Any], order: SortOrder) -> list:
    """rows (in their default order) sorted by order; ties keep the default order (stable)."""
    return sorted(rows, key=attrgetter(order.key.attribute), reverse=order.descending != order.key.inverted)


class SortedRows:
    """The sorted copies of one pane's runs of rows (one per section), kept across views: an
    unchanged run is not sorted again, a run the view changed by a few rows is updated."""

    def __init__(self, tiebreak: str | None = None) -> None:
        self.tiebreak = tiebreak  # the attribute the default order is by, for bisection
        self._runs: dict[Any, tuple[Sequence, SortOrder, list]] = {}
        self.full_sorts = 0  # how many runs were sorted from scratch (tests, bench)

    def rows(self, run: Any, rows: Sequence[Any], order: SortOrder | None,
             changes: tuple[Sequence, list, list] | None = None) -> Sequence[Any]:
        """rows sorted by order (rows themselves when order is None). changes: (the rows these
        were made from, rows removed, rows added), to update the sorted copy of those."""
        if order is None:
            self._runs.pop(run, None)
            return rows
        known = self._runs.get(run)
        if known is not None and known[1] == order:
            if known[0] is rows:
                return known[2]
            if changes is not None and changes[0] is known[0] and self.tiebreak is not None \
                    and len(changes[1]) + len(changes[2]) <= INCREMENTAL_LIMIT:
                done = self._update(known[2], order, changes[1], changes[2])
                self._runs[run] = (rows, order, done)
                return done
        done = sort_rows(rows, order)
        self.full_sorts += 1
        self._runs[run] = (rows, order, done)
        return done

    def _update(self, sorted_rows: list, order: SortOrder, removed: list, added: list) -> list:
        key = run_key(order, self.tiebreak)
        done = list(sorted_rows)
        for row in removed:
            index = bisect_left(done, key(row), key=key)  # sort values are unique with the tiebreak
            if index < len(done) and done[index] is row:
                del done[index]
            elif row in done:
                done.remove(row)
        for row in added:
            insort(done, row, key=key)
        return done

    def keep_only(self, runs: set) -> None:
        """Forget the runs no longer shown (a runtime group that emptied)."""
        for run in [run for run in self._runs if run not in runs]:
            del self._runs[run]
