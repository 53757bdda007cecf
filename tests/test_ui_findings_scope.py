"""Issue 16.7: a namespace does not hide the truth. In a namespace the findings pane shows that
namespace's findings and the cluster-scoped ones (the marks on the nodes and RuntimeClasses
panes), exactly what `kataview report -n NS` lists for the same scope; Enter on a finding
opens it and never rescopes the dashboard."""

from __future__ import annotations

import time

import pytest

from kataview.cli.report import build_report
from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.sources.live import LiveSource, gather_once
from kataview.sources.settings import Settings
from kataview.sources.static import StaticSource, classic_demo_snapshot
from kataview.ui.app import make_app
from kataview.ui.screens.finding_detail import FindingDetailScreen
from kataview.ui.screens.pod_detail import PodDetailScreen
from kataview.ui.screens.runtime_class_detail import RuntimeClassDetailScreen
from kataview.ui.widgets.virtual_table import VirtualTable
from test_ui_command_bar import command
from test_ui_pilot import started, until
from ui_fixtures import FROZEN_NOW, frozen_settings

DEMO_NAMESPACES = sorted({obj["metadata"]["namespace"] for obj in classic_objects() if obj["kind"] == "Pod"})


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


def pane_findings(app) -> set[tuple[str, str, str, str]]:
    table = app.screen.query_one("#findings", VirtualTable)
    return {(row.code, row.kind, row.namespace, row.name) for row in table.lines}


def report_findings(report) -> set[tuple[str, str, str, str]]:
    return {(f["code"], f["kind"], f["namespace"], f["name"]) for f in report["findings"]}


async def test_the_tui_and_report_show_the_same_findings_in_every_namespace(tmp_path):
    assert DEMO_NAMESPACES == ["default", "kube-system", "legacy", "sandboxed", "untrusted"]
    with serve_in_thread(classic_objects()) as server:
        kubeconfig = str(server.write_kubeconfig(tmp_path / "kubeconfig"))
        for namespace in DEMO_NAMESPACES:
            settings = Settings(kubeconfig=kubeconfig, namespace=namespace, all_namespaces=False, read_only=True)
            info, snapshot = await gather_once(settings)
            expected = report_findings(build_report(snapshot, info, with_pods=False))
            app = make_app(settings, LiveSource(settings, kubeconfig))
            async with app.run_test(size=(160, 48)) as pilot:
                deadline = time.monotonic() + 15
                while app.view is None or app.view.state.phase != "live":
                    assert time.monotonic() < deadline
                    await pilot.pause(0.05)
                await pilot.pause(0.1)
                assert app.namespace == namespace
                assert pane_findings(app) == expected, namespace
                title = app.screen.query_one("#findings", VirtualTable).border_title
                assert f"Findings ({len(expected)})" in title, title  # not "(1 of 4)"


async def test_namespace_scope_on_the_whole_cluster_keeps_its_own_and_the_cluster_scoped_findings():
    app = make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW)))
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        every = pane_findings(app)
        cluster_scoped = {f for f in every if not f[2] and f[1] != "Namespace"}
        assert cluster_scoped
        for namespace in DEMO_NAMESPACES:
            await command(pilot, f"ns {namespace}")
            shown = pane_findings(app)
            assert cluster_scoped <= shown, namespace
            assert shown - cluster_scoped == {f for f in every if f[2] == namespace
                                              or (f[1] == "Namespace" and f[3] == namespace)}, namespace
        await command(pilot, "ns sandboxed")
        # the case: the stuck pod, the namespace without a NetworkPolicy and the two RCs
        assert {f[0] for f in pane_findings(app)} >= {"KV003", "KV006", "KV001", "KV002"}


async def test_enter_on_a_namespace_finding_opens_it_and_does_not_rescope():
    app = make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW)))
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        table = app.screen.query_one("#findings", VirtualTable)
        await pilot.press("3")
        index = next(i for i, row in enumerate(table.lines) if row.kind == "Namespace")
        await pilot.press("home", *["down"] * index, "enter")
        await until(pilot, lambda: isinstance(app.screen, FindingDetailScreen))
        assert app.namespace is None and table.row_count == len(app.view.findings)
        shown = str(app.screen.query_one("#finding-text").render())
        assert "NetworkPolicy" in shown and "sandboxed" in shown, shown


@pytest.mark.parametrize("kind,screen", [("Pod", PodDetailScreen), ("RuntimeClass", RuntimeClassDetailScreen)])
async def test_enter_on_an_object_finding_opens_the_object(kind, screen):
    app = make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW)))
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        table = app.screen.query_one("#findings", VirtualTable)
        await pilot.press("3")
        snapshot = app.view.snapshot
        index = next(i for i, row in enumerate(table.lines) if row.kind == kind
                     and (kind != "RuntimeClass" or row.name in snapshot.runtime_classes))
        await pilot.press("home", *["down"] * index, "enter")
        await until(pilot, lambda: isinstance(app.screen, FindingDetailScreen))
        await pilot.press("enter")  # its first object is the one the finding is about
        await until(pilot, lambda: isinstance(app.screen, screen))
        assert app.namespace is None
