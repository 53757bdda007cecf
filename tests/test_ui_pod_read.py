"""y, d and l on a pod (issue 16.3), driven with Pilot on the demo scenario: the YAML as the
reader serves it, describe from model.pod_describe, the container log through the reader
(container picker, follow, previous, wrap, the bounded buffer, the server's refusals), and
kataview's own log on L."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import pytest

from kataview.demo.pod_reads import ObjectsPodReader
from kataview.demo.scenario import classic_objects
from kataview.model.pod_containers import DEFAULT_CONTAINER_ANNOTATION
from kataview.model.redaction import register_secret
from kataview.sources.base import SourceInfo
from kataview.sources.settings import Settings
from kataview.sources.static import StaticSource, snapshot_from_objects
from kataview.ui.app import make_app
from kataview.ui.screens.log import LogScreen
from kataview.ui.screens.main import MainScreen
from kataview.ui.screens.pod_describe import PodDescribeScreen
from kataview.ui.screens.pod_detail import PodDetailScreen
from kataview.ui.screens.pod_logs import MAX_LINES, ContainerPicker, PodLogsScreen
from kataview.ui.screens.pod_yaml import PodYamlScreen
from kataview.ui.widgets.text_pager import TextPager
from kataview.ui.widgets.virtual_table import VirtualTable

NOW = datetime(2025, 3, 14, 12, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def isolated_state(ui_home):
    return ui_home


class RecordingReader(ObjectsPodReader):
    """The demo's reader, noting what was asked (the reader is not what these tests test)."""

    def __init__(self, objects, **options) -> None:
        super().__init__(objects, **options)
        self.asked: list[tuple] = []

    async def pod_object(self, namespace, name):
        self.asked.append(("get", namespace, name))
        return await super().pod_object(namespace, name)

    async def pod_log(self, namespace, name, request):
        self.asked.append(("log", namespace, name, request))
        async for line in super().pod_log(namespace, name, request):
            yield line


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RefusingReader:
    """A server that answers every read with one HTTP error (RBAC's 403, say)."""

    def __init__(self, status: int, message: str) -> None:
        self.error = Refusal(status, message)

    async def pod_object(self, namespace, name):
        raise self.error

    async def pod_log(self, namespace, name, request):
        raise self.error
        yield  # an async generator


def demo_app(reader="demo", objects=None, **settings):
    objects = objects if objects is not None else classic_objects(NOW)
    if reader == "demo":
        reader = RecordingReader(objects, follow_interval=0.05, now=NOW)
    source = StaticSource(snapshot_from_objects(objects, NOW), info=SourceInfo("kind-kataview-demo",
                                                                               "https://127.0.0.1:6443"),
                          reader=reader)
    return make_app(Settings(frozen_now=NOW, theme=None, **settings), source)


async def until(pilot, condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)
    await pilot.pause()


def pod_object(app, prefix: str, restarted: bool = False) -> dict:
    """The pod as the reader serves it (its object: changing it changes what is served)."""
    pods = app.source.reader.pods.values() if hasattr(app.source.reader, "pods") else \
        [o for o in classic_objects(NOW) if o.get("kind") == "Pod"]
    for obj in pods:
        if obj["metadata"]["name"].startswith(prefix):
            if not restarted or any(s.get("restartCount") for s in obj["status"].get("containerStatuses") or ()):
                return obj
    raise AssertionError(prefix)


async def on_pod(pilot, prefix: str, restarted: bool = False) -> dict:
    """The dashboard, its pods pane's cursor on the first pod named prefix..."""
    app = pilot.app
    await until(pilot, lambda: app.view is not None and isinstance(app.screen, MainScreen))
    obj = pod_object(app, prefix, restarted)
    assert app.screen.query_one("#pods", VirtualTable).move_cursor_to(obj["metadata"]["uid"])
    return obj


def pager(app) -> TextPager:
    return app.screen.query_one(TextPager)


