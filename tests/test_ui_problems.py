"""The problems view (ctrl+z, `:problems` through App.action_show_problems) and the finding
detail (Enter on a finding), on the demo scenario (issue 16.4b, 16.4c, 16.7)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from kataview.model.analysis import analyze
from kataview.model.findings import findings_of
from kataview.model.problems import problems_of
from kataview.sources.static import StaticSource, classic_demo_snapshot
from kataview.ui.app import make_app
from kataview.ui.screens.finding_detail import FindingDetailScreen
from kataview.ui.screens.main import MainScreen
from kataview.ui.screens.node_detail import NodeDetailScreen
from kataview.ui.screens.pod_detail import PodDetailScreen
from kataview.ui.screens.problems import ProblemsScreen
from kataview.ui.widgets.virtual_table import VirtualTable
from ui_fixtures import FROZEN_NOW, LIVE, frozen_settings


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


async def until(pilot, condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        await pilot.pause(0.02)
    await pilot.pause()


def demo_app():
    snapshot = classic_demo_snapshot(FROZEN_NOW)
    source = StaticSource(snapshot, LIVE)
    return make_app(frozen_settings(), source), source, snapshot


async def test_ctrl_z_lists_the_problems_with_reasons_and_opens_the_pod():
    app, _source, snapshot = demo_app()
    expected = problems_of(analyze(snapshot))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None)
        await pilot.press("ctrl+z")
        await until(pilot, lambda: isinstance(app.screen, ProblemsScreen))
        table = app.screen.query_one("#problems", VirtualTable)
        assert [row.key for row in table.lines] == [problem.uid for problem in expected]
        assert f"({len(expected)})" in table.border_title
        reason = app.screen.query_one("#problem-reason").render()
        assert all(words in str(reason) for words in expected[0].reasons)  # the cursor row, in full
        await pilot.press("down")
        assert expected[1].reasons[0] in str(app.screen.query_one("#problem-reason").render())
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        assert app.screen.pod.uid == expected[1].uid
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProblemsScreen))
        await pilot.press("ctrl+z")  # again: back, as k9s's toggle
        await until(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_problems_follow_the_namespace_and_live_updates():
    app, source, snapshot = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None)
        app.set_namespace("sandboxed")
        app.action_show_problems()  # what `:problems` runs
        await until(pilot, lambda: isinstance(app.screen, ProblemsScreen))
        table = app.screen.query_one("#problems", VirtualTable)
        wanted = [p.uid for p in problems_of(analyze(snapshot)) if p.namespace == "sandboxed"]
        assert wanted and [row.key for row in table.lines] == wanted
        assert "in sandboxed" in table.border_title
        # the restarted pod's counter is reset (a new pod record): it leaves the list
        restarted = next(pod for pod in snapshot.pods.values() if pod.restarts and pod.namespace == "sandboxed")
        healed = dataclasses.replace(restarted, containers=tuple(
            dataclasses.replace(c, restart_count=0) for c in restarted.containers))
        changed = dataclasses.replace(snapshot, pods={**snapshot.pods, restarted.uid: healed})
        source.push(changed)
        await until(pilot, lambda: app.view.snapshot is changed)
        assert [row.key for row in table.lines] == [uid for uid in wanted if uid != restarted.uid]


async def test_enter_on_a_namespace_finding_opens_it_and_never_rescopes():
    app, _source, snapshot = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None)
        await pilot.press("3")
        findings = app.screen.query_one("#findings", VirtualTable)
        target = next(row for row in findings.lines if row.kind == "Namespace")
        findings.move_cursor_to(target.key)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FindingDetailScreen))
        assert app.namespace is None
        screen = app.screen
        finding = next(f for f in findings_of(analyze(snapshot)) if f.code == target.code and f.name == target.name)
        shown = " ".join(str(screen.query_one(f"#{part}").render()) for part in ("finding-text", "finding-advice"))
        # the full message, never cut: every word of it is on the screen
        # (split into what is wrong and what to do at its last "; ")
        shown = shown.replace("\n", " ").lower()
        assert all(word.rstrip(";") in shown for word in finding.message.lower().split(" "))
        objects = screen.query_one("#finding-objects", VirtualTable)
        pods_named = {row.cells["OBJECT"] for row in objects.lines if row.cells["KIND"] == "Pod"}
        bare = analyze(snapshot).counts.bare_ns[target.name]
        assert pods_named == {f"{target.name}/{name}" for name in bare.values()}
        await pilot.press("enter")  # the namespace itself: nothing to open, said so
        await pilot.pause()
        assert isinstance(app.screen, FindingDetailScreen) and app.namespace is None
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        assert app.screen.pod.uid in bare
        await pilot.press("escape")  # one pod screen was opened, not two: back on the finding
        await until(pilot, lambda: isinstance(app.screen, FindingDetailScreen))


async def test_finding_detail_opens_a_node_of_a_runtime_class_finding():
    app, _source, snapshot = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None)
        finding = next(f for f in app.view.findings if f.code == "KV002")
        app.screen.open_finding(finding)
        await until(pilot, lambda: isinstance(app.screen, FindingDetailScreen))
        objects = app.screen.query_one("#finding-objects", VirtualTable)
        nodes = [row for row in objects.lines if row.cells["KIND"] == "Node"]
        assert nodes and all(row.cells["OBJECT"] in snapshot.nodes for row in nodes)
        objects.move_cursor_to(nodes[0].key)
        await pilot.pause()
        assert nodes[0].cells["WHY"] in str(app.screen.query_one("#finding-object-why").render())
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, NodeDetailScreen))
        assert app.screen.key == nodes[0].cells["OBJECT"]


async def test_colon_problems_opens_the_view():
    app, _source, snapshot = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None)
        for line in ("problems", "pr"):
            await pilot.press("colon", *line)
            await pilot.pause(0.05)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ProblemsScreen))
            table = app.screen.query_one("#problems", VirtualTable)
            assert table.row_count == len(problems_of(analyze(snapshot)))
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, MainScreen))
