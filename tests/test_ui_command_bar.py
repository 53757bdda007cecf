"""Issue 16.2: the `:` command bar (k9s): opens at the bottom, Tab and → complete, Enter runs,
Esc closes, up/down walk the history; every command of kataview.ui.command_table on the demo
scenario, and `:ctx` switching a live source between two API servers without a restart."""

from __future__ import annotations

import time

import pytest
import yaml

from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.sources.live import LiveSource
from kataview.sources.settings import Settings
from kataview.sources.static import StaticSource, classic_demo_snapshot
from kataview.ui.app import make_app
from kataview.ui.screens.events import EventsScreen
from kataview.ui.screens.log import LogScreen
from kataview.ui.screens.main import MainScreen
from kataview.ui.screens.namespace import NamespacePicker
from kataview.ui.screens.pod_detail import PodDetailScreen
from kataview.ui.widgets.command_bar import CommandBar
from kataview.ui.widgets.virtual_table import VirtualTable
from test_ui_pilot import started, until
from ui_fixtures import FROZEN_NOW, frozen_settings


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


def demo_app():
    return make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW)))


def bar(app) -> CommandBar:
    return app.screen.query_one(CommandBar)


def error_line(app) -> str:
    line = app.screen.query_one("#command-error")
    return str(line.render()) if line.has_class("-shown") else ""


async def command(pilot, text: str) -> None:
    await pilot.press("colon", *text)
    await pilot.pause(0.05)
    await pilot.press("enter")
    await pilot.pause(0.05)


async def test_colon_opens_the_bar_and_esc_closes_it_without_running_anything():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        assert not bar(app).display
        await pilot.press("colon", *"nodes")
        assert bar(app).display and bar(app).has_focus and bar(app).value == "nodes"
        await pilot.press("escape")
        assert not bar(app).display and app.screen.active_pane == "pods" and app.is_running
        assert isinstance(app.focused, VirtualTable) and app.focused.id == "pods"


@pytest.mark.parametrize("line,pane", [("pods", "pods"), ("po", "pods"), ("nodes", "nodes"), ("no", "nodes"),
                                       ("rc", "runtime-classes"), ("findings", "findings")])
async def test_pane_commands_focus_their_pane(line, pane):
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("2" if pane != "runtime-classes" else "1")  # start somewhere else
        await command(pilot, line)
        assert app.focused.id == pane and not bar(app).display and error_line(app) == ""


async def test_tab_and_right_complete_names_and_arguments():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("colon", "f")
        await pilot.pause(0.1)
        await pilot.press("tab")
        assert bar(app).value == "findings"
        await pilot.press("ctrl+u", *"ns unt")
        await pilot.pause(0.1)
        await pilot.press("right")
        assert bar(app).value == "ns untrusted"
        await pilot.press("enter")
        assert app.namespace == "untrusted"


async def test_tab_right_after_the_letters_completes_before_the_grey_text_arrives():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("colon")
        # Letters and Tab in one read from the terminal (tmux send-keys 'ns unt' Tab): Tab is
        # handled before the loop has run the suggester, with nothing awaited in between.
        bar(app).value = "ns unt"
        assert bar(app).accept_suggestion()
        assert bar(app).value == "ns untrusted"


async def test_ns_scopes_and_all_unscopes_and_an_unknown_namespace_says_so():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        pods = app.screen.query_one("#pods", VirtualTable)
        total = pods.row_count
        await command(pilot, "ns sandboxed")
        assert app.namespace == "sandboxed" and 0 < pods.row_count < total
        await command(pilot, "ns nowhere")
        assert app.namespace == "sandboxed" and "no pods in namespace 'nowhere'" in error_line(app)
        await command(pilot, "ns all")
        assert app.namespace is None and pods.row_count == total
        await command(pilot, "ns")
        assert isinstance(app.screen, NamespacePicker)


async def test_history_walks_back_and_forth():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        for line in ("nodes", "ns legacy", "rc"):
            await command(pilot, line)
        await pilot.press("colon", "up")
        assert bar(app).value == "rc"
        await pilot.press("up", "up")
        assert bar(app).value == "nodes"
        await pilot.press("up")  # stays at the oldest
        assert bar(app).value == "nodes"
        await pilot.press("down", "down", "down")
        assert bar(app).value == ""


