"""The demo scenarios: the classic cluster has every required piece; the generator scales."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

from kataview.demo.generator import generated_objects
from kataview.demo.motion import DemoMotion
from kataview.demo.scenario import classic_objects
from kataview.demo.store import ObjectStore

NOW = datetime(2025, 1, 15, 12, 0, 0, tzinfo=timezone.utc)


def by_kind(objects):
    out: dict[str, dict[str, dict]] = {}
    for obj in objects:
        meta = obj["metadata"]
        key = f"{meta['namespace']}/{meta['name']}" if "namespace" in meta else meta["name"]
        out.setdefault(obj["kind"], {})[key] = obj
    return out


def test_classic_is_deterministic():
    assert classic_objects(NOW) == classic_objects(NOW)


def test_classic_nodes():
    nodes = by_kind(classic_objects(NOW))["Node"]
    assert set(nodes) == {"k8s-control-plane", "k8s-worker", "k8s-worker-untrusted", "k8s-worker-kata"}
    cp = nodes["k8s-control-plane"]
    assert "node-role.kubernetes.io/control-plane" in cp["metadata"]["labels"]
    assert cp["spec"]["taints"] == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    untrusted = nodes["k8s-worker-untrusted"]
    assert untrusted["metadata"]["labels"]["example.org/workload"] == "untrusted"
    assert untrusted["metadata"]["labels"]["katacontainers.io/kata-runtime"] == "true"
    assert untrusted["spec"]["taints"] == [{"key": "example.org/workload", "value": "untrusted", "effect": "NoSchedule"}]
    handlers = {h["name"]: h["features"] for h in untrusted["status"]["runtimeHandlers"]}
    assert set(handlers) == {"", "runc", "kata"}
    assert set(handlers["kata"]) == {"recursiveReadOnlyMounts", "userNamespaces"}
    assert "runtimeHandlers" not in nodes["k8s-worker-kata"]["status"]
    assert nodes["k8s-worker-kata"]["metadata"]["labels"]["katacontainers.io/kata-runtime"] == "true"
    for node in nodes.values():
        info = node["status"]["nodeInfo"]
        assert re.fullmatch(r"containerd://\d+\.\d+\.\d+", info["containerRuntimeVersion"])
        assert info["kubeletVersion"].startswith("v1.31.")


def test_classic_runtime_classes():
    rcs = by_kind(classic_objects(NOW))["RuntimeClass"]
    kata = rcs["kata"]
    assert kata["handler"] == "kata" and kata["overhead"]["podFixed"] == {"cpu": "250m", "memory": "160Mi"}
    assert kata["scheduling"]["nodeSelector"] == {"example.org/workload": "untrusted"}
    assert kata["scheduling"]["tolerations"][0]["key"] == "example.org/workload"
    assert rcs["kata-qemu"]["overhead"]["podFixed"] == {"cpu": "250m", "memory": "160Mi"}
    for name in ("kata-clh", "kata-fc"):
        assert rcs[name]["overhead"]["podFixed"] == {"cpu": "250m", "memory": "130Mi"}
        assert rcs[name]["scheduling"]["nodeSelector"] == {"katacontainers.io/kata-runtime": "true"}
    assert rcs["gvisor"]["handler"] == "runsc"


def test_classic_pods_and_events():
    objects = by_kind(classic_objects(NOW))
    pods = list(objects["Pod"].values())
    rc_of = Counter(p["spec"].get("runtimeClassName", "") for p in pods)
    assert rc_of["kata"] == 2 and rc_of["kata-qemu"] == 2 and rc_of["gvisor"] == 1 and rc_of["kata-fc"] == 1
    assert "kata-legacy" in rc_of and "kata-legacy" not in objects["RuntimeClass"]
    trusted = [p for p in pods if p["metadata"]["name"].startswith("nginx-trusted-")]
    assert len(trusted) == 2 and all("runtimeClassName" not in p["spec"] for p in trusted)
    for pod in trusted:
        assert [c["name"] for c in pod["spec"]["containers"]] == ["curl", "nginx"]
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
        status = pod["status"]
        assert status["qosClass"] == "BestEffort" and status["podIP"] and status["hostIP"]
        for cs in status["containerStatuses"]:
            assert re.fullmatch(r"containerd://[0-9a-f]{64}", cs["containerID"])
            assert cs["state"]["running"]["startedAt"]
    proxies = [p for p in pods if p["metadata"]["name"].startswith("kube-proxy-")]
    assert {p["spec"]["nodeName"] for p in proxies} == set(objects["Node"])
    assert all(p["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet" for p in proxies)
    stuck = next(p for p in pods if p["spec"].get("runtimeClassName") == "kata-fc")
    assert stuck["status"]["phase"] == "Pending"
    assert stuck["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
    failed = [e for e in objects["Event"].values() if e["reason"] == "FailedCreatePodSandBox"]
    assert len(failed) == 1
    event = failed[0]
    assert event["type"] == "Warning" and event["source"]["component"] == "kubelet" and event["count"] > 1
    assert event["message"] == ('Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get '
                                'sandbox runtime: no runtime for "kata-fc" is configured')
    assert event["involvedObject"]["uid"] == stuck["metadata"]["uid"]
    assert event["firstTimestamp"] < event["lastTimestamp"]
    namespaces = set(objects["Namespace"])
    assert {p["metadata"]["namespace"] for p in pods} <= namespaces
    policies = objects["NetworkPolicy"]
    assert {k.split("/")[0] for k in policies} == {"untrusted"}
    sandboxed_ns = {p["metadata"]["namespace"] for p in pods if p["spec"].get("runtimeClassName")}
    assert sandboxed_ns - {"untrusted"}  # sandboxed pods in a namespace without a NetworkPolicy


def test_generator_counts_and_shape():
    objects = generated_objects(50, 1000, seed=3, now=NOW)
    kinds = Counter(o["kind"] for o in objects)
    assert kinds["Node"] == 50 and kinds["Pod"] == 1000 and kinds["RuntimeClass"] == 5
    assert generated_objects(50, 1000, seed=3, now=NOW) == objects
    pods = [o for o in objects if o["kind"] == "Pod"]
    rcs = Counter(p["spec"].get("runtimeClassName", "runc") for p in pods)
    assert set(rcs) == {"runc", "kata", "kata-qemu", "kata-clh", "gvisor", "kata-fc"}
    assert 500 < rcs["runc"] < 700
    phases = Counter(p["status"]["phase"] for p in pods)
    assert phases["Pending"] > 0 and phases["Running"] > 900
    assert any(cs["restartCount"] > 0 for p in pods for cs in p["status"].get("containerStatuses", []))
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    assert {p["metadata"]["namespace"] for p in pods} <= namespaces
    nodes = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Node"}
    assert {p["spec"]["nodeName"] for p in pods if "nodeName" in p["spec"]} <= set(nodes)
    assert any("runtimeHandlers" not in n["status"] for n in nodes.values())
    kata_pods = [p for p in pods if p["spec"].get("runtimeClassName") == "kata" and "nodeName" in p["spec"]]
    assert all(nodes[p["spec"]["nodeName"]]["metadata"]["labels"].get("example.org/workload") == "untrusted"
               for p in kata_pods)
    assert len({p["metadata"]["uid"] for p in pods}) == 1000
    assert len({(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods}) == 1000


class FakeClock:
    def __init__(self):
        self.t = NOW

    def now(self):
        return self.t

    async def sleep(self, seconds):
        self.t += timedelta(seconds=seconds)


async def test_demo_motion_moves_the_classic_cluster():
    store = ObjectStore(classic_objects(NOW))
    motion = DemoMotion()
    rv = store.resource_version
    await motion.run(store, FakeClock())
    assert motion.done == ["new_pod_pending", "new_pod_creating", "restart_one", "bump_stuck_event",
                           "new_pod_running"]
    assert store.resource_version == rv + 5
    new = store.get("Pod", "untrusted", "nginx-untrusted-5b7c9f8d6c-demo1")
    assert new["status"]["phase"] == "Running" and new["spec"]["runtimeClassName"] == "kata"
    event = next(e for e in store.list("Event") if e["reason"] == "FailedCreatePodSandBox")
    assert event["count"] == 62 and event["lastTimestamp"] == "2025-01-15T12:00:02Z"
    restarted = [p for p in store.list("Pod", "sandboxed")
                 if p["status"].get("containerStatuses", [{}])[0].get("restartCount") == 4]
    assert len(restarted) == 1


async def test_demo_motion_skips_missing_objects():
    store = ObjectStore(generated_objects(3, 10, now=NOW))
    motion = DemoMotion()
    await motion.run(store, FakeClock())
    assert motion.done == []
