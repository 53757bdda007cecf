"""Snapshots of issue 16.2 and 16.8 (pytest-textual-snapshot): the `:` bar with its grey
completion and an error line, the events screen, `?` on the main screen and on a pod detail,
the namespace picker with letters typed. Update with --snapshot-update and look at the SVGs."""

from __future__ import annotations

import pytest

from kataview.sources.static import StaticSource, classic_demo_snapshot
from kataview.ui.app import make_app
from test_ui_snapshots import ready
from ui_fixtures import FROZEN_NOW, frozen_settings

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48"),
         pytest.param((220, 60), id="220x60")]


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


def demo_app():
    return make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW)))


@pytest.mark.parametrize("size", SIZES)
def test_command_bar_completing(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size, run_before=ready("colon", *"ns sa"))


@pytest.mark.parametrize("size", SIZES[:2])
def test_command_bar_error(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size,
                        run_before=ready("colon", *"ctx elsewhere", "enter"))


@pytest.mark.parametrize("size", SIZES[1:])
def test_events_screen(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size, run_before=ready("colon", *"events", "enter"))


@pytest.mark.parametrize("size", SIZES)
def test_help_on_the_pods_pane(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size, run_before=ready("question_mark"))


@pytest.mark.parametrize("size", SIZES[1:2])
def test_help_on_a_pod_detail(snap_compare, size):
    def first_pod(app):
        uid = min(app.view.snapshot.pods.values(), key=lambda pod: pod.name).uid
        app.open_object("Pod", uid)

    assert snap_compare(demo_app(), terminal_size=size, run_before=ready(first_pod, "question_mark"))


@pytest.mark.parametrize("size", SIZES[:2])
def test_namespace_picker_type_ahead(snap_compare, size):
    assert snap_compare(demo_app(), terminal_size=size, run_before=ready("n", *"s"))