def texts(app) -> list[str]:
    return [line.text for line in pager(app).lines]


def title(app) -> str:
    return str(app.screen.query_one("#title").render())


def status(app) -> str:
    return str(app.screen.query_one("#pager-status").render())


async def opened(pilot, key: str, screen_type, filled=lambda app: bool(texts(app))):
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, screen_type) and filled(pilot.app))
    return pilot.app.screen


# ---- y -------------------------------------------------------------------------------------

async def test_y_shows_the_yaml_the_reader_serves_not_the_snapshot():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        obj = await on_pod(pilot, "nginx-trusted")
        # the server's pod changed since the snapshot: y shows the server's
        obj["metadata"]["annotations"] = {"example.org/served": "after-the-snapshot"}
        obj["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Update"}]
        await opened(pilot, "y", PodYamlScreen)
        lines = texts(app)
        assert lines[:3] == ["kind: Pod", "apiVersion: v1", "metadata:"]
        assert f"  name: {obj['metadata']['name']}" in lines
        assert "    example.org/served: after-the-snapshot" in lines
        assert "    terminationMessagePath: /dev/termination-log" in lines  # not in kataview's model
        assert not any("managedFields" in line or "&id" in line for line in lines)  # as kubectl; no aliases
        assert ("get", obj["metadata"]["namespace"], obj["metadata"]["name"]) in app.source.reader.asked
        key_line = next(line for line in pager(app).lines if line.text == "kind: Pod")
        assert [name for _, _, name in key_line.spans] == ["key", "string"]  # coloured
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_search_with_slash_n_and_shift_n():
    app = demo_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await on_pod(pilot, "nginx-trusted")
        await opened(pilot, "y", PodYamlScreen)
        total = sum(line.lower().count("image") for line in texts(app))
        await pilot.press("slash", *"IMAGE", "enter")
        assert pager(app).match_position() == (1, total) and total >= 4
        assert f"/image: 1 of {total}" in status(app)
        first = pager(app).current
        await pilot.press("n")
        assert pager(app).match_position() == (2, total)
        await pilot.press("N", "N")  # back past the first: wraps to the last
        assert pager(app).match_position() == (total, total)
        await pilot.press("n")
        assert pager(app).current == first
        line, _ = first
        assert pager(app).scroll_y <= line < pager(app).scroll_y + pager(app).size.height
        await pilot.press("slash", *"zzz-nowhere", "enter")
        assert "no match" in status(app)
        await pilot.press("slash", "escape")  # Esc in the field drops the search, stays here
        assert isinstance(app.screen, PodYamlScreen) and pager(app).term == ""
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_yaml_is_terminal_safe_and_redacted():
    register_secret("s3cr3t-t0ken-in-an-annotation")
    objects = classic_objects(NOW)
    app = demo_app(objects=objects)
    async with app.run_test(size=(160, 48)) as pilot:
        obj = await on_pod(pilot, "gvisor-sandbox")
        obj["metadata"]["annotations"] = {"note": "\x1b]0;pwned\x07 \u202eevil",
                                          "copied": "s3cr3t-t0ken-in-an-annotation"}
        await opened(pilot, "y", PodYamlScreen)
        shown = "\n".join(texts(app))
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
        assert "s3cr3t-t0ken" not in shown and "<redacted>" in shown


async def test_y_d_l_from_the_pod_detail_screen():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        obj = await on_pod(pilot, "nginx-kata-clh")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        for key, screen_type in (("y", PodYamlScreen), ("d", PodDescribeScreen), ("l", PodLogsScreen)):
            await opened(pilot, key, screen_type)
            assert obj["metadata"]["name"] in str(app.screen.query_one("#title").render())
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))


async def test_keys_off_the_pods_pane_say_what_they_need():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await on_pod(pilot, "nginx-trusted")
        said = []
        app.screen.notify = lambda message, **options: said.append(message)
        await pilot.press("1", "y")  # the nodes pane
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any("pick one in the Pods pane" in message for message in said)


