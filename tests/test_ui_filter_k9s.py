"""Issue 16.1 and 16.8: the `/` filter reads as k9s's does (every column, !, -l, -f, Esc), and
the keys k9s users have (ctrl-c), on the demo scenario."""

from __future__ import annotations

import pytest

from kataview.model.label_query import parse_label_selector
from kataview.model.records import SelectorRequirement
from kataview.sources.static import StaticSource
from kataview.sources.static import classic_demo_snapshot
from kataview.ui.app import make_app
from kataview.ui.widgets.virtual_table import SectionHeader, VirtualTable
from test_ui_pilot import started
from ui_fixtures import FROZEN_NOW, frozen_settings


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


def demo_app():
    return make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW)))


def shown(app) -> list:
    return [row for row in app.screen.query_one("#pods", VirtualTable).lines if not isinstance(row, SectionHeader)]


async def type_filter(pilot, text: str) -> None:
    await pilot.press("slash", "ctrl+u", *text)
    await pilot.press("enter")


async def test_kata_is_exactly_the_kata_family_even_on_a_node_named_kata():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        kata = {row.key for group in app.view.pod_groups if group.family == "kata" for row in group.rows}
        await type_filter(pilot, "kata")
        rows = shown(app)
        assert {row.key for row in rows} == kata and len(kata) == 7
        # the runc kube-proxy and the gVisor pod run on k8s-worker-kata: not Kata pods
        assert not any(row.family != "kata" for row in rows)
        assert "'kata' in any column" in app.screen.query_one("#pods", VirtualTable).border_subtitle


async def test_runtime_handler_and_status_columns_match():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await type_filter(pilot, "runsc")
        assert [row.name for row in shown(app)] == ["gvisor-sandbox"]
        await type_filter(pilot, "Creating")
        assert [row.name for row in shown(app)] == ["nginx-kata-fc-5c4b8d7f96-w5l2g"]
        await type_filter(pilot, "worker-kata")  # not a runtime word: a node substring
        assert "kube-proxy-kpqd4" in {row.name for row in shown(app)}


async def test_bang_inverts_and_esc_clears_the_kept_filter():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        table = app.screen.query_one("#pods", VirtualTable)
        total = table.row_count
        await type_filter(pilot, "!kata")
        assert table.row_count == total - 7 and all(row.family != "kata" for row in shown(app))
        assert "not 'kata'" in table.border_subtitle
        assert app.focused is table
        await pilot.press("escape")
        assert table.row_count == total and not table.row_filter.active and table.border_subtitle == ""


async def test_label_selector_and_field_filters():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await type_filter(pilot, "-l app=nginx-trusted")
        assert {row.pod.labels["app"] for row in shown(app)} == {"nginx-trusted"} and len(shown(app)) == 2
        await type_filter(pilot, "-l app,app!=nginx-trusted,pod-template-hash")
        assert all(row.pod.labels["app"] != "nginx-trusted" for row in shown(app)) and len(shown(app)) == 6
        await type_filter(pilot, "-f node=k8s-worker")
        assert {row.node for row in shown(app)} == {"k8s-worker"}
        await type_filter(pilot, "-l app in (x")
        table = app.screen.query_one("#pods", VirtualTable)
        assert table.row_count == 0 and "bad filter: label selector" in table.border_subtitle


async def test_regex_forms_stay():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        await type_filter(pilot, "re:^kube-sys")
        assert len(shown(app)) == 4
        await type_filter(pilot, "/qemu-[0-9a-f]+-k9/")
        assert [row.name for row in shown(app)] == ["nginx-kata-qemu-79c5d8b6f4-k92l2"]


async def test_ctrl_c_quits():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running


def test_label_selector_text():
    selector = parse_label_selector("app=nginx,tier!=db,env in (a, b),!legacy,team")
    assert selector.match_expressions == (
        SelectorRequirement("app", "In", ("nginx",)), SelectorRequirement("tier", "NotIn", ("db",)),
        SelectorRequirement("env", "In", ("a", "b")), SelectorRequirement("legacy", "DoesNotExist"),
        SelectorRequirement("team", "Exists"))
    with pytest.raises(ValueError):
        parse_label_selector("app=,")
