"""The lines a VirtualTable shows: its sections' rows that pass the filter, each titled
section led by a header line. Pure data (no Textual): the table keeps the cursor and draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from kataview.ui.filtering import HaystackIndex, RowFilter, filter_indexed, filter_rows


@dataclass
class Section:
    """A run of rows; with a title, a header line precedes the (filtered) rows."""

    key: str | None
    rows: Sequence[Any]
    title: str | None = None
    style: str | None = None
    noun: str = "pods"
    detail: str = ""
    tags: frozenset[str] = frozenset()  # lowercase words naming the whole section (runtime, handler, family)
    _indexes: dict = field(default_factory=dict, repr=False)  # namespace -> HaystackIndex (regex)

    def matching(self, row_filter: RowFilter, namespace: str | None, within: list | None = None,
                 by_tag: bool = False) -> list:
        """The rows that pass; `within` (earlier, looser matches) narrows the search; by_tag:
        the filter names sections, this one passes whole or not at all."""
        if by_tag:
            if (row_filter.text in self.tags) == row_filter.negate:
                return []
            return filter_rows(self.rows, RowFilter(), namespace)
        if within is not None:
            return filter_rows(within, row_filter)
        if row_filter.pattern is None:  # substring: one tight pass beats building an index
            return filter_rows(self.rows, row_filter, namespace)
        index = self._indexes.get(namespace)
        if index is None:
            rows = self.rows if namespace is None else filter_rows(self.rows, RowFilter(), namespace)
            index = self._indexes[namespace] = HaystackIndex(rows)
        return filter_indexed(index, row_filter)


@dataclass
class SectionHeader:
    key: str
    text: str
    style: str | None
    namespace: str = field(default="")


def section_lines(sections: Sequence[Section], row_filter: RowFilter, namespace: str | None,
                  earlier: list[list] | None, by_tag: bool) -> tuple[list[Any], int, list[list]]:
    """(the lines in display order, the rows among them, each section's matches); `earlier`
    (each section's matches for a looser filter) narrows the search as the filter grows."""
    lines: list[Any] = []
    count = 0
    matches = []
    for section, within in zip(sections, earlier if earlier is not None else [None] * len(sections)):
        matched = section.matching(row_filter, namespace, within, by_tag)
        matches.append(matched)
        count += len(matched)
        if section.title is not None and section.key is not None:
            if not matched:
                continue
            total = len(section.rows)
            shown = f"{len(matched):,}" if len(matched) == total else f"{len(matched):,} of {total:,}"
            noun = section.noun if total != 1 else section.noun.rstrip("s")
            detail = f"  · {section.detail}" if section.detail else ""
            lines.append(SectionHeader(section.key, f"▍{section.title}  {shown} {noun}{detail}", section.style))
        lines.extend(matched)
    return lines, count, matches