async def test_events_log_and_quit():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await command(pilot, "events")
        assert isinstance(app.screen, EventsScreen)
        table = app.screen.query_one("#events", VirtualTable)
        assert table.row_count == len(app.view.snapshot.events) > 0
        assert "FailedCreatePodSandBox" in "".join(table.render_line(y).text for y in range(table.size.height))
        await pilot.press("enter")  # the newest event's pod
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, MainScreen)
        await command(pilot, "log")
        assert isinstance(app.screen, LogScreen)
        await command(pilot, "q")  # `:` from another screen: back to the dashboard's bar
        assert not app.is_running


async def test_unknown_command_and_a_source_without_contexts_are_error_lines():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await command(pilot, "frobnicate")
        assert "unknown command :frobnicate" in error_line(app)
        await pilot.press("j")  # the next key clears it
        assert error_line(app) == ""
        await command(pilot, "ctx other")
        assert "no context to switch to" in error_line(app)
        assert any(":ctx other" in text for _, _, text in app.log_entries)


def two_cluster_kubeconfig(path, first, second) -> str:
    """One kubeconfig, contexts `first` and `second` on two API server doubles."""
    documents = [yaml.safe_load(server.write_kubeconfig(path.with_name(name), context=name).read_text())
                 for name, server in (("first", first), ("second", second))]
    merged = {"apiVersion": "v1", "kind": "Config", "current-context": "first",
              "clusters": [], "users": [], "contexts": []}
    for document in documents:
        for key in ("clusters", "users", "contexts"):
            merged[key] += [entry for entry in document[key] if not entry["name"].endswith("-sandboxed")]
    path.write_text(yaml.safe_dump(merged))
    path.chmod(0o600)
    return str(path)


async def wait_live(pilot, app, pods: int) -> None:
    deadline = time.monotonic() + 15
    while app.view is None or app.view.state.phase != "live" or len(app.view.snapshot.pods) != pods:
        assert time.monotonic() < deadline, app.view and app.view.state
        await pilot.pause(0.05)


async def test_ctx_switches_the_live_source_to_another_cluster_without_a_restart(tmp_path):
    objects = classic_objects()
    fewer = [obj for obj in objects if obj["kind"] != "Pod" or obj["metadata"]["namespace"] == "sandboxed"]
    with serve_in_thread(objects) as first, serve_in_thread(fewer) as second:
        kubeconfig = two_cluster_kubeconfig(tmp_path / "kubeconfig", first, second)
        settings = Settings(kubeconfig=kubeconfig, read_only=True)
        app = make_app(settings, LiveSource(settings, kubeconfig))
        async with app.run_test(size=(160, 48)) as pilot:
            every = sum(1 for obj in objects if obj["kind"] == "Pod")
            sandboxed = sum(1 for obj in fewer if obj["kind"] == "Pod")
            await wait_live(pilot, app, every)
            assert first.open_watches and not second.open_watches
            await pilot.press("colon", *"ctx s")
            await pilot.pause(0.1)
            await pilot.press("tab")
            assert bar(app).value == "ctx second"  # completion lists the kubeconfig's contexts
            await pilot.press("enter")
            await wait_live(pilot, app, sandboxed)
            header = str(app.screen.query_one("#header").render())
            assert "second" in header and app.source.info.server == second.url
            await until(pilot, lambda: not first.open_watches and second.open_watches)
            pods = app.screen.query_one("#pods", VirtualTable)
            assert pods.row_count == sandboxed
            await command(pilot, "ctx missing")
            assert "context 'missing' not found" in error_line(app) and "first, second" in error_line(app)
            assert app.source.info.context == "second" and app.view.state.phase == "live"
            await command(pilot, "ctx first")
            await wait_live(pilot, app, every)
            assert app.is_running and any("switched to context first" in text for _, _, text in app.log_entries)


async def test_ctx_on_the_embedded_demo_switches_between_its_two_contexts():
    from kataview.sources.live import DemoSource

    settings = Settings(demo=True, read_only=True)
    app = make_app(settings, DemoSource(settings))
    async with app.run_test(size=(160, 48)) as pilot:
        deadline = time.monotonic() + 30
        while app.view is None or app.view.state.phase != "live":
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        assert app.source.context_names() == ["kataview-demo", "kataview-demo-sandboxed"]
        await command(pilot, "ctx kataview-demo-sandboxed")
        assert error_line(app) == "" and app.source.info.context == "kataview-demo-sandboxed"
        while app.view is None or app.view.state.phase != "live":
            assert time.monotonic() < deadline + 30
            await pilot.pause(0.05)
        assert "kataview-demo-sandboxed" in str(app.screen.query_one("#header").render())
