"""The first list fills the store as it arrives (issue 17.1), by watch-list where the server
serves it and page by page otherwise; the fallback when the server refuses the watch-list;
a relist keeps the old store until it is complete. Against the API double over HTTPS."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.informer import Backoff, Informer, resource_paths

FAST = {"watch_timeout": (30, 30), "backoff": Backoff(initial=0.05, cap=0.2)}
PODS = 20


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "worker-1", "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": "Running"}}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)


@pytest.fixture
async def api():
    async with ApiServerDouble([pod(f"p{i:03}") for i in range(PODS)]) as server:
        yield server


@pytest.fixture
async def transport(api, tmp_path):
    path = api.write_kubeconfig(tmp_path / "kubeconfig")
    async with await connect(ConnectionSettings(str(path), None)) as conn:
        yield conn.transport


class Seen:
    """What a consumer saw at each change: (store size, listing, expected, synced)."""

    def __init__(self) -> None:
        self.states: list[tuple[int, int, int | None, bool]] = []

    def __call__(self, informer: Informer) -> None:
        self.states.append((len(informer.freeze()), informer.listing, informer.expected,
                            informer.synced))


@asynccontextmanager
async def running(informer: Informer):
    task = asyncio.create_task(informer.run())
    try:
        yield informer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(condition, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def informer_for(transport, seen: Seen, **options) -> Informer:
    return Informer("pods", resource_paths("pods"), transport, on_change=seen,
                    **{**FAST, **options})


def requests(api, verb: str) -> list:
    return [r for r in api.requests if r.resource == "pods" and r.verb == verb]


async def test_watch_list_fills_the_store_event_by_event(api, transport):
    api.faults.slow_initial_events("pods", 0.05, every=4)
    seen = Seen()
    async with running(informer_for(transport, seen, watch_list=True)) as informer:
        await until(lambda: informer.synced, what="synced")
        api.store.apply(pod("after"))  # the same stream goes on as the watch
        await until(lambda: len(informer.store) == PODS + 1, what="the watch after the list")
    partial = [size for size, _listing, _expected, synced in seen.states if not synced and size]
    assert partial and min(partial) < PODS, partial  # pods were visible before the end
    assert partial == sorted(partial) and max(partial) <= PODS
    assert all(listing == size for size, listing, _e, synced in seen.states if not synced)
    assert all(expected is None for *_rest, expected, _synced in seen.states)  # no estimate
    assert not requests(api, "list")  # no LIST at all: one watch did both
    [watch] = requests(api, "watch")
    assert watch.query["sendInitialEvents"] == "true"
    assert watch.query["resourceVersionMatch"] == "NotOlderThan"
    assert watch.query["allowWatchBookmarks"] == "true" and "resourceVersion" not in watch.query
    assert informer.watch_list_refused is None and informer.status == "live"


async def test_paginated_first_list_fills_page_by_page_with_an_estimate(api, transport):
    api.faults.delay("pods", 0.05)
    seen = Seen()
    async with running(informer_for(transport, seen, page_size=6)) as informer:
        await until(lambda: informer.synced, what="synced")
    partial = [(size, expected) for size, _l, expected, synced in seen.states if not synced and size]
    assert [size for size, _ in partial] == [6, 12, 18], partial
    assert all(expected == PODS for _, expected in partial)  # remainingItemCount + received
    assert informer.expected is None and len(informer.store) == PODS


async def test_a_refused_watch_list_falls_back_to_pages_and_is_not_asked_again(api, transport):
    api.watch_list = False  # kube-apiserver with --feature-gates=WatchList=false
    seen = Seen()
    async with running(informer_for(transport, seen, watch_list=True)) as informer:
        await until(lambda: informer.synced, what="synced by the paginated list")
        assert "HTTP 422" in informer.watch_list_refused
        assert "WatchList feature gate" in informer.watch_list_refused
        api.faults.gone_next("pods")  # a relist: by pages straight away
        await until(lambda: informer.lists == 2, what="the relist")
    assert len(requests(api, "list")) == 2
    refused = [r for r in requests(api, "watch") if "sendInitialEvents" in r.query]
    assert [r.status for r in refused] == [422]
    assert informer.failures == 0 and len(informer.store) == PODS


async def test_a_watch_list_ended_before_its_end_bookmark_falls_back(api, transport):
    """A server that ignores sendInitialEvents never sends the end bookmark."""
    api.faults.watch_body("pods", "empty")
    seen = Seen()
    async with running(informer_for(transport, seen, watch_list=True)) as informer:
        await until(lambda: informer.synced, what="synced by the paginated list")
    assert "before its initial-events-end bookmark" in informer.watch_list_refused
    assert len(informer.store) == PODS


async def test_a_relist_by_watch_list_keeps_the_old_store_until_complete(api, transport):
    seen = Seen()
    async with running(informer_for(transport, seen, watch_list=True)) as informer:
        await until(lambda: informer.synced, what="synced")
        before = len(seen.states)
        api.faults.slow_initial_events("pods", 0.05, every=4)
        api.faults.gone_next("pods")  # the re-watch after the drop gets 410: a relist
        api.faults.drop_watches()
        await until(lambda: informer.lists == 2, what="the relist")
    after = seen.states[before:]
    assert after and all(size >= PODS for size, *_ in after), after  # never a half store
    assert all(synced for *_, synced in after)
