"""Every screen at 80x24 and 160x48 on a frozen clock (pytest-textual-snapshot).

Update with `pytest tests/test_ui_snapshots.py --snapshot-update`, then look at the SVGs in
tests/__snapshots__/test_ui_snapshots/.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from textual.widgets import Input

from kataview.ui.app import make_app
from kataview.ui.screens.main import MainScreen
from ui_fixtures import FROZEN_NOW, RECONNECTING, STALE, classic_pods, classic_snapshot, classic_source, frozen_settings, settled

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


def ready(*then):
    """run_before: wait for the first view, then run each step (a key string or a callable)."""

    async def run_before(pilot) -> None:
        app = pilot.app
        deadline = time.monotonic() + 10
        while app.view is None or not isinstance(app.screen, MainScreen):
            assert time.monotonic() < deadline, "no view"
            await pilot.pause(0.02)
        await pilot.pause()
        for step in then:
            if callable(step):
                result = step(app)
                if hasattr(result, "__await__"):
                    await result
            else:
                await pilot.press(step)
            await pilot.pause()
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()
        await settled(pilot)

    return run_before


def open_object(kind, key):
    return lambda app: app.open_object(kind, key)


@pytest.mark.parametrize("size", SIZES)
def test_main_live(snap_compare, size):
    assert snap_compare(make_app(frozen_settings(), classic_source()), terminal_size=size, run_before=ready())


@pytest.mark.parametrize("size", SIZES)
def test_main_stale_read_only(snap_compare, size):
    app = make_app(frozen_settings(read_only=True), classic_source(STALE))
    assert snap_compare(app, terminal_size=size, run_before=ready())


@pytest.mark.parametrize("size", SIZES)
def test_main_reconnecting(snap_compare, size):
    app = make_app(frozen_settings(), classic_source(RECONNECTING))
    assert snap_compare(app, terminal_size=size, run_before=ready())


@pytest.mark.parametrize("size", SIZES)
def test_main_filtering(snap_compare, size):
    app = make_app(frozen_settings(), classic_source())
    assert snap_compare(app, terminal_size=size, run_before=ready("slash", *"shop"))


@pytest.mark.parametrize("size", SIZES)
def test_main_nodes_pane(snap_compare, size):
    app = make_app(frozen_settings(), classic_source())
    assert snap_compare(app, terminal_size=size, run_before=ready("1", "down"))


@pytest.mark.parametrize("size", SIZES)
def test_pod_detail_kata(snap_compare, size):
    app = make_app(frozen_settings(), classic_source())
    assert snap_compare(app, terminal_size=size, run_before=ready(open_object("Pod", "uid-000005")))


@pytest.mark.parametrize("size", SIZES)
def test_pod_detail_stuck_sandbox(snap_compare, size):
    app = make_app(frozen_settings(), classic_source())
    assert snap_compare(app, terminal_size=size, run_before=ready(open_object("Pod", "uid-000008")))


@pytest.mark.parametrize("size", SIZES)
def test_pod_detail_deleted(snap_compare, size):
    source = classic_source()
    pods = dict(classic_pods())
    del pods["uid-000006"]
    gone = classic_snapshot(pods=pods, taken_at=FROZEN_NOW + timedelta(seconds=5))

    async def delete_pod(app):
        source.push(gone)
        deadline = time.monotonic() + 5
        while app.view.snapshot is not gone:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)

    app = make_app(frozen_settings(), source)
    assert snap_compare(app, terminal_size=size,
                        run_before=ready(open_object("Pod", "uid-000006"), delete_pod))


@pytest.mark.parametrize("size", SIZES)
def test_node_detail(snap_compare, size):
    app = make_app(frozen_settings(), classic_source())
    assert snap_compare(app, terminal_size=size, run_before=ready(open_object("Node", "untrusted-1")))


@pytest.mark.parametrize("size", SIZES)
def test_node_detail_inferred_handlers(snap_compare, size):
    app = make_app(frozen_settings(), classic_source())
    assert snap_compare(app, terminal_size=size, run_before=ready(open_object("Node", "crio-1")))


@pytest.mark.parametrize("size", SIZES)
def test_runtime_class_detail(snap_compare, size):
    app = make_app(frozen_settings(), classic_source())
    assert snap_compare(app, terminal_size=size, run_before=ready(open_object("RuntimeClass", "kata")))


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, size):
    app = make_app(frozen_settings(), classic_source())
    assert snap_compare(app, terminal_size=size, run_before=ready("question_mark"))


@pytest.mark.parametrize("size", SIZES)
def test_log_after_errors(snap_compare, size):
    app = make_app(frozen_settings(), classic_source(STALE))
    assert snap_compare(app, terminal_size=size, run_before=ready("L"))


@pytest.mark.parametrize("size", SIZES)
def test_namespace_picker(snap_compare, size):
    app = make_app(frozen_settings(), classic_source())
    assert snap_compare(app, terminal_size=size, run_before=ready("n"))


@pytest.mark.parametrize("size", SIZES)
def test_light_theme(snap_compare, size):
    app = make_app(frozen_settings(theme="textual-light"), classic_source())
    assert snap_compare(app, terminal_size=size, run_before=ready())