# ---- d -------------------------------------------------------------------------------------

async def test_d_explains_the_restarted_pod():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await on_pod(pilot, "nginx-kata-qemu", restarted=True)
        await opened(pilot, "d", PodDescribeScreen)
        shown = "\n".join(texts(app))
        assert "Restart Count:   3" in shown and "Restart Reason:  Error" in shown
        assert "Last State: Terminated" in shown and "Exit Code:  137" in shown
        headings = [line.text for line in pager(app).lines if line.style == "heading"]
        assert headings[:3] == ["Pod", "Conditions", "Containers"] and headings[3].startswith("Events")


async def test_d_lists_every_event_of_the_stuck_pod():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await on_pod(pilot, "nginx-kata-fc")
        await opened(pilot, "d", PodDescribeScreen)
        shown = "\n".join(texts(app))
        assert "Events (2)" in shown and "Scheduled" in shown and "FailedCreatePodSandBox" in shown
        warnings = [line for line in pager(app).lines if line.style == "warning"]
        assert len(warnings) == 1 and "FailedCreatePodSandBox" in warnings[0].text


# ---- l -------------------------------------------------------------------------------------

async def test_l_follows_the_default_container_and_c_picks_another():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        obj = await on_pod(pilot, "nginx-trusted")  # curl and nginx, no annotation: the first
        screen = await opened(pilot, "l", PodLogsScreen)
        assert screen.container == "curl" and "sidecar: probing" in texts(app)[0]
        before = len(texts(app))
        await until(pilot, lambda: len(texts(app)) >= before + 2)  # followed: new lines arrive
        assert "f follow on, streaming" in status(app) and "container curl (1 of 2, c picks)" in title(app)
        request = app.source.reader.asked[-1][3]
        assert (request.container, request.follow, request.tail_lines) == ("curl", True, MAX_LINES)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ContainerPicker))
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, PodLogsScreen) and texts(app)
                    and texts(app)[0].startswith("/docker-entrypoint.sh"))
        assert screen.container == "nginx" and "container nginx (2 of 2" in title(app)
        assert obj["metadata"]["name"] in str(app.screen.query_one("#title").render())


async def test_l_starts_on_the_annotated_default_container():
    objects = classic_objects(NOW)
    app = demo_app(objects=objects)
    async with app.run_test(size=(160, 48)) as pilot:
        obj = await on_pod(pilot, "nginx-untrusted")
        obj["metadata"]["annotations"] = {DEFAULT_CONTAINER_ANNOTATION: "nginx"}
        screen = await opened(pilot, "l", PodLogsScreen)
        assert screen.container == "nginx" and texts(app)[0].startswith("/docker-entrypoint.sh")


async def test_f_stops_following_and_p_shows_the_previous_run_or_the_servers_400():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        obj = await on_pod(pilot, "nginx-kata-qemu", restarted=True)
        name = obj["metadata"]["name"]
        await opened(pilot, "l", PodLogsScreen)
        await pilot.press("f")
        await pilot.pause(0.2)
        stopped = len(texts(app))
        await pilot.pause(0.3)
        assert len(texts(app)) == stopped and "f follow off" in status(app)
        await pilot.press("p")  # curl restarted with reason Error: its previous run says why
        await until(pilot, lambda: any("exiting with status 1" in line for line in texts(app)))
        assert "p previous on" in status(app) and "previous run" in title(app)
        assert app.source.reader.asked[-1][3].previous
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ContainerPicker))
        await pilot.press("down", "enter")  # nginx never terminated: the kubelet's 400
        expected = f'previous terminated container "nginx" in pod "{name}" not found'
        await until(pilot, lambda: isinstance(app.screen, PodLogsScreen) and any(expected in t for t in texts(app)))
        assert pager(app).lines[-1].style == "error"


