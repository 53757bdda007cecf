"""ClusterWatcher and fetch_once against the API server double over real HTTPS: the classic
scenario, RBAC-denied resources, coalesced snapshots, copy-on-write stores and the
syncing -> live -> reconnecting -> stale -> live state machine."""

from __future__ import annotations

import asyncio
import time

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.scenario import classic_objects
from kataview.kube.cluster import ClusterWatcher, WatchState, fetch_once
from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.errors import KubeUnreachable, Unauthorized
from kataview.kube.informer import Backoff

FAST = {"watch_timeout": (30, 30), "backoff": Backoff(initial=0.05, cap=0.2),
        "forbidden_retry": 0.3}


def pod(name: str, namespace: str = "default") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"nodeName": "k8s-worker", "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": "Running"}}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)


@pytest.fixture
async def api():
    async with ApiServerDouble(classic_objects()) as server:
        yield server


@pytest.fixture
async def connection(api, tmp_path):
    path = api.write_kubeconfig(tmp_path / "kubeconfig")
    async with await connect(ConnectionSettings(str(path), None)) as conn:
        yield conn


async def until(condition, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_fetch_once_reads_the_classic_scenario(connection):
    snapshot = await fetch_once(connection)
    assert set(snapshot.nodes) == {"k8s-control-plane", "k8s-worker", "k8s-worker-untrusted",
                                   "k8s-worker-kata"}
    assert set(snapshot.runtime_classes) == {"kata", "kata-qemu", "kata-clh", "kata-fc", "gvisor"}
    assert len(snapshot.pods) == 14
    assert all(key == p.uid for key, p in snapshot.pods.items())
    assert [e.reason for e in snapshot.events] == ["FailedCreatePodSandBox"]
    assert [(n.namespace, n.name) for n in snapshot.network_policies] == [("untrusted",
                                                                           "default-deny")]
    assert snapshot.unreadable == {} and snapshot.taken_at is not None


async def test_fetch_once_marks_denied_resources_unreadable(api, connection):
    api.rbac.deny("events")
    api.rbac.deny("networkpolicies", "list")
    snapshot = await fetch_once(connection)
    assert set(snapshot.unreadable) == {"events", "networkpolicies"}
    assert snapshot.unreadable["events"].startswith("forbidden: ")
    assert len(snapshot.pods) == 14 and len(snapshot.nodes) == 4
    assert snapshot.events == ()


async def test_fetch_once_in_one_namespace(api, connection):
    snapshot = await fetch_once(connection, namespace="sandboxed")
    assert {p.namespace for p in snapshot.pods.values()} == {"sandboxed"}
    assert len(snapshot.nodes) == 4  # cluster-scoped kinds are not filtered
    assert any(r.path == "/api/v1/namespaces/sandboxed/pods" for r in api.requests)


async def test_fetch_once_raises_on_bad_credentials(api, tmp_path):
    path = api.write_kubeconfig(tmp_path / "bad", user_token="wrong")
    async with await connect(ConnectionSettings(str(path), None)) as conn:
        with pytest.raises(Unauthorized):
            await fetch_once(conn)


async def test_fetch_once_unreachable_within_the_connect_timeout(api, tmp_path):
    path = api.write_kubeconfig(tmp_path / "kc")
    await api.stop()  # the port is closed now
    async with await connect(ConnectionSettings(str(path), None, connect_timeout=1.0)) as conn:
        started = time.monotonic()
        with pytest.raises(KubeUnreachable) as caught:
            await fetch_once(conn)
        assert time.monotonic() - started < 1.0
    assert api.url in str(caught.value)


async def test_watcher_goes_live_and_follows_changes(api, connection):
    async with ClusterWatcher(connection, informer_options=FAST) as watcher:
        seen: list[WatchState] = []
        async for snapshot, state in watcher.snapshots():
            seen.append(state)
            if state.phase == "live":
                break
        assert seen[0].phase == "syncing" and seen[0].synced < 5
        assert seen[-1].synced == 5 and seen[-1].label == "live"
        assert len(snapshot.pods) == 14
        api.store.apply(pod("fresh"))
        async for snapshot, state in watcher.snapshots():
            if any(p.name == "fresh" for p in snapshot.pods.values()):
                break


async def test_forbidden_resource_does_not_stop_the_others(api, connection):
    api.rbac.deny("events")
    async with ClusterWatcher(connection, informer_options=FAST) as watcher:
        await until(lambda: watcher.latest and watcher.latest[1].phase == "live", what="live")
        api.store.apply(pod("fresh"))
        await until(lambda: any(p.name == "fresh" for p in watcher.latest[0].pods.values()),
                    what="pods still watched")
        snapshot, state = watcher.latest
    assert state.synced == 4 and set(state.errors) == {"events"}
    assert state.errors["events"].startswith("forbidden: ")
    assert set(snapshot.unreadable) == {"events"} and snapshot.events == ()


async def test_burst_of_events_is_coalesced(api, connection):
    async with ClusterWatcher(connection, min_interval=0.1, informer_options=FAST) as watcher:
        await until(lambda: watcher.latest and watcher.latest[1].phase == "live", what="live")
        before, started = watcher.published, time.monotonic()
        for index in range(500):
            api.store.apply(pod(f"burst-{index}"))
        await until(lambda: len(watcher.latest[0].pods) == 514, what="burst delivered")
        await asyncio.sleep(0.25)
        elapsed = time.monotonic() - started
        published = watcher.published - before
    assert published <= elapsed / 0.1 + 2, (published, elapsed)


async def test_snapshots_are_immutable_and_share_unchanged_stores(api, connection):
    async with ClusterWatcher(connection, informer_options=FAST) as watcher:
        await until(lambda: watcher.latest and watcher.latest[1].phase == "live", what="live")
        first, _ = watcher.latest
        api.store.apply(pod("fresh"))
        await until(lambda: len(watcher.latest[0].pods) == 15, what="change")
        second, _ = watcher.latest
    assert len(first.pods) == 14 and len(second.pods) == 15
    assert first.nodes is second.nodes  # unchanged kinds are shared, not copied
    assert first.events is second.events


async def test_state_machine_reconnecting_stale_and_back(api, connection):
    states: list[WatchState] = []
    watcher = ClusterWatcher(connection, on_snapshot=lambda s, st: states.append(st),
                             min_interval=0.01, informer_options=FAST)
    async with watcher:
        await until(lambda: states and states[-1].phase == "live", what="live")
        api.faults.error("*", status=503, times=15)  # every re-watch fails ~3 times
        api.faults.drop_watches()
        await until(lambda: states[-1].phase == "stale", what="stale")
        stale = states[-1]
        await until(lambda: states[-1].phase == "live", timeout=8, what="live again")
    phases = [s.phase for s in states]
    compressed = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    assert compressed[:5] == ["syncing", "live", "reconnecting", "stale", "live"], compressed
    assert stale.stale_since is not None and stale.errors
    assert any("HTTP 503" in error or "broke mid-response" in error
               for error in stale.errors.values())
    assert stale.label.startswith("stale since ")
    assert states[-1].stale_since is None and states[-1].errors == {}
    assert states[-1].last_error  # the last error is kept for the status bar


async def test_a_long_first_list_shows_its_progress(api, connection):
    """14 pods in pages of 3, each page 0.15 s late: while the pods are being listed the state
    says how many have arrived; once listed, it says nothing more about it."""
    api.faults.delay("pods", 0.15)
    states: list[WatchState] = []
    sizes: list[int] = []
    options = {**FAST, "page_size": 3, "watch_list": False}

    def seen(snapshot, state) -> None:
        states.append(state)
        sizes.append(len(snapshot.pods))

    async with ClusterWatcher(connection, informer_options=options, min_interval=0.01,
                              on_snapshot=seen):
        await until(lambda: states and states[-1].phase == "live", timeout=10, what="live")
    progress = [state.listing.get("pods") for state in states if "pods" in state.listing]
    assert progress and progress == sorted(progress), progress
    assert set(progress) <= {3, 6, 9, 12} and len(set(progress)) >= 2, progress
    shown = next(state for state in states if "pods" in state.listing)
    assert shown.phase == "syncing" and f"pods {shown.listing['pods']} of ~14" in shown.label
    # the pods read so far are in the snapshot already (issue 17.1)
    assert all(size == state.listing["pods"] for size, state in zip(sizes, states)
               if "pods" in state.listing)
    assert states[-1].listing == {} and states[-1].label == "live"


async def test_snapshots_carry_the_informer_change_log(api, connection):
    """What changed between two published snapshots comes from the pods informer's log: one
    applied pod, one key, without comparing every pod."""
    from kataview.model.changes import pod_changes

    async with ClusterWatcher(connection, informer_options=FAST) as watcher:
        async for first, state in watcher.snapshots():
            if state.phase == "live":
                break
        api.store.apply(pod("logged"))
        async for second, _state in watcher.snapshots():
            if any(p.name == "logged" for p in second.pods.values()):
                break
    assert second.pods.log is first.pods.log and second.pods.version > first.pods.version
    keys = second.pods.log.since(first.pods.version, second.pods.version)
    changes = pod_changes(first, second, 100)
    assert [new.name for _uid, old, new in changes] == ["logged"] and changes[0][1] is None
    assert set(keys) == {changes[0][0]}
