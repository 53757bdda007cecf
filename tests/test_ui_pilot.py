"""The TUI's main flows, driven with Textual's Pilot on fixed snapshots (StaticSource)."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest

from kataview.model.records import WatchState
from kataview.sources.static import StaticSource
from kataview.ui.app import make_app
from kataview.ui.screens.log import LogScreen
from kataview.ui.screens.main import MainScreen
from kataview.ui.screens.node_detail import NodeDetailScreen
from kataview.ui.screens.pod_detail import PodDetailScreen
from kataview.ui.screens.runtime_class_detail import RuntimeClassDetailScreen
from kataview.ui.widgets.virtual_table import SectionHeader, VirtualTable
from ui_fixtures import (
    FROZEN_NOW, STALE, classic_pods, classic_snapshot, classic_source, frozen_settings, generated_snapshot,
    make_pod,
)


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


async def until(pilot, condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)
    await pilot.pause()


async def started(pilot):
    app = pilot.app
    await until(pilot, lambda: app.view is not None and isinstance(app.screen, MainScreen))
    return app


def pods_table(app) -> VirtualTable:
    return app.screen.query_one("#pods", VirtualTable)


def text_of(screen) -> str:
    from textual.widgets import Static

    return "\n".join(str(widget.render()) for widget in screen.query(Static))


async def test_panes_are_reachable_by_tab_and_number():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        assert app.focused.id == "pods"
        await pilot.press("tab")
        assert app.focused.id == "nodes"
        await pilot.press("2")
        assert app.focused.id == "runtime-classes"
        await pilot.press("shift+tab")
        assert app.focused.id == "nodes"
        assert len(app.screen.query_one("#nodes", VirtualTable).lines) == 4


async def test_compact_layout_shows_only_the_focused_pane():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        shown = [table.id for table in app.screen.query(".pane") if table.display and table.styles.display != "none"]
        assert shown == ["pods"]
        await pilot.press("1")
        await pilot.pause()
        assert app.screen.query_one("#nodes").has_class("-active")
        assert not app.screen.query_one("#pods").has_class("-active")


async def test_pods_are_grouped_by_runtime_with_counts():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        headers = [line.text for line in pods_table(app).lines if isinstance(line, SectionHeader)]
        assert headers[0] == "▍runc (default)  4 pods"
        # a sandboxed group's header ends with its VMs' declared overhead (test_ui_vm_columns)
        starts = [header.split("  · ")[0] if "VM" in header or "sandbox" in header else header for header in headers]
        assert "▍kata  2 pods" in starts
        assert any(h.startswith("▍runsc  1 pod  · handler 'runsc' via RuntimeClass gvisor") for h in headers)
        assert any(h.startswith("▍kata-clh (missing RuntimeClass)  1 pod  · pods ask for RuntimeClass 'kata-clh', "
                                "which does not exist") for h in headers)


async def test_filter_by_substring_and_regex_then_clear():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        table = pods_table(app)
        await pilot.press("slash", *"zz9x")
        assert table.row_count == 2
        await pilot.press("enter")
        assert app.focused is table and "filter 'zz9x' in any column" in table.border_subtitle
        await pilot.press("slash", *("ctrl+u",), *"re:^shop")
        assert table.row_count == 4
        await pilot.press("ctrl+u", *"/untrusted-[0-9]$/")
        assert {row.name for row in table.lines if not isinstance(row, SectionHeader)} == {
            "checkout-6d4b9c7f5-k8s2m", "payments-8f6c5d4b3-q7w2e", "build-runner-5f8d7c6b4-zz9x1",
            "untrusted-job-7k2p", "legacy-app-0"}
        await pilot.press("escape")
        assert table.row_count == 10 and not table.row_filter.active


async def test_enter_opens_pod_detail_with_vm_panel_and_escape_returns():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        assert pods_table(app).move_cursor_to("uid-000005")  # shop/checkout on kata
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        text = text_of(app.screen)
        assert "shop/checkout-6d4b9c7f5-k8s2m" in text
        assert "over SSH from node untrusted-1" in text and "crictl" in text
        assert "250m/160Mi" in text
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert pods_table(app).cursor_key == "uid-000005"


async def test_pod_detail_shows_sandbox_events():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        app.open_object("Pod", "uid-000008")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        events = app.screen.query_one("#events", VirtualTable)
        assert [row.cells["REASON"] for row in events.lines] == ["FailedCreatePodSandBox"]


async def test_node_detail_and_runtime_class_detail():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("1")
        app.screen.query_one("#nodes", VirtualTable).move_cursor_to("crio-1")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, NodeDetailScreen))
        text = text_of(app.screen)
        assert "inferred" in text and "cri-o 1.29.4" in text
        node_pods = app.screen.query_one("#node-pods", VirtualTable)
        assert [row.cells["NAME"] for row in node_pods.lines if not isinstance(row, SectionHeader)] == [
            "build-runner-5f8d7c6b4-zz9x2"]
        await pilot.press("escape", "2")
        app.screen.query_one("#runtime-classes", VirtualTable).move_cursor_to("kata")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RuntimeClassDetailScreen))
        fits = {row.key: row.cells["CAN RUN"] for row in app.screen.query_one("#fits", VirtualTable).lines}
        assert fits["untrusted-1"] == "yes" and fits["trusted-1"] == "no"
        why = {row.key: row.cells["WHY"] for row in app.screen.query_one("#fits", VirtualTable).lines}
        assert why["trusted-1"]  # every "no" says why
        rc_pods = app.screen.query_one("#rc-pods", VirtualTable)
        assert {row.cells["NAME"] for row in rc_pods.lines} == {"checkout-6d4b9c7f5-k8s2m", "untrusted-job-7k2p"}
        await pilot.press("enter")  # a pod of the RuntimeClass... focus is on the first table: nodes
        await until(pilot, lambda: isinstance(app.screen, (NodeDetailScreen, PodDetailScreen)))


async def test_finding_opens_its_object():
    from kataview.ui.screens.finding_detail import FindingDetailScreen

    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("3")
        findings = app.screen.query_one("#findings", VirtualTable)
        target = next(row for row in findings.lines if row.kind == "Pod")
        findings.move_cursor_to(target.key)
        await pilot.press("enter")  # the finding's detail; its first object is the pod
        await until(pilot, lambda: isinstance(app.screen, FindingDetailScreen))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        assert app.screen.pod.name == target.name


async def test_namespace_picker_and_settings_namespace():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("n")
        await pilot.pause()
        picker = app.screen.query_one("#namespaces")
        names = [picker.get_option_at_index(i).id for i in range(picker.option_count)]
        picker.highlighted = names.index("shop")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.namespace == "shop" and pods_table(app).row_count == 4
        await pilot.press("n", "home", "enter")
        await until(pilot, lambda: app.namespace is None)
        assert pods_table(app).row_count == 10
    app = make_app(frozen_settings(namespace="ci", all_namespaces=False), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        assert pods_table(app).row_count == 2
        assert "ns ci" in str(app.screen.query_one("#header").render())


def with_extra_pods(namespace: str, count: int, first: int, pods=None):
    pods = dict(pods or classic_pods())
    for number in range(count):
        pod = make_pod(first + number, namespace, f"extra-{number:03d}", "trusted-1", None)
        pods[pod.uid] = pod
    return pods


async def test_live_update_keeps_cursor_and_scroll_by_key():
    source = StaticSource(classic_snapshot(pods=with_extra_pods("zzz", 60, 100)))
    app = make_app(frozen_settings(), source)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        table = pods_table(app)
        table.move_cursor_to("uid-000006")  # shop/payments, kata-qemu: the last group
        await pilot.pause()
        before = table.lines.index(table.cursor_row)
        on_screen = before - round(table.scroll_y)
        assert table.scroll_y > 0
        snapshot = classic_snapshot(pods=with_extra_pods("aaa", 20, 300, with_extra_pods("zzz", 60, 100)))
        source.push(snapshot)  # 20 runc pods sorted above the cursor
        await until(pilot, lambda: app.view.snapshot is snapshot)
        assert table.cursor_key == "uid-000006"
        after = table.lines.index(table.cursor_row)
        assert after == before + 20
        assert after - round(table.scroll_y) == on_screen


async def test_update_while_detail_open_then_pod_deleted():
    source = classic_source()
    app = make_app(frozen_settings(), source)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        app.open_object("Pod", "uid-000004")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        pods = dict(classic_pods())
        pods["uid-000004"] = make_pod(4, "shop", "frontend-5c7f8d9b6-fghij", "trusted-1", None, containers=2,
                                      restarts=9, age=timedelta(hours=26))
        updated = classic_snapshot(pods=pods)
        source.push(updated)
        await until(pilot, lambda: app.view.snapshot is updated)
        assert app.screen.query_one("#containers", VirtualTable).lines[0].cells["RESTARTS"] == "9"
        del pods["uid-000004"]
        gone = classic_snapshot(pods=pods, taken_at=FROZEN_NOW + timedelta(seconds=5))
        source.push(gone)
        await until(pilot, lambda: app.view.snapshot is gone)
        banner = str(app.screen.query_one("#gone-banner").render())
        assert banner == "pod deleted at 12:30:05; showing last known state"
        assert "frontend-5c7f8d9b6-fghij" in text_of(app.screen)
        await pilot.press("escape")
        assert pods_table(app).row_count == 9


async def test_stale_state_keeps_data_and_log_shows_history():
    source = classic_source()
    app = make_app(frozen_settings(), source)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        snapshot = app.view.snapshot
        source.push(snapshot, STALE)
        await until(pilot, lambda: app.view.state.phase == "stale")
        header = str(app.screen.query_one("#header").render())
        assert "stale since 12:27:07" in header and "HTTP 500" in header
        assert pods_table(app).row_count == 10
        assert "stale" in pods_table(app).border_title
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LogScreen))
        texts = [row.cells["WHAT"] for row in app.screen.query_one("#log", VirtualTable).lines]
        assert any("watch pods: HTTP 500" in text for text in texts)
        assert any(text.startswith("live") for text in texts)


class BrokenSource(StaticSource):
    async def run(self, publish):
        snapshot, state = await self._queue.get()
        publish(snapshot, state)
        raise ConnectionError("apiserver went away")


async def test_a_failing_source_marks_data_stale_instead_of_crashing():
    app = make_app(frozen_settings(), BrokenSource(classic_snapshot()))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None and app.view.state.phase == "stale")
        assert "apiserver went away" in app.view.state.last_error
        assert pods_table(app).row_count == 10


async def test_keymap_remaps_bindings():
    settings = frozen_settings(keymap={"filter": "f", "quit": "ctrl+q", "help": "h"})
    app = make_app(settings, classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("f")
        assert app.focused.id == "filter-input"
        await pilot.press("escape", "h")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        assert "ctrl+q" in str(app.screen.query_one("#help-text").render())
        await pilot.press("escape", "ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_theme_toggle_is_remembered(tmp_path):
    app = make_app(frozen_settings(theme=None), classic_source())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        assert app.theme == "kataview"
        assert not (tmp_path / "state" / "kataview" / "state.toml").exists()
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.theme == "textual-light"
    assert (tmp_path / "state" / "kataview" / "state.toml").read_text() == 'theme = "textual-light"\n'
    app = make_app(frozen_settings(theme="nord"), classic_source())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        assert app.theme == "nord"


async def test_no_color_setting_turns_colour_off():
    app = make_app(frozen_settings(no_color=True), classic_source())
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        assert app.no_color
        assert any(type(f).__name__ in ("Monochrome", "NoColor") for f in app._filters)


async def test_palette_opens_objects_by_name():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("ctrl+p", *"payments")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        assert app.screen.pod.name == "payments-8f6c5d4b3-q7w2e"
        await pilot.press("escape", "ctrl+p", *"untrusted-1")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, NodeDetailScreen))


async def test_large_cluster_renders_and_filters():
    snapshot = generated_snapshot(nodes=500, pods=30_000)
    app = make_app(frozen_settings(), StaticSource(snapshot))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None, timeout=30)
        table = pods_table(app)
        assert table.row_count == 30_000
        await pilot.press("end")
        assert table.cursor_row is table.lines[-1]
        await pilot.press("slash", *"app-00042")
        assert 0 < table.row_count < 100
        assert all("app-00042" in row.name for row in table.lines if not isinstance(row, SectionHeader))


async def test_state_only_update_reuses_the_view():
    source = classic_source()
    app = make_app(frozen_settings(), source)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        first = app.view
        source.push(first.snapshot, WatchState(phase="reconnecting", stale_since=FROZEN_NOW))
        await until(pilot, lambda: app.view.state.phase == "reconnecting")
        assert app.view.pod_groups is first.pod_groups
        assert dataclasses.replace(app.view, state=first.state) == first
        assert "reconnecting" in str(app.screen.query_one("#header").render())



async def test_keys_typed_in_one_burst_with_slash_go_to_the_filter():
    """A terminal read delivers `/kata-q` at once: every key is queued before the first is
    handled. They must land in the filter, and the `q` among them must not quit."""
    from textual import events

    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        for key, character in (("slash", "/"), ("k", "k"), ("a", "a"), ("t", "t"), ("a", "a"),
                               ("minus", "-"), ("q", "q")):
            app.post_message(events.Key(key, character))
        await pilot.pause(0.3)
        assert app.is_running
        assert app.screen.query_one("#filter-input").value == "kata-q"
        assert "filter 'kata-q' in any column" in pods_table(app).border_subtitle


def test_the_header_shows_a_long_list_moving():
    from kataview.ui.widgets.cluster_header import watch_text

    text, _style = watch_text(WatchState(phase="syncing", synced=4, total=5, listing={"pods": 45500}))
    assert text == "◌ syncing 4/5 · pods 45,500"
    assert watch_text(WatchState(phase="syncing", synced=4, total=5))[0] == "◌ syncing 4/5"


async def test_a_view_update_repaints_only_the_lines_that_changed(monkeypatch):
    """One pod on screen changes: its line is redrawn with the new status, the other rows
    are not redrawn (at 150,000 pods under a watch, redrawing every line was a third of the
    dashboard's CPU)."""
    monkeypatch.setattr(VirtualTable, "CLOCK_TICK_S", 3600.0)  # no clock redraw meanwhile
    snapshot = generated_snapshot(nodes=40, pods=2000)
    source = StaticSource(snapshot, WatchState(phase="live", synced=5, total=5))
    app = make_app(frozen_settings(), source)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        table = app.screen.query_one("#pods", VirtualTable)
        await pilot.pause(0.2)
        top = round(table.scroll_y)
        visible = table.lines[top:top + table.size.height - 1]
        rows = [line for line in visible if not isinstance(line, SectionHeader)]
        assert len(rows) > 5
        target = rows[4].pod
        drawn: list[int] = []
        original = table.render_line
        monkeypatch.setattr(table, "render_line", lambda y: drawn.append(y) or original(y))
        pods = dict(snapshot.pods)
        pods[target.uid] = dataclasses.replace(target, phase="Failed", reason="Evicted")
        source.push(dataclasses.replace(snapshot, pods=pods))
        await until(pilot, lambda: any(getattr(line, "pod", None) is pods[target.uid] for line in table.lines))
        await pilot.pause(0.2)
        y = table.lines.index(next(line for line in table.lines
                                   if getattr(line, "pod", None) is pods[target.uid])) - top + 1
        assert y in drawn, (y, drawn)
        assert "Evicted" in original(y).text or "Failed" in original(y).text
        # the changed row, and the section header lines whose counts may have changed
        headers = {i - top + 1 for i, line in enumerate(table.lines[top:top + len(visible)], start=top)
                   if isinstance(line, SectionHeader)}
        assert set(drawn) <= {y} | headers | {0}, sorted(set(drawn))


async def test_the_clock_redraws_visible_lines_for_their_ages(monkeypatch):
    monkeypatch.setattr(VirtualTable, "CLOCK_TICK_S", 0.05)
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        table = app.screen.query_one("#pods", VirtualTable)
        drawn: list[int] = []
        original = table.render_line
        monkeypatch.setattr(table, "render_line", lambda y: drawn.append(y) or original(y))
        await pilot.pause(0.4)  # no new view: only the clock
        shown = min(len(table.lines), table.size.height - 1)
        assert set(range(1, shown + 1)) <= set(drawn)


async def test_e_and_s_on_a_pod_say_kataview_does_not_and_show_the_kubectl_command():
    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        app.open_object("Pod", "uid-000008")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        pod = app.view.snapshot.pods["uid-000008"]
        await pilot.press("e")
        await pilot.press("s")
        await pilot.pause()
        texts = [(n.title, n.message) for n in app._notifications]
        assert ("kataview does not edit pods; this would:",
                f"kubectl --context kind-kata -n {pod.namespace} edit pod {pod.name}") in texts
        assert any(title.startswith("kataview does not exec") and f"exec -it {pod.name} -c" in message
                   for title, message in texts)