async def test_w_wraps_long_lines_at_the_width():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await on_pod(pilot, "nginx-trusted")
        await opened(pilot, "l", PodLogsScreen)
        await pilot.press("f")  # a still log: rows are countable
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ContainerPicker))
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, PodLogsScreen) and len(texts(app)) > 10)
        view = pager(app)
        rows_unwrapped = view.virtual_size.height
        assert rows_unwrapped == len(view.lines) and view.virtual_size.width > view.size.width
        await pilot.press("w")
        assert view.virtual_size.height > rows_unwrapped and "w wrap on" in status(app)
        await pilot.press("w")
        assert view.virtual_size.height == rows_unwrapped


class FloodReader(ObjectsPodReader):
    """A container that wrote more than the buffer holds, with controls in its lines."""

    async def pod_log(self, namespace, name, request):
        for index in range(MAX_LINES + 250):
            yield f"line {index} \x1b[31mred\x1b[0m"
            if index % 1000 == 0:
                await asyncio.sleep(0)


async def test_the_buffer_keeps_the_last_lines_and_says_how_many_went():
    objects = classic_objects(NOW)
    app = demo_app(reader=FloodReader(objects), objects=objects)
    async with app.run_test(size=(160, 48)) as pilot:
        await on_pod(pilot, "gvisor-sandbox")
        await opened(pilot, "l", PodLogsScreen, lambda app: "line 10249" in "".join(texts(app)[-1:]))
        lines = texts(app)
        assert len(lines) == MAX_LINES and lines[0].startswith("line 250 ")
        assert "250 earlier lines dropped (keeps the last 10,000)" in status(app)
        assert "\x1b" not in lines[0] and "␛[31mred" in lines[0]


@pytest.mark.parametrize("status_code, message", [
    (403, 'pods "x" is forbidden: User "viewer" cannot get resource "pods/log" in API group ""'),
    (404, 'pods "x" not found'),
])
async def test_the_servers_refusal_is_shown_in_place(status_code, message):
    app = demo_app(reader=RefusingReader(status_code, message))
    async with app.run_test(size=(160, 48)) as pilot:
        await on_pod(pilot, "nginx-trusted")
        for key, screen_type in (("l", PodLogsScreen), ("y", PodYamlScreen), ("d", PodDescribeScreen)):
            await opened(pilot, key, screen_type)
            assert pager(app).lines[-1].style == "error"
            assert f"HTTP {status_code}: {message}" in texts(app)[-1]
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert any(f"HTTP {status_code}" in text for _, _, text in app.log_entries)


async def test_without_a_reader_the_screens_say_so():
    app = demo_app(reader=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await on_pod(pilot, "nginx-trusted")
        await opened(pilot, "l", PodLogsScreen)
        assert "not connected" in texts(app)[0]


async def test_shift_l_opens_kataviews_own_log():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await on_pod(pilot, "nginx-trusted")
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LogScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        shown = {active.binding.description for active in app.screen.active_bindings.values()
                 if active.binding.show}
        assert "kataview log" in shown  # in the footer
        await pilot.press("question_mark")  # y, d, l in the help of the main screen
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        text = str(app.screen.query_one("#help-text").render())
        assert all(binding_id in text for binding_id in ("pod-yaml", "pod-describe", "pod-logs", "log"))
        await pilot.press("escape")
        await pilot.press("enter")  # a pod's detail shows them in its footer
        await until(pilot, lambda: isinstance(app.screen, PodDetailScreen))
        shown = {active.binding.description for active in app.screen.active_bindings.values()
                 if active.binding.show}
        assert {"YAML", "Describe", "Logs"} <= shown


async def test_help_on_the_logs_screen_lists_search_and_the_log_keys():
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await on_pod(pilot, "nginx-trusted")
        await opened(pilot, "l", PodLogsScreen)
        await pilot.press("question_mark")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        text = str(app.screen.query_one("#help-text").render())
        for binding_id in ("pager-search", "pager-next", "pager-previous", "logs-container", "logs-follow",
                           "logs-previous", "logs-wrap", "back"):
            assert binding_id in text
