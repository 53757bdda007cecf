"""Informers against the API server double over real HTTPS: paginated lists, watches,
410 relists, dropped watches, 401/403/429/500 handling and the runtimeclasses fallback."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.informer import (SANDBOX_FAILURE_SELECTOR, Backoff, Informer,
                                    field_selector_for, resource_paths)

FAST = {"watch_timeout": (30, 30), "backoff": Backoff(initial=0.05, cap=0.2),
        "forbidden_retry": 0.3}


def pod(name: str, namespace: str = "default", **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"nodeName": "worker-1", "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": "Running"}}


def event(name: str, reason: str) -> dict:
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "default"}, "reason": reason,
            "type": "Warning", "message": "m", "involvedObject": {"kind": "Pod", "name": "p"}}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)


@pytest.fixture
async def api():
    async with ApiServerDouble([pod(f"p{i:04}") for i in range(1234)]) as server:
        yield server


@pytest.fixture
async def transport(api, tmp_path):
    path = api.write_kubeconfig(tmp_path / "kubeconfig")
    async with await connect(ConnectionSettings(str(path), None)) as conn:
        yield conn.transport


async def until(condition, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running(informer: Informer):
    task = asyncio.create_task(informer.run())
    try:
        yield informer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def requests_for(api, resource: str, verb: str) -> list:
    return [r for r in api.requests if r.resource == resource and r.verb == verb]


def pod_informer(transport, **options) -> Informer:
    return Informer("pods", "/api/v1/pods", transport, **{**FAST, **options})


async def test_list_is_paginated_with_limit_500_and_continue(api, transport):
    items, version = await pod_informer(transport).list_all()
    assert len(items) == 1234 and version
    lists = requests_for(api, "pods", "list")
    assert [r.query.get("limit") for r in lists] == ["500", "500", "500"]
    assert "continue" not in lists[0].query
    assert lists[1].query["continue"] and lists[2].query["continue"]
    assert lists[1].query["continue"] != lists[2].query["continue"]


async def test_watch_follows_adds_changes_and_deletes(api, transport):
    informer = pod_informer(transport, watch_timeout=(5, 9))
    async with running(informer):
        await until(lambda: informer.status == "live" and informer.watches, what="live")
        assert len(informer.store) == 1234
        watch = requests_for(api, "pods", "watch")[0]
        assert watch.query["allowWatchBookmarks"] == "true"
        assert watch.query["resourceVersion"] == str(api.store.resource_version)
        assert 5 <= int(watch.query["timeoutSeconds"]) <= 9
        added = api.store.apply(pod("newcomer"))
        uid = added["metadata"]["uid"]
        await until(lambda: uid in informer.store, what="ADDED")
        api.store.apply(pod("newcomer", tier="web"))
        await until(lambda: informer.store[uid].labels == {"tier": "web"}, what="MODIFIED")
        api.store.delete("Pod", "default", "newcomer")
        await until(lambda: uid not in informer.store, what="DELETED")
        assert informer.resource_version == str(api.store.resource_version)
    assert informer.lists == 1 and len(requests_for(api, "pods", "list")) == 3


async def test_clean_watch_timeout_rewatches_from_last_version(api, transport):
    informer = pod_informer(transport, watch_timeout=(1, 1))
    async with running(informer):
        await until(lambda: informer.watches >= 1, what="first watch")
        api.store.apply(pod("during-first-watch"))
        await until(lambda: informer.watches >= 2, timeout=5, what="re-watch")
    watches = requests_for(api, "pods", "watch")
    assert int(watches[1].query["resourceVersion"]) >= int(watches[0].query["resourceVersion"]) + 1
    assert informer.lists == 1  # no relist after a clean timeout


async def test_dropped_watch_is_recovered_from_last_version(api, transport):
    informer = pod_informer(transport)
    async with running(informer):
        await until(lambda: informer.watches == 1, what="watch")
        version = informer.resource_version
        api.faults.drop_watches()
        added = api.store.apply(pod("while-disconnected"))
        await until(lambda: added["metadata"]["uid"] in informer.store, what="recovery")
        assert informer.status == "live" and informer.watches == 2
    assert informer.lists == 1  # re-watched, not re-listed
    assert requests_for(api, "pods", "watch")[1].query["resourceVersion"] == version


async def test_gone_error_event_relists(api, transport):
    informer = pod_informer(transport)
    async with running(informer):
        await until(lambda: informer.watches == 1, what="watch")
        api.faults.gone_next("pods")
        api.faults.drop_watches()
        await until(lambda: informer.lists == 2 and informer.watches >= 2, what="relist")
        assert len(informer.store) == 1234 and informer.status == "live"


async def test_compacted_history_relists_and_keeps_every_change(api, transport):
    informer = pod_informer(transport)
    async with running(informer):
        await until(lambda: informer.watches == 1, what="watch")
        before = informer.freeze()
        api.faults.drop_watches()
        api.store.delete("Pod", "default", "p0000")
        api.faults.compact()  # the informer's version is now too old: 410 on re-watch
        await until(lambda: informer.lists == 2, what="relist")
        assert len(informer.store) == 1233
        assert len(before) == 1234  # the store handed out before was not touched


async def test_expired_continue_token_restarts_the_list(api, transport):
    api.faults.delay("pods", 0.2)
    informer = pod_informer(transport)
    async with running(informer):
        await until(lambda: any(r.status == 200 for r in requests_for(api, "pods", "list")),
                    what="first page")
        api.store.apply(pod("late"))
        api.faults.compact()  # the continue token of page 2 now points into lost history
        api.faults.delay("pods", 0)
        await until(lambda: informer.synced, what="sync")
    statuses = [r.status for r in requests_for(api, "pods", "list")]
    assert statuses[:2] == [200, 410] and statuses[2:] == [200, 200, 200]
    assert len(informer.store) == 1235 and informer.lists == 1


async def test_throttled_list_honours_retry_after(api, transport):
    api.faults.throttle("pods", retry_after=1)
    informer = pod_informer(transport)
    async with running(informer):
        await until(lambda: informer.synced, what="sync")
    first, second = requests_for(api, "pods", "list")[:2]
    assert first.status == 429
    assert second.at - first.at >= 0.95
    assert informer.failures == 0 and informer.error is None


async def test_server_errors_back_off_exponentially(api, transport):
    api.faults.error("pods", status=500, times=4)
    informer = pod_informer(transport, backoff=Backoff(initial=0.1, cap=1.0))
    async with running(informer):
        await until(lambda: informer.failures >= 1, what="failure")
        assert informer.status == "reconnecting" and informer.error_since is not None
        await until(lambda: informer.synced, timeout=5, what="sync")
        assert informer.status == "live" and informer.error_since is None
    times = [r.at for r in requests_for(api, "pods", "list")[:5]]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert 0.05 <= gaps[0] < gaps[2] and gaps[2] >= 0.2 and gaps[3] >= 0.4


async def test_unauthorized_keeps_retrying_and_reports(api, tmp_path):
    path = api.write_kubeconfig(tmp_path / "bad", user_token="wrong")
    async with await connect(ConnectionSettings(str(path), None)) as conn:
        informer = pod_informer(conn.transport)
        async with running(informer):
            await until(lambda: informer.failures >= 2, what="failures")
            assert informer.status == "reconnecting" and not informer.synced
            assert "Unauthorized" in informer.error


async def test_forbidden_retries_slowly_then_recovers(api, transport):
    api.rbac.deny("pods", "list")
    informer = pod_informer(transport, forbidden_retry=0.3)
    async with running(informer):
        await until(lambda: informer.status == "forbidden", what="forbidden")
        assert informer.error.startswith("forbidden: ")
        assert 'cannot list resource "pods"' in informer.error
        await asyncio.sleep(0.5)
        assert len(requests_for(api, "pods", "list")) <= 3  # slow retry, not backoff
        api.rbac.allow_all()
        await until(lambda: informer.status == "live", timeout=3, what="recovery")
        assert len(informer.store) == 1234 and informer.error is None


async def test_runtimeclasses_fall_back_to_v1beta1(api, transport):
    api.store.apply({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
                     "metadata": {"name": "kata"}, "handler": "kata"})
    api.faults.error("runtimeclasses", status=404, times=1)  # as if v1 were not served
    informer = Informer("runtimeclasses", resource_paths("runtimeclasses"), transport, **FAST)
    async with running(informer):
        await until(lambda: informer.watches, what="watch")
    assert informer.path == "/apis/node.k8s.io/v1beta1/runtimeclasses"
    assert informer.store["kata"].handler == "kata"
    assert requests_for(api, "runtimeclasses", "watch")[0].path == informer.path


async def test_events_are_filtered_to_sandbox_failures(api, transport):
    api.store.apply(event("stuck.1", "FailedCreatePodSandBox"))
    api.store.apply(event("ok.1", "Scheduled"))
    informer = Informer("events", resource_paths("events"), transport,
                        field_selector_for("events"), **FAST)
    async with running(informer):
        await until(lambda: informer.watches, what="watch")
        api.store.apply(event("stuck.2", "FailedCreatePodSandBox"))
        api.store.apply(event("ok.2", "Pulled"))
        await until(lambda: len(informer.store) == 2, what="second failure")
    assert {e.name for e in informer.store.values()} == {"stuck.1", "stuck.2"}
    for request in requests_for(api, "events", "list") + requests_for(api, "events", "watch"):
        assert request.query["fieldSelector"] == SANDBOX_FAILURE_SELECTOR


def test_namespaced_paths():
    assert resource_paths("pods", "team-a") == ("/api/v1/namespaces/team-a/pods",)
    assert resource_paths("nodes", "team-a") == ("/api/v1/nodes",)
    assert resource_paths("networkpolicies") == ("/apis/networking.k8s.io/v1/networkpolicies",)
    assert len(resource_paths("runtimeclasses", "x")) == 2


def test_backoff_grows_with_jitter_and_caps():
    backoff = Backoff(initial=1.0, cap=30.0)
    for attempt, base in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0), (40, 30.0)):
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(base / 2 <= d <= base for d in delays)
        assert len(set(delays)) > 1
