"""The guided setup's pages at 80x24 and 160x48 on a frozen clock (pytest-textual-snapshot).

The backend is a deterministic stand-in (files in memory, canned preflight and CRI status, a
cluster that answers GETs): the real-parts runs are tests/test_setup_guided_ssh.py and
tests/test_ui_setup_pilot.py. Update with
`pytest tests/test_ui_setup_snapshots.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

import time

import pytest
from ui_fixtures import classic_source, frozen_settings, settled

from kataview.setup.demo_session import NODES, DemoSetupSession
from kataview.ui.app import make_app
from kataview.ui.screens.setup import SetupScreen
from kataview.ui.screens.setup_steps import FinishScreen, PreflightScreen, StepScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


async def wait_for(pilot, predicate, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"screen not reached: {pilot.app.screen!r}"
        await pilot.pause(0.02)
    await pilot.pause()


def walk(*then, read_only: bool = False):
    """run_before: open the setup screen with the stand-in, then run each step."""
    async def run_before(pilot) -> None:
        app = pilot.app
        await app.push_screen(SetupScreen(DemoSetupSession(read_only), NODES))
        for step in then:
            await step(pilot)
        await pilot.pause()
        await settled(pilot)
    return run_before


def press(*keys, until):
    async def step(pilot):
        for key in keys:
            await pilot.press(key)
        await wait_for(pilot, lambda: until(pilot.app.screen))
    return step


def at_step(index):
    return lambda screen: isinstance(screen, StepScreen) and screen.index == index


node_picked = press("enter", until=lambda s: isinstance(s, PreflightScreen))
preflight_done = press("enter", until=at_step(0))


def app():
    return make_app(frozen_settings(), classic_source())


@pytest.mark.parametrize("size", SIZES)
def test_setup_pick_node(snap_compare, size):
    assert snap_compare(app(), terminal_size=size, run_before=walk(press(until=lambda s: s.query("#setup-nodes"))))


@pytest.mark.parametrize("size", SIZES)
def test_setup_preflight(snap_compare, size):
    assert snap_compare(app(), terminal_size=size, run_before=walk(node_picked))


@pytest.mark.parametrize("size", SIZES)
def test_setup_patch_diff(snap_compare, size):
    assert snap_compare(app(), terminal_size=size, run_before=walk(node_picked, preflight_done))


@pytest.mark.parametrize("size", SIZES)
def test_setup_restart_after_apply(snap_compare, size):
    assert snap_compare(app(), terminal_size=size,
                        run_before=walk(node_picked, preflight_done, press("a", until=at_step(1))))


@pytest.mark.parametrize("size", SIZES)
def test_setup_runtime_class_yaml(snap_compare, size):
    steps = [press("s", until=at_step(n)) for n in (1, 2, 3)]
    assert snap_compare(app(), terminal_size=size, run_before=walk(node_picked, preflight_done, *steps))


@pytest.mark.parametrize("size", SIZES)
def test_setup_read_only(snap_compare, size):
    assert snap_compare(app(), terminal_size=size,
                        run_before=walk(node_picked, preflight_done, read_only=True))


@pytest.mark.parametrize("size", SIZES)
def test_setup_finish(snap_compare, size):
    finish = press("a", until=at_step(1))
    done = press("escape", until=lambda s: isinstance(s, FinishScreen))
    assert snap_compare(app(), terminal_size=size, run_before=walk(node_picked, preflight_done, finish, done))
