"""bench/peers_etcd.py, the bench-only loader that writes pods into etcd: its stored form is
what kube-apiserver v1.37.2 itself stores for the generated pods (created + status-patched
through the API), and what it writes the apiserver serves (count, GET, watch)."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import urllib.request
from pathlib import Path

import msgspec
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import peers_etcd  # noqa: E402
from peers_screen import watch_arrival  # noqa: E402


def test_field_set_keys_lists_and_keeps_atomic_values_whole():
    fields = peers_etcd.field_set({
        "metadata": {"labels": {"app": "web"}, "ownerReferences": [{"uid": "u1", "kind": "ReplicaSet"}]},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
                 "nodeSelector": {"zone": "a"}, "tolerations": [{"key": "k"}]}})
    assert fields["f:metadata"] == {"f:labels": {".": {}, "f:app": {}},
                                    "f:ownerReferences": {".": {}, 'k:{"uid":"u1"}': {}}}
    container = fields["f:spec"]["f:containers"]['k:{"name":"c"}']
    assert "." not in fields["f:spec"]["f:containers"]  # as the apiserver writes containers
    assert container["f:ports"]['k:{"containerPort":80,"protocol":"TCP"}'] == {
        ".": {}, "f:containerPort": {}, "f:protocol": {}}
    assert fields["f:spec"]["f:nodeSelector"] == {} and fields["f:spec"]["f:tolerations"] == {}


def test_status_entry_owns_only_what_the_patch_changed():
    pod = {"metadata": {"name": "p", "creationTimestamp": "t"}, "spec": {},
           "status": {"phase": "Pending", "qosClass": "BestEffort", "startTime": "t"}}
    status = peers_etcd.managed_fields(pod, "t")[1]["fieldsV1"]["f:status"]
    assert status == {"f:startTime": {}}
    pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    assert len(peers_etcd.managed_fields(pod, "t")) == 1  # nothing changed: no status entry


def test_txns_hold_at_most_the_ops_and_bytes_etcd_takes():
    pods = [{"metadata": {"namespace": "ns", "name": f"p{i}", "creationTimestamp": "t"},
             "spec": {"x": "y" * (i % 3) * 2000}} for i in range(300)]
    bodies = [msgspec.json.decode(body) for body in peers_etcd.txn_bodies(pods, ops=128, max_bytes=100_000)]
    puts = [put["requestPut"] for body in bodies for put in body["success"]]
    assert [base64.b64decode(p["key"]).decode() for p in puts] == [f"/registry/pods/ns/p{i}" for i in range(300)]
    assert all(len(body["success"]) <= 128 for body in bodies)
    assert all(len(msgspec.json.encode(body)) < 100_000 + 30_000 for body in bodies)
    assert len(bodies) > 300 // 128 + 1  # the byte cap split some


def test_an_on_poll_reason_ends_the_wait():
    arrival = watch_arrival(lambda: "", lambda screen: None, 10, limit_s=30, interval=0,
                            on_poll=lambda: "stopped: RSS over the cap")
    assert arrival.stopped == "stopped: RSS over the cap" and arrival.gave_up_s is not None


def _stored(plane, pod: dict) -> dict:
    body = json.dumps({"key": base64.b64encode(peers_etcd.pod_key(pod).encode()).decode()}).encode()
    request = urllib.request.Request(plane.etcd_url + "/v3/kv/range", body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(base64.b64decode(json.loads(response.read())["kvs"][0]["value"]))


def _comparable(stored: dict) -> dict:
    stored["metadata"].pop("uid"), stored["metadata"].pop("creationTimestamp")
    for entry in stored["metadata"]["managedFields"]:
        entry.pop("time")
    return stored


@pytest.mark.integration
def test_stored_form_is_the_apiservers_and_written_pods_are_served():
    from realbuilds import control_plane_binaries
    from realparts.controlplane import free_port, start_control_plane
    from realparts.scenario_load import load_objects, loopback_scenario

    from kataview.demo.generator import generated_objects
    from peers_load import Server

    objects, _ = loopback_scenario(generated_objects(8, 240), free_port())
    pods = [o for o in objects if o["kind"] == "Pod"]
    rest = [o for o in objects if o["kind"] != "Pod"]
    with start_control_plane(control_plane_binaries(), bulk=True, users=(),
                             storage_media_type="application/json") as plane:
        through_api, direct = pods[:80], pods[80:]
        asyncio.run(load_objects(plane.url, plane.admin_token, plane.ssl_context(), rest + through_api))
        for pod in through_api:  # every shape the generator makes: kube-system, web, kata, gvisor...
            assert _comparable(_stored(plane, pod)) == _comparable(peers_etcd.stored_pod(pod))
        server = Server(plane.url, plane.admin_token, str(plane.ca_path))
        peers_etcd.put_pods(plane.etcd_url, direct)
        assert peers_etcd.wait_served(server, len(pods)) == len(pods)
        answer = peers_etcd.verify(server, direct + through_api)
    assert answer["listed"] == len(pods) and answer["watch_event"] == "MODIFIED"
