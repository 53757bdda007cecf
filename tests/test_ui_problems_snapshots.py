"""The problems view at 80x24, 160x48 and 220x60, a finding's detail and a sorted pods pane, on
the demo scenario with a frozen clock (pytest-textual-snapshot; update with --snapshot-update
and look at tests/__snapshots__/test_ui_problems_snapshots/)."""

from __future__ import annotations


import pytest

from kataview.sources.static import StaticSource, classic_demo_snapshot
from kataview.ui.app import make_app
from test_ui_snapshots import ready
from ui_fixtures import FROZEN_NOW, LIVE, frozen_settings

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48"),
         pytest.param((220, 60), id="220x60")]


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


def demo_app():
    return make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW), LIVE))


def open_first_finding(code):
    def step(app):
        app.screen.open_finding(next(row for row in app.view.findings if row.code == code))
    return step


@pytest.mark.parametrize("size", SIZES)
def test_problems(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size, run_before=ready("ctrl+z"))


@pytest.mark.parametrize("size", SIZES)
def test_finding_detail(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size, run_before=ready(open_first_finding("KV006")))


def test_pods_sorted_by_restarts(snap_compare):
    assert snap_compare(demo_app(), terminal_size=(160, 48), run_before=ready("T"))
