"""Issue 16.2: the palette (ctrl+p) finds its own entries. Textual shows only what a provider's
`search` yields, so `pod kata`, `node kata` and `ctx` (words naming the area and a part of the
name) must be matched against the whole prompt; contexts and `:` commands are entries too."""

from __future__ import annotations

import pytest
from textual.command import CommandList

from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.sources.live import LiveSource
from kataview.sources.settings import Settings
from kataview.sources.static import StaticSource, classic_demo_snapshot
from kataview.ui.app import make_app
from kataview.ui.screens.main import MainScreen
from kataview.ui.screens.node_detail import NodeDetailScreen
from kataview.ui.screens.pod_detail import PodDetailScreen
from test_ui_command_bar import two_cluster_kubeconfig, wait_live
from test_ui_pilot import started, until
from ui_fixtures import FROZEN_NOW, frozen_settings


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


async def palette_hits(pilot, query: str) -> list[str]:
    await pilot.press("ctrl+p", *query)
    await pilot.pause(0.6)
    found = pilot.app.screen.query_one(CommandList)
    prompts = [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]
    return [p for p in prompts if "No matches found" not in p]


def demo_app():
    return make_app(frozen_settings(), StaticSource(classic_demo_snapshot(FROZEN_NOW)))


async def test_pod_kata_finds_the_pods_with_kata_in_their_name_and_opens_one():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        hits = await palette_hits(pilot, "pod kata")
        named = sorted(f"{p.namespace}/{p.name}" for p in app.view.snapshot.pods.values() if "kata" in p.name)
        assert len(hits) == len(named) > 0
        assert all(hit.startswith("pod: open") and "kata" in hit for hit in hits)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        assert "kata" in app.screen.pod.name


async def test_node_kata_finds_the_kata_node():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        hits = await palette_hits(pilot, "node kata")
        assert hits and hits[0].startswith("node: open k8s-worker-kata")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, NodeDetailScreen))
        assert app.screen.key == "k8s-worker-kata"


async def test_colon_commands_are_palette_entries():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(pilot)
        hits = await palette_hits(pilot, "ctx")
        assert any(hit.startswith("command: :ctx") for hit in hits)
        await pilot.press("escape")
        hits = await palette_hits(pilot, "command nodes")
        assert hits and hits[0].startswith("command: :nodes")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, MainScreen) and app.focused.id == "nodes"


async def test_ctx_lists_the_kubeconfig_contexts_and_switches(tmp_path):
    objects = classic_objects()
    with serve_in_thread(objects) as first, serve_in_thread(objects[:5]) as second:
        kubeconfig = two_cluster_kubeconfig(tmp_path / "kubeconfig", first, second)
        settings = Settings(kubeconfig=kubeconfig, read_only=True)
        app = make_app(settings, LiveSource(settings, kubeconfig))
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_live(pilot, app, sum(1 for obj in objects if obj["kind"] == "Pod"))
            hits = await palette_hits(pilot, "ctx second")
            assert hits and hits[0].startswith("context: switch to second")
            await pilot.press("enter")
            await until(pilot, lambda: app.source.info.context == "second")
            await wait_live(pilot, app, sum(1 for obj in objects[:5] if obj["kind"] == "Pod"))
