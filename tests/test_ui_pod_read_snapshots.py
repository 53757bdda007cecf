"""The YAML, describe and logs screens at 80x24, 160x48 and 220x60 on the demo scenario, with a
frozen clock (pytest-textual-snapshot; update with --snapshot-update and look at the SVGs)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from ui_fixtures import settled
from textual.widgets import Input

from kataview.demo.pod_reads import ObjectsPodReader
from kataview.demo.scenario import classic_objects
from kataview.sources.base import SourceInfo
from kataview.sources.settings import Settings
from kataview.sources.static import StaticSource, snapshot_from_objects
from kataview.ui.app import make_app
from kataview.ui.screens.main import MainScreen
from kataview.ui.widgets.text_pager import TextPager
from kataview.ui.widgets.virtual_table import VirtualTable

NOW = datetime(2025, 3, 14, 12, 30, tzinfo=timezone.utc)
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48"),
         pytest.param((220, 60), id="220x60")]


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


def demo_app():
    objects = classic_objects(NOW)
    # a followed log that stays quiet: the frame does not depend on timing
    reader = ObjectsPodReader(objects, follow_interval=3600, now=NOW)
    source = StaticSource(snapshot_from_objects(objects, NOW),
                          info=SourceInfo("kind-kataview-demo", "https://127.0.0.1:6443"), reader=reader)
    return make_app(Settings(frozen_now=NOW, theme=None), source)


def restarted_uid(app) -> str:
    for pod in app.view.snapshot.pods.values():
        if pod.name.startswith("nginx-kata-qemu") and pod.restarts:
            return pod.uid
    raise AssertionError("no restarted pod in the demo scenario")


def read_whole(screen) -> bool:
    """The screen shows what it read (a log: read to its end)."""
    pagers = screen.query(TextPager)
    return bool(pagers and pagers.first().lines) and (not hasattr(screen, "ended") or bool(screen.ended))


def on_restarted_pod(*keys):
    async def run_before(pilot) -> None:
        app = pilot.app
        deadline = time.monotonic() + 10
        while app.view is None or not isinstance(app.screen, MainScreen):
            assert time.monotonic() < deadline, "no view"
            await pilot.pause(0.02)
        app.screen.query_one("#pods", VirtualTable).move_cursor_to(restarted_uid(app))
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        while not read_whole(app.screen):
            assert time.monotonic() < deadline, "nothing read"
            await pilot.pause(0.02)
        await pilot.pause(0.1)
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()
        await settled(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_pod_yaml(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size, run_before=on_restarted_pod("y", "slash", *"kata", "enter"))


@pytest.mark.parametrize("size", SIZES)
def test_pod_describe(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size, run_before=on_restarted_pod("d"))


@pytest.mark.parametrize("size", SIZES)
def test_pod_logs(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size, run_before=on_restarted_pod("l", "p"))
