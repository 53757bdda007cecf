"""What the header and the log say about the connection: a dashboard that never connected
says it cannot reach the server and when it retries (not "stale since" over "0 pods"); RBAC
denials are a state on the first line; an outage is a few log lines, not one per attempt."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.kube.cluster import ClusterWatcher
from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.informer import Backoff
from kataview.model.records import ClusterSnapshot, WatchState
from kataview.sources.logged import LoggedSource
from kataview.sources.static import StaticSource
from kataview.ui.app import make_app

from test_kube_informer import until
from test_ui_pilot import started
from test_ui_pilot import until as ui_until
from ui_fixtures import FROZEN_NOW, classic_source, frozen_settings


@pytest.fixture(autouse=True)
def isolated_env(ui_home, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)


def closed_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_watcher_that_never_connected_says_why_and_when_it_retries(tmp_path):
    async with ApiServerDouble([]) as api:
        path = api.write_kubeconfig(tmp_path / "kubeconfig")
    text = path.read_text().replace(api.url, f"https://127.0.0.1:{closed_port()}")
    path.write_text(text)
    async with await connect(ConnectionSettings(str(path), None)) as connection:
        watcher = ClusterWatcher(connection, informer_options={"backoff": Backoff(initial=4, cap=8)})
        async with watcher:
            await until(lambda: watcher.state().phase == "stale", what="failures")
            state = watcher.state()
    assert state.never_connected and state.retry_at is not None
    assert all(error.startswith("cannot reach https://127.0.0.1:") for error in state.errors.values())
    from kataview.ui.widgets.cluster_header import watch_text
    text, _style = watch_text(state, state.retry_at - timedelta(seconds=2.5))
    assert text.startswith("✕ cannot reach https://127.0.0.1:") and "Connection refused" in text
    assert text.endswith(", retrying in 3 s")


def header_text(app) -> str:
    return str(app.screen.query_one("#header").render())


async def test_the_header_of_a_dashboard_that_never_connected():
    state = WatchState(phase="stale", synced=0, total=5, stale_since=FROZEN_NOW,
                       errors={"nodes": "cannot reach https://10.0.0.1:6443: Connection refused"},
                       retry_at=FROZEN_NOW + timedelta(seconds=7))
    source = StaticSource(ClusterSnapshot(), state)
    app = make_app(frozen_settings(), source)
    async with app.run_test(size=(160, 20)) as pilot:
        await ui_until(pilot, lambda: app.view is not None)
        text = header_text(app)
        panes_say = " ".join(app.screen.query_one("#pods").render_line(y).text for y in range(4))
    assert "✕ cannot reach https://10.0.0.1:6443: Connection refused, retrying in 7 s" in text
    assert "stale since" not in text and "0 pods" not in text
    assert "nothing has been read from the cluster yet" in text
    # the panes do not claim "no findings" or "no pods" either
    assert "nothing read from the cluster yet" in panes_say


async def test_rbac_denials_are_a_state_on_the_first_line():
    source = classic_source()
    app = make_app(frozen_settings(), source)
    async with app.run_test(size=(120, 20)) as pilot:
        await started(pilot)
        snapshot = app.view.snapshot
        denied = ClusterSnapshot(**{**{f: getattr(snapshot, f) for f in snapshot.__slots__},
                                    "unreadable": {"events": "forbidden: ...",
                                                   "networkpolicies": "forbidden: ..."}})
        source.push(denied, WatchState(phase="live", synced=5, total=5,
                                       errors={"events": "forbidden: ...",
                                               "networkpolicies": "forbidden: ..."},
                                       denied=("events", "networkpolicies")))
        await ui_until(pilot, lambda: app.view.state.denied)
        first, second = header_text(app).splitlines()[:2]
    assert "● live  ⚠ 2 kinds denied: events, networkpolicies" in first
    assert "unreadable" not in second


def test_an_outage_is_logged_once_per_state_change(caplog):
    """The errors of each resource change one after the other during an outage; the state
    line says so once."""
    caplog.set_level(logging.INFO, logger="kataview.watch")
    logged = LoggedSource(None)
    errors: dict[str, str] = {}
    for kind in ("nodes", "pods", "events", "runtimeclasses", "networkpolicies") * 3:
        errors = {**errors, kind: f"HTTP 500 ({len(errors)})"}
        logged._note(WatchState(phase="stale", synced=5, total=5, stale_since=FROZEN_NOW,
                                errors=errors))
    assert len(caplog.records) == 1


async def test_undecodable_objects_are_counted_next_to_what_they_miss():
    source = classic_source()
    app = make_app(frozen_settings(), source)
    async with app.run_test(size=(160, 20)) as pilot:
        await started(pilot)
        snapshot = app.view.snapshot
        spoiled = ClusterSnapshot(**{**{f: getattr(snapshot, f) for f in snapshot.__slots__},
                                     "skipped": {"nodes": 2, "pods": 1}})
        source.push(spoiled)
        await ui_until(pilot, lambda: app.view.snapshot.skipped)
        second = header_text(app).splitlines()[1]
    assert f"{len(snapshot.nodes)} nodes (+2 undecodable) · " in second
    assert "pods (+1 undecodable): " in second
