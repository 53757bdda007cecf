"""Issue 16.5: column widths by priority, not greed (kataview.ui.widgets.column_fit), on the
demo scenario's rows and on generated ones."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kataview.model.cluster_view import build_view
from kataview.model.records import WatchState
from kataview.sources.static import classic_demo_snapshot
from kataview.ui.columns import NODE_COLUMNS, pod_columns
from kataview.ui.widgets.column_fit import (ELLIPSIS, Column, ContentWidths, allocate, cut_middle, fit,
                                            full_cells, measure, sample)

from ui_fixtures import FROZEN_NOW as NOW

VIEW = build_view(classic_demo_snapshot(NOW), WatchState(phase="live", synced=5, total=5))
POD_ROWS = [row for group in VIEW.pod_groups for row in group.rows]
POD_COLUMNS = pod_columns(lambda: NOW)


def drawn(columns, rows, width, wide=False):
    """{title: [cell text as drawn]} at width, and the layout."""
    layout = allocate(columns, measure(columns, rows), width, wide)
    cells = {column.title: [fit(column.value(row), cells, column.right, column.middle) for row in rows]
             for column, cells in layout.columns}
    return cells, layout


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=120, max_value=400))
def test_kept_pod_columns_are_never_cut_at_120_or_more(width):
    cells, layout = drawn(POD_COLUMNS, POD_ROWS, width)
    for title, value in (("RUNTIME", lambda r: POD_COLUMNS[3].value(r)), ("STATUS", lambda r: r.status),
                         ("READY", lambda r: r.ready)):
        assert title in cells, (width, [c.title for c in layout.dropped])
        assert [text.strip() for text in cells[title]] == [value(row) for row in POD_ROWS]
    assert "ContainerCreating" in [text.strip() for text in cells["STATUS"]]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=120, max_value=400))
def test_node_handler_marks_are_never_cut_at_120_or_more(width):
    cells, _ = drawn(NODE_COLUMNS, VIEW.nodes, width)
    handlers = [text.strip() for text in cells["HANDLERS (~ inferred)"]]
    assert handlers == [row.handlers for row in VIEW.nodes]
    assert any(text.endswith("~") or "~ " in text for text in handlers)  # the mark the title explains


def test_spare_width_is_not_all_given_to_name():
    _, layout = drawn(POD_COLUMNS, POD_ROWS, 218)
    widths = {column.title: cells for column, cells in layout.columns}
    longest = max(len(row.name) for row in POD_ROWS)
    assert widths["NAME"] == longest  # whole, and no wider: the rest is not NAME's
    assert not layout.cuts


def test_at_80_columns_columns_drop_by_rank_and_names_stay_apart():
    cells, layout = drawn(POD_COLUMNS, POD_ROWS, 78)
    dropped = [column.title for column in layout.dropped]
    assert dropped and dropped == sorted(dropped, key=lambda t: next(c.drop for c in POD_COLUMNS if c.title == t))
    assert {"RUNTIME", "STATUS", "NAME", "AGE"} <= set(cells)
    untrusted = [text for text, row in zip(cells["NAME"], POD_ROWS) if row.name.startswith("nginx-untrusted-")]
    assert len(untrusted) >= 2 and len(set(untrusted)) == len(untrusted)  # told apart by their suffix
    assert all(text.rstrip().endswith(row.name[-5:]) for text, row in zip(cells["NAME"], POD_ROWS)
               if ELLIPSIS in text)


def test_wide_mode_drops_nothing():
    _, layout = drawn(POD_COLUMNS, POD_ROWS, 78, wide=True)
    assert not layout.dropped and len(layout.columns) == len(POD_COLUMNS)
    assert sum(cells for _, cells in layout.columns) + len(POD_COLUMNS) - 1 <= 78


def test_full_cells_give_back_what_is_dropped_or_cut():
    _, layout = drawn(POD_COLUMNS, POD_ROWS, 78)
    row = next(row for row in POD_ROWS if row.name.startswith("nginx-untrusted-"))
    cells = dict(full_cells(layout, POD_COLUMNS, row))
    assert cells["NAME"] == row.name and cells["NAMESPACE"] == "untrusted"
    assert cells["NODE"] == "k8s-worker-untrusted"
    _, wide = drawn(POD_COLUMNS, POD_ROWS, 300)
    assert full_cells(wide, POD_COLUMNS, row) == []


def test_a_row_drawn_wider_than_the_sample_widens_its_column():
    column = Column("X", 3, lambda row: row)
    widths = ContentWidths([column])
    rows = ["ab"] * 1000 + ["a-much-longer-cell"]
    widths.measure_rows([rows[:-1]])
    assert widths.content == [2]
    assert widths.saw(column, rows[-1]) and widths.content == [2]  # not within the frame
    assert widths.widen() and widths.content == [len(rows[-1])]
    widths.measure_rows([rows[:-1]])  # the next snapshot keeps what was drawn
    assert widths.content == [len(rows[-1])]


def test_sample_is_bounded_and_spans_the_rows():
    rows = list(range(150_000))
    picked = sample(rows, 256)
    assert len(picked) == 256 and picked[0] == 0 and picked[-1] == rows[-1]


SUFFIX = st.text(alphabet="bcdfghjklmnpqrstvwxz2456789", min_size=5, max_size=5)


@settings(max_examples=200, deadline=None)
@given(prefix=st.from_regex(r"[a-z][a-z0-9-]{0,40}", fullmatch=True),
       suffixes=st.lists(SUFFIX, min_size=2, max_size=12, unique=True),
       width=st.integers(min_value=8, max_value=60))
def test_middle_cut_names_stay_unique(prefix, suffixes, width):
    names = [f"{prefix}-{suffix}" for suffix in suffixes]  # as a ReplicaSet names its pods
    cut = [cut_middle(name, width) for name in names]
    assert len(set(cut)) == len(names)
    assert all(len(text) <= width for text in cut)
    assert all(text == name for text, name in zip(cut, names) if len(name) <= width)


def test_middle_cut_keeps_head_and_tail():
    text = cut_middle("nginx-untrusted-5b7c9f8d6c-demo1", 20)
    assert len(text) <= 20 and text.startswith("nginx-") and text.endswith("-demo1") and ELLIPSIS in text


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=60, max_value=220))
def test_spare_goes_to_the_columns_that_never_drop_first(width):
    """NAME (never dropped) is whole before NODE or NAMESPACE grow past their floor."""
    _, layout = drawn(POD_COLUMNS, POD_ROWS, width)
    widths = {column.title: cells for column, cells in layout.columns}
    grown = [c.title for c, cells in layout.columns if c.drop and cells > c.width]
    if grown:
        assert "NAME" not in layout.narrowed, (width, widths)


def test_the_sorted_columns_arrow_gets_its_own_cell():
    """READY is as wide as its title: sorted by it, the arrow must not take the space before
    RST (it read `READY↑RST`)."""
    plain = dict((column.title, cells) for column, cells in
                 allocate(POD_COLUMNS, measure(POD_COLUMNS, POD_ROWS), 160).columns)
    marked = dict((column.title, cells) for column, cells in
                  allocate(POD_COLUMNS, measure(POD_COLUMNS, POD_ROWS), 160, marked="READY").columns)
    assert plain["READY"] == len("READY")
    assert marked["READY"] == len("READY↑")
