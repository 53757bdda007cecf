"""The guided setup gets past its first screen: the node list waits for the source's first full
list (its first views come while syncing, with no nodes), and `setup --demo` connects to the
demo itself (its kubeconfig and SSH node), never to the default kubeconfig."""

from __future__ import annotations

import time

from ui_fixtures import classic_snapshot, frozen_settings

from kataview.model.records import ClusterSnapshot, WatchState
from kataview.setup.demo_session import DemoSetupSession
from kataview.sources.base import SourceInfo
from kataview.sources.live import DemoSource
from kataview.sources.static import StaticSource
from kataview.ui.app import make_app
from kataview.ui.screens.setup import SetupScreen
from kataview.ui.screens.setup_steps import NodePickScreen, PreflightScreen, StepScreen


async def until(pilot, predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate(pilot.app.screen):
        assert time.monotonic() < deadline, f"stuck on {pilot.app.screen!r}: {progress(pilot.app)!r}"
        await pilot.pause(0.05)
    await pilot.pause()


def progress(app) -> str:
    for screen in app.screen_stack:
        if isinstance(screen, SetupScreen):
            return str(screen.query_one("#setup-progress").render())
    return ""


async def test_the_node_list_waits_for_the_first_full_list(ui_home):
    syncing = WatchState(phase="syncing", synced=2, total=5, listing={"pods": 120})
    source = StaticSource(ClusterSnapshot(), syncing, SourceInfo("kind-kata", "https://127.0.0.1:6443"))
    app = make_app(frozen_settings(), source)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(SetupScreen(DemoSetupSession(True)))
        await until(pilot, lambda s: "listing the cluster's nodes" in progress(pilot.app))
        await pilot.pause(0.5)
        assert isinstance(app.screen, SetupScreen), "a node list was shown before the nodes were listed"
        assert "syncing 2/5 · pods 120" in progress(app)
        source.push(classic_snapshot())
        await until(pilot, lambda s: isinstance(s, NodePickScreen))
        assert [node.name for node in app.screen.nodes] == sorted(classic_snapshot().nodes)


async def test_setup_demo_read_only_connects_to_the_demo_and_plans_the_first_step(ui_home):
    settings = frozen_settings(demo=True, read_only=True)
    app = make_app(settings, DemoSource(settings), start="setup")
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda s: isinstance(s, NodePickScreen))
        assert "k8s-worker" in [node.name for node in app.screen.nodes]
        await pilot.press("down", "enter")  # k8s-worker: containerd 2.0.1, runc only
        await until(pilot, lambda s: isinstance(s, PreflightScreen))
        assert app.screen.error == "" and app.screen.report.config_path == "/etc/containerd/config.toml"
        await pilot.press("enter")
        await until(pilot, lambda s: isinstance(s, StepScreen))
        plan = app.screen.plan
        assert plan.kind == "diff" and "runtimes.kata]" in plan.text, plan
        assert app.screen.query_one("#apply").disabled  # read-only: plan only
