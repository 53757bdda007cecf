"""Issue 16.8: keys people already have. `?` lists every binding active on the current screen
(read from it, so the focused pane's, a detail screen's and Textual's own show up), Esc goes
back one step and never quits, the namespace picker has type-ahead."""

from __future__ import annotations

import pytest

from kataview.sources.static import StaticSource, classic_demo_snapshot
from kataview.ui.app import make_app
from kataview.ui.screens.events import EventsScreen
from kataview.ui.screens.help import HelpScreen
from kataview.ui.screens.log import LogScreen
from kataview.ui.screens.main import MainScreen
from kataview.ui.screens.namespace import NamespacePicker
from kataview.ui.screens.node_detail import NodeDetailScreen
from kataview.ui.screens.pod_detail import PodDetailScreen
from kataview.ui.widgets.virtual_table import VirtualTable
from test_ui_command_bar import command
from test_ui_pilot import started, until
from ui_fixtures import FROZEN_NOW, frozen_settings


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


def demo_app(**settings):
    return make_app(frozen_settings(**settings), StaticSource(classic_demo_snapshot(FROZEN_NOW)))


def help_text(app) -> str:
    return str(app.screen.query_one("#help-text").render())


def first_pod_uid(app) -> str:
    return next(iter(sorted(app.view.snapshot.pods.values(), key=lambda pod: pod.name))).uid


async def open_screen(pilot, which: str):
    app = pilot.app
    if which == "pod detail":
        app.open_object("Pod", first_pod_uid(app))
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
    elif which == "node detail":
        app.open_object("Node", "k8s-worker-kata")
        await until(pilot, lambda: isinstance(app.screen, NodeDetailScreen))
    elif which == "events":
        await command(pilot, "events")
        await until(pilot, lambda: isinstance(app.screen, EventsScreen))
    elif which == "log":
        await command(pilot, "log")
        await until(pilot, lambda: isinstance(app.screen, LogScreen))
    elif which == "nodes pane":
        await pilot.press("1")
    await pilot.pause(0.1)
    return app.screen


@pytest.mark.parametrize("which", ["pods pane", "nodes pane", "pod detail", "node detail", "events", "log"])
async def test_help_lists_every_binding_active_on_the_current_screen(which):
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        screen = await open_screen(pilot, which)
        active = screen.active_bindings
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = help_text(app)
        lines = text.splitlines()
        for key, binding in active.items():
            shown = app.get_key_display(binding.binding)
            description = binding.binding.description or binding.binding.action
            assert any(shown in line and description in line for line in lines), (key, description)
            if binding.binding.id:
                assert binding.binding.id in text
        if which.endswith("pane"):
            assert f"This list ({which.split()[0]})" in text and "This screen" in text
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)


async def test_help_follows_the_keymap_and_lists_the_commands():
    app = demo_app(keymap={"filter": "f", "command-bar": "ctrl+o"})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = help_text(app).splitlines()
        assert any(line.split()[:2] == ["f", "Filter"] for line in lines if line.strip())
        assert any("^o" in line and "command-bar" in line for line in lines)
        assert any(":ctx :context NAME" in line for line in lines)


async def test_escape_goes_back_one_step_and_never_quits():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        main = app.screen
        pods = main.query_one("#pods", VirtualTable)
        total = pods.row_count
        await pilot.press("escape", "escape")  # nothing to go back from: nothing happens
        assert app.is_running and app.screen is main and pods.row_count == total
        await pilot.press("slash", *"kata", "enter")
        assert pods.row_count < total
        await pilot.press("escape")  # a kept filter: cleared
        assert pods.row_count == total and app.screen is main
        app.open_object("Pod", first_pod_uid(app))
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        app.open_object("Node", "k8s-worker-kata")
        await until(pilot, lambda: isinstance(app.screen, NodeDetailScreen))
        await pilot.press("escape")  # node detail -> the pod detail it was opened from
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main)
        await pilot.press("colon", *"nod", "escape")  # the command bar: closed, nothing run
        assert app.screen is main and app.focused is pods and not main.query_one("#command-input").display
        await pilot.press("escape")
        assert app.is_running and app.screen is main


async def test_namespace_picker_type_ahead():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NamespacePicker))
        picker = app.screen.picker
        every = picker.option_count
        await pilot.press(*"leg")
        assert [option.id for option in picker.options] == ["legacy"] and "leg" in picker.border_title
        await pilot.press("backspace", "backspace", "backspace", *"s")
        assert {option.id for option in picker.options} == {"kube-system", "sandboxed", "untrusted"}
        await pilot.press("escape")  # clears what was typed, the picker stays
        assert isinstance(app.screen, NamespacePicker) and picker.option_count == every
        await pilot.press(*"untr", "enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.namespace == "untrusted"
        await pilot.press("n", "q")  # q is a letter here, not quit
        assert app.is_running and app.screen.picker.option_count == 0  # no namespace has a q
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.namespace == "untrusted"


async def test_escape_from_an_object_opened_on_a_finding_returns_to_the_finding():
    """Enter on a finding's object pushes one screen (a handler in the detail base class
    opened it a second time), so one Esc is one step back."""
    from kataview.ui.screens.finding_detail import FindingDetailScreen

    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("3", "home", "enter")
        await until(pilot, lambda: isinstance(app.screen, FindingDetailScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        assert [type(screen) for screen in app.screen_stack].count(PodDetailScreen) == 1
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, FindingDetailScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
