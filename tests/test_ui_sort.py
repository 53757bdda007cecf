"""k9s-style sort keys (issue 16.4): shift+letter sorts the focused pane by a column, the same
key again reverses, the header marks the column; pods sort within their runtime groups; the
order stays across snapshot updates. On the demo scenario."""

from __future__ import annotations

import dataclasses
import random
import time

import pytest

from kataview.model.cluster_view import build_view
from kataview.model.records import ContainerStatus
from kataview.sources.static import StaticSource
from kataview.ui.app import make_app
from kataview.sources.static import classic_demo_snapshot
from kataview.ui.sorting import PANE_SORT_KEYS, SortedRows, SortOrder, sort_rows
from kataview.ui.widgets.virtual_table import SectionHeader
from ui_fixtures import FROZEN_NOW, LIVE, frozen_settings, generated_snapshot


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


async def started(pilot):
    app = pilot.app
    deadline = time.monotonic() + 10
    while app.view is None:
        assert time.monotonic() < deadline, "no view"
        await pilot.pause(0.02)
    await pilot.pause()
    return app


def groups_on_screen(table) -> list[tuple[str, list]]:
    """(section key, its rows) in display order."""
    groups: list[tuple[str, list]] = []
    for line in table.lines:
        if isinstance(line, SectionHeader):
            groups.append((line.key, []))
        else:
            groups[-1][1].append(line)
    return groups


def demo_app(snapshot=None):
    source = StaticSource(snapshot or classic_demo_snapshot(FROZEN_NOW), LIVE)
    return make_app(frozen_settings(), source), source


async def test_restarts_sort_within_groups_and_reverse():
    app, _ = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        table = app.screen.query_one("#pods")
        before = [(key, {row.key for row in rows}) for key, rows in groups_on_screen(table)]
        restarted = [pod for pod in app.view.snapshot.pods.values() if pod.restarts]
        assert restarted, "the demo has a restarted pod"
        await pilot.press("T")
        after = groups_on_screen(table)
        # the groups stay, in their order, each with the same pods
        assert [(key, {row.key for row in rows}) for key, rows in after] == before
        for _key, rows in after:
            counts = [row.pod.restarts for row in rows]
            assert counts == sorted(counts, reverse=True)  # restarts: the most first
        group_of_restarted = next(rows for _key, rows in after if restarted[0].uid in {r.key for r in rows})
        assert group_of_restarted[0].key == restarted[0].uid
        assert "RST↓" in table.render_line(0).text
        assert "sorted by RST ↓" in table.border_subtitle
        await pilot.press("T")
        for _key, rows in groups_on_screen(table):
            counts = [row.pod.restarts for row in rows]
            assert counts == sorted(counts)
        assert "RST↑" in table.render_line(0).text


async def test_age_name_and_node_keys_on_pods():
    app, _ = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        table = app.screen.query_one("#pods")
        await pilot.press("A")  # youngest first, as k9s's Shift-A
        for _key, rows in groups_on_screen(table):
            created = [row.pod.created for row in rows]
            assert created == sorted(created, reverse=True)
        assert "AGE↑" in table.render_line(0).text
        await pilot.press("N")
        assert "AGE" in table.render_line(0).text and "AGE↑" not in table.render_line(0).text
        for _key, rows in groups_on_screen(table):
            assert [row.pod.name for row in rows] == sorted(row.pod.name for row in rows)
        await pilot.press("N")
        for _key, rows in groups_on_screen(table):
            assert [row.pod.name for row in rows] == sorted((row.pod.name for row in rows), reverse=True)
        await pilot.press("O")
        for _key, rows in groups_on_screen(table):
            assert [row.pod.node_name for row in rows] == sorted(row.pod.node_name for row in rows)


async def test_nodes_runtime_classes_and_findings_sort():
    app, _ = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        snapshot = app.view.snapshot
        await pilot.press("1", "N", "N")
        nodes = app.screen.query_one("#nodes")
        assert [row.name for row in nodes.lines] == sorted(snapshot.nodes, reverse=True)
        assert "NAME↓" in nodes.render_line(0).text
        await pilot.press("2", "M")  # overhead memory, the most first
        classes = app.screen.query_one("#runtime-classes")
        memory = [snapshot.runtime_classes[row.name].overhead_memory_bytes or -1 for row in classes.lines]
        assert memory == sorted(memory, reverse=True) and memory[0] != memory[-1]
        await pilot.press("3", "C")
        findings = app.screen.query_one("#findings")
        codes = [row.code for row in findings.lines]
        assert codes == sorted(codes) and codes != [row.code for row in app.view.findings]
        # a letter the pane has no column for does nothing (T is restarts, on pods only)
        await pilot.press("T")
        assert [row.code for row in findings.lines] == codes
        # the other panes kept their own order
        assert [row.name for row in nodes.lines] == sorted(snapshot.nodes, reverse=True)


async def test_sort_survives_a_snapshot_update():
    snapshot = classic_demo_snapshot(FROZEN_NOW)
    app, source = demo_app(snapshot)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await pilot.press("T")
        table = app.screen.query_one("#pods")
        # a runc pod starts restarting: it moves to the top of its group
        pod = next(p for p in snapshot.pods.values() if p.name.startswith("nginx-trusted"))
        crashed = dataclasses.replace(pod, containers=tuple(
            dataclasses.replace(c, restart_count=9) for c in pod.containers))
        changed = dataclasses.replace(snapshot, pods={**snapshot.pods, pod.uid: crashed})
        source.push(changed)
        deadline = time.monotonic() + 10
        while app.view.snapshot is not changed:
            assert time.monotonic() < deadline
            await pilot.pause(0.02)
        await pilot.pause()
        assert "RST↓" in table.render_line(0).text
        for _key, rows in groups_on_screen(table):
            counts = [row.pod.restarts for row in rows]
            assert counts == sorted(counts, reverse=True)
        runc = next(rows for key, rows in groups_on_screen(table) if pod.uid in {r.key for r in rows})
        assert runc[0].key == pod.uid and runc[0].pod.restarts == 18


def test_sorted_runs_follow_view_updates_without_sorting_again():
    """A run updated from the view's row changes equals a sort from scratch, for every pod key
    and both directions, over random changes of a generated cluster."""
    snapshot = generated_snapshot(nodes=40, pods=3000)
    view = build_view(snapshot, LIVE)
    rng = random.Random(16)
    orders = [SortOrder(key, descending) for key in PANE_SORT_KEYS["pods"] for descending in (False, True)]
    runs = {order: SortedRows("sort_key") for order in orders}
    for order, sorter in runs.items():
        for group in view.pod_groups:
            sorter.rows(group.key, group.rows, order)
    for _ in range(5):
        pods = dict(view.snapshot.pods)
        for uid in rng.sample(sorted(pods), 30):
            pod = pods[uid]
            pods[uid] = dataclasses.replace(
                pod, phase=rng.choice(["Running", "Pending", "Failed"]), node_name=f"node-{rng.randrange(40):05d}",
                created=pod.created - (FROZEN_NOW - pod.created) if rng.random() < 0.5 else pod.created,
                containers=(ContainerStatus("app", ready=rng.random() < 0.5, restart_count=rng.randrange(4),
                                            state="running"),))
        view = build_view(dataclasses.replace(view.snapshot, pods=pods), LIVE, view)
        assert any(group.changes for group in view.pod_groups), "the view was built incrementally"
        for order, sorter in runs.items():
            fulls = sorter.full_sorts
            for group in view.pod_groups:
                assert sorter.rows(group.key, group.rows, order, group.changes) == sort_rows(group.rows, order)
            assert sorter.full_sorts == fulls
