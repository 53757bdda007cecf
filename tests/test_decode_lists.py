"""decode_list / decode_watch_line / record_from_dict / record_key: the interface the informers
use, its tolerance (bad fields dropped, bad items skipped and counted) and its conversions."""

from __future__ import annotations

import json
from datetime import timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kataview.kube.decode import (
    KINDS,
    DecodedList,
    DecodeError,
    WatchEvent,
    decode_list,
    decode_watch_line,
    record_from_dict,
    record_key,
)
from kataview.model import records as r


def make_pod(uid="u1", name="web-1", namespace="shop", **spec) -> dict:
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "resourceVersion": "17",
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "labels": {"app": "web"},
            "annotations": {
                "io.kubernetes.cri.untrusted-workload": "true",
                "io.katacontainers.config.hypervisor.default_vcpus": "2",
                "kubectl.kubernetes.io/last-applied-configuration": "{...}",
            },
            "ownerReferences": [
                {"kind": "Foo", "name": "not-controller"},
                {"kind": "ReplicaSet", "name": "web-7d4", "controller": True},
            ],
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:metadata": {}}}],
        },
        "spec": {
            "nodeName": "worker-1",
            "runtimeClassName": "kata-qemu",
            "nodeSelector": {"katacontainers.io/kata-runtime": "true"},
            "tolerations": [{"key": "untrusted", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}],
            "overhead": {"cpu": "250m", "memory": "160Mi"},
            "containers": [{"name": "app", "image": "nginx:1"}, {"name": "side", "image": "envoy:1"}],
            **spec,
        },
        "status": {
            "phase": "Running",
            "podIP": "10.244.1.5",
            "hostIP": "10.0.0.11",
            "qosClass": "Burstable",
            "startTime": "2024-05-01T10:00:01Z",
            "containerStatuses": [
                {
                    "name": "app",
                    "image": "nginx:1",
                    "ready": True,
                    "restartCount": 2,
                    "state": {"running": {"startedAt": "2024-05-01T10:00:04.123456789Z"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                    "containerID": "containerd://" + "ab" * 32,
                }
            ],
        },
    }


def pod_list(*items, rv="100", cont="") -> bytes:
    meta = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
    return json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": list(items)}).encode()


# -- pods ------------------------------------------------------------------------------------


def test_pod_fields() -> None:
    result = decode_list("pods", pod_list(make_pod(), rv="123", cont="tok"))
    assert isinstance(result, DecodedList)
    assert (result.resource_version, result.continue_token, result.skipped) == ("123", "tok", 0)
    (pod,) = result.items
    assert isinstance(pod, r.Pod)
    assert (pod.uid, pod.namespace, pod.name, pod.node_name) == ("u1", "shop", "web-1", "worker-1")
    assert pod.runtime_class_name == "kata-qemu"
    assert pod.annotations == {
        "io.kubernetes.cri.untrusted-workload": "true",
        "io.katacontainers.config.hypervisor.default_vcpus": "2",
    }
    assert pod.owner == r.OwnerRef("ReplicaSet", "web-7d4", True)
    assert pod.overhead == {"cpu": "250m", "memory": "160Mi"}
    assert pod.tolerations == (r.Toleration("untrusted", "Exists", "", "NoSchedule"),)
    assert pod.node_selector == {"katacontainers.io/kata-runtime": "true"}
    assert (pod.pod_ip, pod.host_ip, pod.qos_class, pod.phase) == ("10.244.1.5", "10.0.0.11", "Burstable", "Running")
    app, side = pod.containers
    assert (app.name, app.state, app.ready, app.restart_count, app.last_termination_reason) == ("app", "running", True, 2, "OOMKilled")
    assert app.started_at.tzinfo is not None and app.started_at.microsecond in (123456, 123457)  # nanoseconds rounded
    assert app.container_id.startswith("containerd://")
    assert (side.name, side.image, side.state) == ("side", "envoy:1", None)  # from spec: no status yet
    assert pod.created.tzinfo == timezone.utc
    assert not pod.deleting
    assert pod.restarts == 2 and pod.ready_count == 1


def test_pod_status_text_and_deletion() -> None:
    obj = make_pod()
    obj["metadata"]["deletionTimestamp"] = "2024-05-01T11:00:00Z"
    assert record_from_dict("pods", obj).status_text == "Terminating"
    obj = make_pod()
    obj["status"] = {"phase": "Pending", "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}]}
    pod = record_from_dict("pods", obj)
    assert pod.status_text == "ContainerCreating"
    assert pod.containers[0].image == "nginx:1"  # status lacks it: taken from spec
    obj["status"] = {"phase": "Failed", "reason": "Evicted"}
    assert record_from_dict("pods", obj).status_text == "Evicted"


def test_owner_without_controller_falls_back_to_first() -> None:
    obj = make_pod()
    obj["metadata"]["ownerReferences"] = [{"kind": "Job", "name": "j"}]
    assert record_from_dict("pods", obj).owner == r.OwnerRef("Job", "j", False)


def test_empty_and_null_everything() -> None:
    for kind in KINDS:
        for body in ({}, {"metadata": None, "spec": None, "status": None}):
            record = record_from_dict(kind, body)
            assert record_key(kind, record) in ("", "/")
    result = decode_list("pods", b'{"items": null, "metadata": null}')
    assert result == DecodedList([], "", "", 0)
    assert decode_list("pods", b"{}") == DecodedList([], "", "", 0)


def test_bad_field_is_dropped_not_the_item() -> None:
    bad = make_pod(uid="u2", name="web-2")
    bad["metadata"]["labels"] = {"app": [7], "tier": "front", "replicas": 3}  # a list and a number where strings belong
    bad["spec"]["tolerations"] = [{"key": "x", "operator": "Exists"}, "not-an-object"]
    bad["status"]["startTime"] = "yesterday"
    bad["status"]["containerStatuses"][0]["restartCount"] = "3"  # a string number: coerced
    result = decode_list("pods", pod_list(make_pod(), bad, 42, None, "text"))
    assert result.skipped == 3  # 42, null, "text" are not objects
    good, repaired = result.items
    assert good.uid == "u1"
    assert repaired.uid == "u2" and repaired.labels == {"tier": "front", "replicas": "3"}
    assert repaired.tolerations == (r.Toleration("x", "Exists"),)
    assert repaired.started is None
    assert repaired.containers[0].restart_count == 3
    assert repaired.runtime_class_name == "kata-qemu"  # everything else survives


def test_items_not_a_list_and_metadata_wrong() -> None:
    result = decode_list("pods", b'{"metadata": "x", "items": {"a": 1}}')
    assert result.items == [] and result.skipped == 1
    result = decode_list("pods", b'{"metadata": {"resourceVersion": 5, "continue": "c"}, "items": []}')
    assert (result.resource_version, result.continue_token) == ("", "c")


def test_not_json_raises_decode_error() -> None:
    for data in (b"", b"not json", b"[1, 2]", b'{"items": [', b"42"):
        with pytest.raises(DecodeError):
            decode_list("pods", data)
    with pytest.raises(ValueError):
        decode_list("secrets", b"{}")


# -- other kinds -----------------------------------------------------------------------------


def test_node_fields() -> None:
    obj = {
        "metadata": {"name": "w1", "uid": "n-1", "labels": {"node-role.kubernetes.io/worker": ""}},
        "spec": {"taints": [{"key": "untrusted", "value": "true", "effect": "NoSchedule"}], "unschedulable": True},
        "status": {
            "capacity": {"cpu": "8", "memory": "16393244Ki"},
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
            "addresses": [{"type": "Hostname", "address": "w1"}, {"type": "InternalIP", "address": "10.0.0.1"}],
            "nodeInfo": {"containerRuntimeVersion": "containerd://2.0.1", "kubeletVersion": "v1.31.0"},
            "runtimeHandlers": [
                {"name": "", "features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}},
                {"name": "kata-qemu", "features": {"recursiveReadOnlyMounts": False}},
                {"name": "runc"},
            ],
        },
    }
    node = decode_list("nodes", json.dumps({"items": [obj], "metadata": {"resourceVersion": "9"}}).encode()).items[0]
    assert node.name == "w1" and node.roles == ("worker",) and node.ready is True
    assert node.taints == (r.Taint("untrusted", "true", "NoSchedule"),) and node.unschedulable
    assert (node.cpu_capacity_millis, node.memory_capacity_bytes) == (8000, 16393244 * 1024)
    assert node.address() == "10.0.0.1"
    assert node.container_runtime == ("containerd", "2.0.1")
    assert node.runtime_handlers == (
        r.RuntimeHandler("", True, True),
        r.RuntimeHandler("kata-qemu", False, None),
        r.RuntimeHandler("runc", None, None),
    )
    obj["status"]["runtimeHandlers"] = []
    assert record_from_dict("nodes", obj).runtime_handlers is None  # empty = not reported


def test_runtimeclass_versions_in_a_list() -> None:
    v1 = {"metadata": {"name": "kata"}, "handler": "kata-qemu", "overhead": {"podFixed": {"cpu": "1.0", "memory": "2Gi"}},
          "scheduling": {"nodeSelector": {"a": "b"}, "tolerations": [{"key": "k", "operator": "Exists"}]}}
    alpha = {"apiVersion": "node.k8s.io/v1alpha1", "metadata": {"name": "old"},
             "spec": {"runtimeHandler": "runsc", "overhead": {"podFixed": {"cpu": "100m"}}}}
    data = json.dumps({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClassList", "items": [v1, alpha]}).encode()
    kata, old = decode_list("runtimeclasses", data).items
    assert (kata.handler, kata.api_version, kata.overhead_cpu_millis, kata.overhead_memory_bytes) == ("kata-qemu", "node.k8s.io/v1", 1000, 2 * 2**30)
    assert kata.node_selector == {"a": "b"} and kata.tolerations == (r.Toleration("k", "Exists"),)
    assert (old.handler, old.api_version, old.overhead_cpu_millis, old.node_selector) == ("runsc", "node.k8s.io/v1alpha1", 100, None)
    only_tolerations = record_from_dict("runtimeclasses", {"handler": "x", "scheduling": {"tolerations": []}})
    assert only_tolerations.node_selector == {}  # a scheduling block without nodeSelector


def test_event_fields_and_fallbacks() -> None:
    core = {"metadata": {"name": "e1", "namespace": "shop", "uid": "e-1"}, "reason": "FailedCreatePodSandBox", "type": "Warning",
            "message": 'no runtime for "kata" is configured', "count": 4,
            "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1", "uid": "u1"},
            "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:05:00Z", "source": {"component": "kubelet"}}
    event = record_from_dict("events", core)
    assert (event.reason, event.type, event.count, event.source, event.involved_uid) == ("FailedCreatePodSandBox", "Warning", 4, "kubelet", "u1")
    assert event.last_seen > event.first_seen
    new_style = {"metadata": {"name": "e2", "namespace": "shop"}, "reason": "X", "eventTime": "2024-01-01T00:00:00.000000Z",
                 "series": {"count": 9, "lastObservedTime": "2024-01-01T01:00:00.000000Z"}, "reportingComponent": "kubelet",
                 "firstTimestamp": None, "lastTimestamp": None}
    event = record_from_dict("events", new_style)
    assert event.count == 9 and event.source == "kubelet" and event.type == "Normal"
    assert event.first_seen.hour == 0 and event.last_seen.hour == 1
    assert record_key("events", event) == "shop/e2"  # no uid


def test_network_policy() -> None:
    obj = {"metadata": {"name": "deny", "namespace": "shop"},
           "spec": {"podSelector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]},
                    "policyTypes": ["Ingress"]}}
    policy = record_from_dict("networkpolicies", obj)
    assert policy.pod_selector == r.LabelSelector({"app": "web"}, (r.SelectorRequirement("tier", "In", ("a", "b")),))
    assert policy.policy_types == ("Ingress",)
    assert record_key("networkpolicies", policy) == "shop/deny"


def test_record_keys() -> None:
    assert record_key("nodes", r.Node("n")) == "n"
    assert record_key("runtimeclasses", r.RuntimeClass("kata", "kata")) == "kata"
    assert record_key("pods", r.Pod("uid", "ns", "p")) == "uid"
    assert record_key("pods", r.Pod("", "ns", "p")) == "ns/p"


def test_yaml_scalars_become_text() -> None:
    # hand-written YAML: unquoted numbers and booleans where the API has strings
    rc = record_from_dict("runtimeclasses", {"metadata": {"name": 2, "labels": {19: 20}}, "handler": "kata",
                                             "scheduling": {"nodeSelector": {"katacontainers.io/kata-runtime": True}}})
    assert (rc.name, rc.labels, rc.node_selector) == ("2", {"19": "20"}, {"katacontainers.io/kata-runtime": "true"})


def test_record_from_dict_refuses_non_mappings() -> None:
    for value in ("text", 3, None, [1]):
        with pytest.raises(DecodeError):
            record_from_dict("pods", value)


def test_record_from_dict_does_not_mutate_its_input() -> None:
    obj = make_pod()
    obj["metadata"]["labels"] = {"a": {"x": 1}, "b": "x"}
    before = json.dumps(obj, sort_keys=True)
    assert record_from_dict("pods", obj).labels == {"b": "x"}
    assert json.dumps(obj, sort_keys=True) == before


# -- watch -----------------------------------------------------------------------------------


def test_watch_events() -> None:
    added = decode_watch_line("pods", json.dumps({"type": "ADDED", "object": make_pod()}).encode())
    assert isinstance(added, WatchEvent)
    assert (added.type, added.resource_version, added.item.uid) == ("ADDED", "17", "u1")
    gone = decode_watch_line("pods", b'{"type":"ERROR","object":{"kind":"Status","status":"Failure",'
                                     b'"message":"too old resource version: 1 (5)","reason":"Expired","code":410}}')
    assert (gone.type, gone.status_code, gone.item) == ("ERROR", 410, None)
    assert "too old" in gone.message
    bookmark = decode_watch_line("pods", b'{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"999",'
                                         b'"annotations":{"k8s.io/initial-events-end":"true"}}}}')
    assert (bookmark.type, bookmark.resource_version, bookmark.item) == ("BOOKMARK", "999", None)
    assert bookmark.initial_end  # the end of a watch-list's initial events
    plain = decode_watch_line("pods", b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9",'
                                      b'"annotations":{"k8s.io/initial-events-end":"false"}}}}')
    assert not plain.initial_end
    deleted = decode_watch_line("nodes", b'{"type":"DELETED","object":{"metadata":{"name":"w1","resourceVersion":"5"}}}')
    assert deleted.item.name == "w1" and deleted.resource_version == "5"


def test_watch_garbage_never_raises() -> None:
    for line in (b"", b"nonsense", b"[]", b'{"type": 5}', b'{"type":"EXPLODED","object":{}}', b'{"object":{}}'):
        event = decode_watch_line("pods", line)
        assert event.type == "ERROR" and event.status_code is None and event.message
    broken = decode_watch_line("pods", b'{"type":"MODIFIED","object":[1,2]}')
    assert (broken.type, broken.item) == ("MODIFIED", None) and broken.message
    repaired = decode_watch_line("pods", b'{"type":"MODIFIED","object":{"metadata":{"uid":"u","labels":{"a":[1]}}}}')
    assert repaired.item.uid == "u" and repaired.item.labels == {}
    assert decode_watch_line("pods", b'{"type":"ERROR"}').type == "ERROR"


# -- property: nothing JSON-shaped makes them raise ------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
FIELD_NAMES = ["metadata", "spec", "status", "name", "uid", "labels", "annotations", "taints", "runtimeHandlers",
               "handler", "overhead", "podFixed", "scheduling", "nodeSelector", "tolerations", "containers",
               "containerStatuses", "state", "running", "waiting", "involvedObject", "series", "podSelector",
               "matchExpressions", "values", "capacity", "cpu", "memory", "ownerReferences", "creationTimestamp"]
k8s_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6) | st.sampled_from(["250m", "1Gi", "2024-01-01T00:00:00Z", "kata"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(kind=st.sampled_from(KINDS), obj=st.dictionaries(st.sampled_from(FIELD_NAMES), k8s_like, max_size=4) | st.dictionaries(st.text(max_size=6), json_values, max_size=4))
def test_record_from_dict_never_raises_on_objects(kind: str, obj: dict) -> None:
    record = record_from_dict(kind, obj)
    record_key(kind, record)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(kind=st.sampled_from(KINDS), items=st.lists(k8s_like, max_size=4), meta=k8s_like)
def test_decode_list_never_raises_on_objects(kind: str, items: list, meta) -> None:
    data = json.dumps({"metadata": meta, "items": items}).encode()
    result = decode_list(kind, data)
    assert len(result.items) + result.skipped >= len([i for i in items if isinstance(i, dict)])
    line = json.dumps({"type": "MODIFIED", "object": items[0] if items else meta}).encode()
    decode_watch_line(kind, line)
