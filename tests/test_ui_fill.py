"""The dashboard fills as the pods arrive (issue 17.1): with the API double's list stalled
mid-way, the pods read so far are in the panes, the pods pane says how far the list is, the
findings are marked provisional; once the list is complete, the whole view without marks.
Both ways the informers list: watch-list (the double's default) and pages (WatchList off)."""

from __future__ import annotations

import time

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.generator import generated_objects
from kataview.sources.live import LiveSource
from kataview.sources.settings import Settings
from kataview.ui.app import make_app
from kataview.ui.screens.main import MainScreen
from kataview.ui.widgets.virtual_table import VirtualTable

PODS = 1200  # pages of 500: the first page, then two held back


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


@pytest.fixture
async def api():
    async with ApiServerDouble(generated_objects(6, PODS)) as server:
        yield server


async def until(pilot, condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def table(app, pane_id: str) -> VirtualTable:
    return app.screen.query_one(f"#{pane_id}", VirtualTable)


def stall(api, how: str) -> None:
    if how == "watch-list":
        api.faults.slow_initial_events("pods", 3600, every=100)  # 100 pods, then held
    else:
        api.watch_list = False  # kube-apiserver with the WatchList feature gate off
        api.faults.hold_continued_lists("pods")  # the first page of 500, then held


def release(api, how: str) -> None:
    if how == "watch-list":
        api.faults.slow_initial_events("pods", 0)
    else:
        api.faults.hold_continued_lists("pods", hold=False)


@pytest.mark.parametrize("how,first,estimate", [("watch-list", 100, ""),
                                                 ("pages", 500, " of ~1,200")])
async def test_partial_pods_with_marks_then_the_complete_view(api, tmp_path, how, first, estimate):
    stall(api, how)
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    settings = Settings(kubeconfig=str(kubeconfig), all_namespaces=True, read_only=True)
    app = make_app(settings, LiveSource(settings, str(kubeconfig)))
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and app.view is not None
                    and table(app, "pods").row_count > 0, "the first pods on screen")
        pods, findings = table(app, "pods"), table(app, "findings")
        await until(pilot, lambda: str(findings.border_title).endswith("provisional: pods loading"),
                    "the other kinds listed")
        # every event sent before the hold is shown (the other kinds may finish listing
        # before the last of them is applied), and no more
        await until(pilot, lambda: pods.row_count >= first, "every pod sent before the hold")
        assert pods.row_count == first
        assert f"(loading {first:,}{estimate})" in str(pods.border_title) or \
            f"· loading {first:,}{estimate}" in str(pods.border_title), pods.border_title
        assert "loading" not in str(table(app, "nodes").border_title)  # nodes are complete
        assert f"pods {first:,}{estimate}" in app.view.state.label  # the header's words
        release(api, how)
        await until(pilot, lambda: app.view.state.phase == "live", "the complete list")
        await pilot.pause()
        assert pods.row_count == PODS
        assert "loading" not in str(pods.border_title) and f"({PODS:,})" in str(pods.border_title)
        assert "provisional" not in str(findings.border_title)


async def test_the_complete_list_is_shown_without_waiting_out_the_loading_spacing(
        api, tmp_path, monkeypatch):
    # While a list arrives, builds are spaced by a multiple of the last build's time; make that
    # multiple absurd: the complete view must still come at once, not after the spacing.
    import kataview.ui.app as app_module
    monkeypatch.setattr(app_module, "LOADING_BUILD_SHARE", 1e-6)
    api.faults.slow_initial_events("pods", 0.2, every=200)
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    settings = Settings(kubeconfig=str(kubeconfig), all_namespaces=True, read_only=True)
    app = make_app(settings, LiveSource(settings, str(kubeconfig)))
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and app.view is not None
                    and table(app, "pods").row_count > 0, "the first pods on screen")
        await until(pilot, lambda: app.view.state.phase == "live"
                    and table(app, "pods").row_count == PODS, "the complete list on screen")
        assert "loading" not in str(table(app, "pods").border_title)
