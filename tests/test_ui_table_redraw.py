"""What a key draws: a cursor move repaints the two lines that changed, a scroll by one line
draws one new row (the others are reused while their row, layout and second are the same),
and the line under the panes costs no layout pass per key (issue 16: key-to-frame at 150k)."""

from __future__ import annotations

import dataclasses

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from kataview.sources.static import StaticSource, classic_demo_snapshot
from kataview.ui.app import make_app
from kataview.ui.screens import main as main_screen
from kataview.ui.widgets.virtual_table import Column, VirtualTable
from test_ui_pilot import started
from ui_fixtures import FROZEN_NOW, frozen_settings


@dataclasses.dataclass(frozen=True)
class Row:
    key: str
    name: str
    namespace: str = "default"

    @property
    def haystack(self) -> str:
        return self.name


class CountingTable(VirtualTable):
    CLOCK_TICK_S = 3600  # the once-a-second redraw (AGE) would make what a key draws depend on timing

    def __init__(self, drawn: list) -> None:
        self.drawn = drawn
        super().__init__([Column("NAME", 20, self.name_of, flex=True)], id="rows")

    def name_of(self, row: Row) -> str:
        self.drawn.append(row.key)
        return row.name

    def render_line(self, y: int):
        self.drawn.append(("line", y))
        return super().render_line(y)


class TableApp(App):
    def __init__(self, rows: list[Row]) -> None:
        super().__init__()
        self.rows, self.drawn = rows, []

    def compose(self) -> ComposeResult:
        yield CountingTable(self.drawn)

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        table.set_rows(self.rows)
        table.focus()


ROWS = [Row(f"uid-{index:03}", f"pod-{index:03}") for index in range(100)]


def values(drawn: list) -> list[str]:
    return [item for item in drawn if isinstance(item, str)]


def lines(drawn: list) -> list[int]:
    return [item[1] for item in drawn if isinstance(item, tuple)]


@pytest.mark.asyncio
async def test_a_cursor_move_on_screen_repaints_only_the_old_and_new_cursor_lines():
    app = TableApp(ROWS)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        app.drawn.clear()
        await pilot.press("down")
        await pilot.pause()
        assert sorted(set(lines(app.drawn))) == [1, 2]  # line 0 is the column titles
        assert app.query_one(VirtualTable).cursor_row.key == "uid-001"


@pytest.mark.asyncio
async def test_a_scroll_by_one_line_draws_only_the_rows_that_changed_look():
    app = TableApp(ROWS)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        await pilot.press("end")  # from here each `up` at the top scrolls the view by one
        for _ in range(table.size.height):
            await pilot.press("up")
        await pilot.pause()
        top = round(table.scroll_y)
        app.drawn.clear()
        await pilot.press("up")
        await pilot.pause()
        assert round(table.scroll_y) == top - 1
        drawn = set(values(app.drawn))
        # the row scrolled into view (the new cursor row) and the old cursor row, not the pane
        assert drawn == {ROWS[top - 1].key, ROWS[top].key}, drawn
        assert len(set(lines(app.drawn))) >= table.size.height - 1  # yet every line was painted


@pytest.mark.asyncio
async def test_a_changed_row_with_the_same_key_is_drawn_anew():
    app = TableApp(ROWS)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        changed = [dataclasses.replace(row, name="renamed") if row.key == "uid-003" else row for row in ROWS]
        table.set_rows(changed)
        await pilot.pause()
        assert "renamed" in table.render_line(4).text
        assert "pod-004" in table.render_line(5).text


@pytest.mark.asyncio
async def test_the_line_under_the_panes_needs_no_layout_pass_per_key(ui_home):
    app = make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW)))
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.pause()
        line = app.screen.query_one("#full-cells", Static)
        assert str(line.render())  # at 80 columns some cells are cut: the line is in use
        layouts = []
        refresh = line.refresh

        def counting_refresh(*regions, **options):
            layouts.append(options.get("layout", False))
            return refresh(*regions, **options)

        line.refresh = counting_refresh
        for _ in range(4):
            await pilot.press("down")
        await pilot.pause()
        assert layouts and not any(layouts)  # redrawn per row, never laid out again


def recorded_filter_frames(app) -> list[tuple[str, str]]:
    """(field text, table filter) of every frame from now on, taken where Textual hands a
    frame to the driver (headless, nothing is written)."""
    field = app.screen.query_one("#filter-input")
    table = app.screen.query_one("#pods", VirtualTable)
    frames = []
    display = app._display

    def recording_display(screen, renderable):
        if renderable is not None:
            frames.append((field.value, table.row_filter.text))
        return display(screen, renderable)

    app._display = recording_display
    return frames


@pytest.mark.parametrize("rows_in_frame, first_frame_filter", [(0, ""), (20_000, "k")])
async def test_a_long_filtering_waits_until_the_keystroke_is_echoed(ui_home, monkeypatch,
                                                                    rows_in_frame, first_frame_filter):
    """At 150,000 pods filtering takes tens of ms: the frame that shows the typed character
    must not wait for it (k9s echoes at once). A filter over few rows (here 15) is applied in
    that same frame; with the limit at 0 rows, every filter counts as long."""
    monkeypatch.setattr(main_screen, "FILTER_ROWS_IN_FRAME", rows_in_frame)
    app = make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW)))
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.pause()
        frames = recorded_filter_frames(app)
        await pilot.press("slash", "k")
        await pilot.pause()
        echoed = [filtered for value, filtered in frames if value == "k"]
        assert echoed and echoed[0] == first_frame_filter
        assert echoed[-1] == "k" and app.screen.query_one("#pods", VirtualTable).row_filter.text == "k"


async def test_filter_work_counts_the_rows_a_filter_would_look_at():
    app = TableApp(ROWS)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(VirtualTable)
        assert table.filter_work("pod-0") == 100
        table.set_filter("pod-0")  # pod-000 .. pod-099
        table.set_filter("pod-05")
        assert table.row_count == 10
        assert table.filter_work("pod-050") == 10  # typing on narrows the last matches
        assert table.filter_work("pod-1") == 100  # a different text looks at every row again
        assert table.filter_work("!pod-050") == 100
