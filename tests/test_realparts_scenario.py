"""The demo scenario loaded into the real apiserver (realparts/scenario_load.py): same objects
as the double serves, statuses patched in, nodes moved to loopback addresses."""

from __future__ import annotations

import ipaddress
import json
import socket

import pytest

from kataview.demo.scenario import classic_objects, generated_objects
from realparts.scenario_load import loopback_scenario

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def node_addresses(objects: list[dict]) -> list[str]:
    return [a["address"] for o in objects if o["kind"] == "Node"
            for a in o["status"]["addresses"] if a["type"] == "InternalIP"]


@pytest.mark.parametrize("make", [classic_objects, lambda: generated_objects(300, 3000)],
                         ids=["classic", "generated"])
def test_every_node_and_host_address_moves_to_loopback(make):
    objects = make()  # 300 nodes: past 127.0.1.254 into 127.0.2.x
    before = node_addresses(objects)
    moved, addresses = loopback_scenario(objects, kubelet_port=40123)
    after = node_addresses(moved)
    assert len(set(after)) == len(after) == len(before)
    assert all(ipaddress.ip_address(a) in LOOPBACK for a in after)
    assert all(o["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 40123
               for o in moved if o["kind"] == "Node")
    for pod in (o for o in moved if o["kind"] == "Pod" and o["status"].get("hostIP")):
        assert ipaddress.ip_address(pod["status"]["hostIP"]) in LOOPBACK
        assert [h["ip"] for h in pod["status"]["hostIPs"]] == [pod["status"]["hostIP"]]
    assert node_addresses(objects) == before  # the scenario itself is not changed
    assert set(addresses) == set(before)


def real_items(control_plane, path: str) -> list[dict]:
    return control_plane.request("GET", path)["items"]


@pytest.mark.integration
def test_nodes_are_loaded_with_their_status(demo_cluster, control_plane):
    expected = {o["metadata"]["name"]: o for o in demo_cluster.objects if o["kind"] == "Node"}
    nodes = {n["metadata"]["name"]: n for n in real_items(control_plane, "/api/v1/nodes")
             if n["metadata"]["name"] in expected}  # other tests may add their own
    assert nodes.keys() == expected.keys()
    for name, node in nodes.items():
        assert node["status"]["addresses"] == expected[name]["status"]["addresses"]
        assert node["status"]["nodeInfo"] == expected[name]["status"]["nodeInfo"]
        assert node["status"].get("runtimeHandlers") == expected[name]["status"].get("runtimeHandlers")
        assert node["metadata"]["labels"] == expected[name]["metadata"]["labels"]
        assert node["spec"].get("taints") == expected[name]["spec"].get("taints")
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready[0]["status"] == "True"
    assert {a for a in demo_cluster.addresses.values()} == {
        a["address"] for n in nodes.values() for a in n["status"]["addresses"] if a["type"] == "InternalIP"}


@pytest.mark.integration
def test_no_one_serves_the_loaded_kubelet_port(demo_cluster):
    for address in demo_cluster.addresses.values():
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex((address, demo_cluster.kubelet_port)) != 0


@pytest.mark.integration
def test_pods_are_bound_and_have_the_scenario_status(demo_cluster, control_plane):
    expected = {(o["metadata"]["namespace"], o["metadata"]["name"]): o
                for o in demo_cluster.objects if o["kind"] == "Pod"}
    pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p
            for p in real_items(control_plane, "/api/v1/pods")}
    assert pods.keys() >= expected.keys()  # other tests may add their own
    pods = {key: pods[key] for key in expected}
    for key, pod in pods.items():
        want = expected[key]
        assert pod["spec"].get("nodeName") == want["spec"].get("nodeName")
        assert pod["spec"].get("runtimeClassName") == want["spec"].get("runtimeClassName")
        assert pod["spec"].get("overhead") == want["spec"].get("overhead")  # admission agrees
        assert pod["status"]["phase"] == want["status"]["phase"]
        assert pod["status"].get("containerStatuses") == want["status"].get("containerStatuses")
        assert pod["status"].get("hostIP") == want["status"].get("hostIP")


@pytest.mark.integration
def test_a_pod_may_name_a_runtime_class_that_is_gone(demo_cluster, control_plane):
    classes = {c["metadata"]["name"] for c in
               real_items(control_plane, "/apis/node.k8s.io/v1/runtimeclasses")}
    assert classes >= {o["metadata"]["name"] for o in demo_cluster.objects if o["kind"] == "RuntimeClass"}
    assert demo_cluster.report.temporary_runtime_classes == ["kata-legacy"]
    legacy = control_plane.request("GET", "/api/v1/namespaces/legacy/pods/legacy-sandbox")
    assert legacy["spec"]["runtimeClassName"] == "kata-legacy" and "kata-legacy" not in classes


@pytest.mark.integration
def test_events_point_at_the_loaded_pods(demo_cluster, control_plane):
    events = real_items(control_plane, "/api/v1/namespaces/sandboxed/events")
    assert {e["reason"] for e in events} >= {"Scheduled", "FailedCreatePodSandBox"}
    for event in events:
        involved = event["involvedObject"]
        pod = control_plane.request("GET", f"/api/v1/namespaces/{involved['namespace']}/pods/{involved['name']}")
        assert involved["uid"] == pod["metadata"]["uid"]
    policies = real_items(control_plane, "/apis/networking.k8s.io/v1/namespaces/untrusted/networkpolicies")
    assert [p["metadata"]["name"] for p in policies] == ["default-deny"]


@pytest.mark.integration
def test_a_generated_scenario_loads_in_bulk():
    from realbuilds import control_plane_binaries
    from realparts.controlplane import start_control_plane
    from realparts.scenario_load import load_scenario

    objects = generated_objects(20, 400)
    with start_control_plane(control_plane_binaries(), bulk=True, users=()) as plane:
        loaded = load_scenario(plane, objects, concurrency=64)
        pods = plane.request("GET", "/api/v1/pods?limit=1")
        assert pods["metadata"].get("remainingItemCount", 0) + len(pods["items"]) == 400
    assert loaded.report.counts["Pod"] == 400 and loaded.report.counts["Node"] == 20


@pytest.mark.integration
def test_admission_rejects_a_pod_naming_a_missing_runtime_class(demo_cluster, control_plane):
    """Why the loader makes RuntimeClasses first, and a temporary one for `kata-legacy`."""
    import urllib.error
    pod = {"metadata": {"name": "no-such-class"}, "spec": {
        "runtimeClassName": "kata-legacy", "nodeName": "k8s-worker",
        "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}}
    with pytest.raises(urllib.error.HTTPError) as caught:
        control_plane.request("POST", "/api/v1/namespaces/legacy/pods", pod)
    assert caught.value.code == 403
    assert 'RuntimeClass "kata-legacy" not found' in json.loads(caught.value.read())["message"]
