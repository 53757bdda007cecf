"""Issue 16.5 in the app: at 80x24 the pods pane drops columns, `w` shows them, and the line
under the panes gives the focused row's dropped and cut cells in full."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from kataview.sources.static import StaticSource, classic_demo_snapshot
from kataview.ui.app import make_app
from kataview.ui.widgets.virtual_table import VirtualTable
from test_ui_pilot import started
from ui_fixtures import FROZEN_NOW, frozen_settings


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


def demo_app():
    return make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW)))


def titles(table: VirtualTable) -> list[str]:
    return [column.title for column, _ in table.layout_at().columns]


def line_text(app) -> str:
    line = app.screen.query_one("#full-cells", Static)
    return str(line.render())


async def test_w_shows_the_dropped_columns_at_80x24():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.pause()
        table = app.screen.query_one("#pods", VirtualTable)
        shown = titles(table)
        assert "NAMESPACE" not in shown and "NODE" not in shown
        assert {"NAME", "RUNTIME", "STATUS"} <= set(shown)
        await pilot.press("w")
        await pilot.pause()
        assert titles(table) == [column.title for column in table.columns]
        assert "w: fewer columns" in line_text(app)
        await pilot.press("w")
        await pilot.pause()
        assert titles(table) == shown
        binding = next(b for b in app.screen._bindings.key_to_bindings["w"])
        assert binding.id == "wide-columns"


async def test_the_line_under_the_panes_has_the_cursor_rows_cut_cells():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        table = app.screen.query_one("#pods", VirtualTable)
        assert table.move_cursor_to(next(row.key for row in app.view.pod_rows.values()
                                         if row.name.startswith("nginx-untrusted-")))
        await pilot.pause()
        row = table.cursor_row
        text = line_text(app)
        assert f"NAMESPACE {row.namespace}" in text and f"NODE {row.node}" in text
        assert "w: all columns" in text
        name_width = dict((column.title, cells) for column, cells in table.layout_at().columns)["NAME"]
        assert len(row.name) > name_width and f"NAME {row.name}" in text  # cut in the pane, whole here


async def test_no_line_when_every_cell_is_whole():
    app = demo_app()
    async with app.run_test(size=(220, 60)) as pilot:
        await started(pilot)
        await pilot.pause()
        assert line_text(app) == ""
        assert not app.screen.query_one("#pods", VirtualTable).layout_at().cuts
