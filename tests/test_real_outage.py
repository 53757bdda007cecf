"""kataview's informers across a real outage (issue 14.5): kube-apiserver killed and started
again on the same etcd, and a 410 after an etcd compaction. Both end with kataview's data
equal to what a fresh list shows. A control plane of this module's own (it is restarted)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import urllib.request

import pytest

from kataview.kube.backoff import Backoff
from kataview.kube.cluster import ClusterWatcher, fetch_once
from kataview.kube.connection import ConnectionSettings, connect

pytestmark = pytest.mark.integration

NS = "outage"


@pytest.fixture(scope="module")
def plane():
    from realbuilds import control_plane_binaries
    from realparts.controlplane import start_control_plane
    from realparts.scenario_load import load_scenario

    with start_control_plane(control_plane_binaries(), users=()) as cp:
        load_scenario(cp)
        cp.request("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
        yield cp


@pytest.fixture(autouse=True)
def isolated(isolated_home):
    return isolated_home


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": {"nodeName": "k8s-worker", "containers": [{"name": "c", "image": "busybox"}]}}


def delete_pod(cp, namespace: str, name: str) -> None:
    cp.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}?gracePeriodSeconds=0")


async def until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def comparable(snapshot) -> dict:
    """What kataview shows, without the moment it was taken."""
    return {"nodes": dict(snapshot.nodes), "runtime_classes": dict(snapshot.runtime_classes),
            "pods": dict(snapshot.pods), "events": sorted(snapshot.events, key=repr),
            "network_policies": sorted(snapshot.network_policies, key=repr),  # order: not data
            "unreadable": dict(snapshot.unreadable)}


async def converged(connection, watcher, timeout: float = 60) -> None:
    """kataview's snapshot equals a fresh list's (retried: the last changes may be in flight)."""
    deadline = time.monotonic() + timeout
    while True:
        fresh = comparable(await fetch_once(connection))
        mine = comparable(watcher.latest[0])
        if mine == fresh and watcher.latest[1].phase == "live":
            return
        if time.monotonic() > deadline:
            assert mine == fresh
            raise AssertionError(f"not live: {watcher.latest[1]}")
        await asyncio.sleep(0.2)


async def test_apiserver_restart_marks_stale_then_converges_with_the_changes(plane, tmp_path):
    async with await connect(ConnectionSettings(str(plane.kubeconfig), None)) as connection:
        # a backoff long enough (15-30 s) that the apiserver is back, and changed, before any
        # informer retries; stale at the first failure
        options = {"backoff": Backoff(initial=30.0, cap=30.0), "watch_timeout": (300, 300)}
        watcher = ClusterWatcher(connection, min_interval=0.01, stale_after=1,
                                 informer_options=options)
        async with watcher:
            await until(lambda: watcher.latest and watcher.latest[1].phase == "live", what="live")
            assert len(watcher.latest[0].pods) == 14
            await asyncio.to_thread(plane.stop_apiserver)  # killed mid-watch
            await until(lambda: all(i.failures for i in watcher.informers.values()),
                        what="every informer failing")
            assert watcher.latest[1].phase == "stale" and watcher.latest[1].label.startswith("stale since")
            await asyncio.to_thread(plane.start_apiserver)  # same etcd, same port
            # changed while kataview still backs off: it has not seen the server since
            plane.request("POST", f"/api/v1/namespaces/{NS}/pods", pod("made-during-outage"))
            delete_pod(plane, "untrusted", "nginx-untrusted-5b7c9f8d6c-hqkq2")
            plane.request("PATCH", "/api/v1/nodes/k8s-worker", {"metadata": {"labels": {"outage": "seen"}}},
                          content_type="application/merge-patch+json")
            # one change of every other kind too: a watch the server accepted is "live" only
            # once an event or bookmark arrives, and the real server's bookmarks come ~1/min
            change_the_other_kinds(plane)
            back = [k for k, i in watcher.informers.items() if not i.failures]
            assert back == [], f"reconnected before the changes were made: {back}"
            await converged(connection, watcher)
        names = {p.name for p in watcher.latest[0].pods.values()}
        assert "made-during-outage" in names and "nginx-untrusted-5b7c9f8d6c-hqkq2" not in names
        assert watcher.latest[0].nodes["k8s-worker"].labels["outage"] == "seen"
        assert "outage-class" in watcher.latest[0].runtime_classes


def change_the_other_kinds(cp) -> None:
    cp.request("POST", "/apis/node.k8s.io/v1/runtimeclasses",
               {"metadata": {"name": "outage-class"}, "handler": "outage"})
    cp.request("POST", f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies",
               {"metadata": {"name": "outage-deny"}, "spec": {"podSelector": {}}})
    cp.request("POST", f"/api/v1/namespaces/{NS}/events", {
        "metadata": {"name": "outage-event"}, "reason": "FailedCreatePodSandBox", "type": "Warning",
        "message": "made while kataview was away",
        "involvedObject": {"kind": "Pod", "namespace": NS, "name": "made-during-outage"}})


def compact_etcd(cp) -> int:
    def post(path: str, body: dict) -> dict:
        request = urllib.request.Request(cp.etcd_url + path, json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    revision = int(post("/v3/kv/range", {"key": base64.b64encode(b"/").decode()})["header"]["revision"])
    post("/v3/kv/compaction", {"revision": revision, "physical": True})
    return revision


async def test_a_410_after_compaction_relists_and_loses_nothing(plane, caplog):
    """Without the watch cache (--watch-cache=false, as some clusters run) a watch is served by
    etcd itself, so compacting etcd is enough for the next watch from an older RV to get 410."""
    if "--watch-cache=false" not in plane.apiserver_args:
        plane.apiserver_args.append("--watch-cache=false")
        await asyncio.to_thread(plane.restart_apiserver)
    caplog.set_level(logging.INFO, logger="kataview.kube.informer")
    async with await connect(ConnectionSettings(str(plane.kubeconfig), None)) as connection:
        options = {"backoff": Backoff(initial=0.2, cap=0.5), "watch_timeout": (3, 3)}
        watcher = ClusterWatcher(connection, min_interval=0.01, informer_options=options)
        async with watcher:
            await until(lambda: watcher.latest and watcher.latest[1].phase == "live", what="live")
            pods = watcher.informers["pods"]
            lists_before = pods.lists
            plane.request("POST", f"/api/v1/namespaces/{NS}/pods", pod("before-compaction"))
            await until(lambda: any(p.name == "before-compaction" for p in watcher.latest[0].pods.values()),
                        what="the new pod")
            for index in range(3):  # move etcd past the pods informer's resourceVersion
                plane.request("POST", "/api/v1/namespaces/default/configmaps",
                              {"metadata": {"name": f"bump-{index}"}})
            compact_etcd(plane)
            await until(lambda: pods.lists > lists_before, timeout=20, what="a relist")
            await converged(connection, watcher)
        assert any("pods: 410 Gone, relisting" in r.getMessage() for r in caplog.records)
        assert any(p.name == "before-compaction" for p in watcher.latest[0].pods.values())
