"""kataview.model.findings: each finding fires on a constructed snapshot and does NOT fire on
its healthy counterpart; the sandbox-failure classifier on messages from real runtimes."""

from __future__ import annotations

import dataclasses
import re

import pytest

from kataview.model import analysis, events
from kataview.model import findings as f
from kataview.model.records import (
    ClusterSnapshot,
    Event,
    LabelSelector,
    NetworkPolicy,
    Node,
    OwnerRef,
    Pod,
    RuntimeClass,
    RuntimeHandler,
    Taint,
    Toleration,
)

KATA_LABEL = {"katacontainers.io/kata-runtime": "true"}
UNTRUSTED = Taint("untrusted", "true", "NoSchedule")
TOLERATE_UNTRUSTED = Toleration("untrusted", "Exists", effect="NoSchedule")
RUNC_HANDLERS = (RuntimeHandler(""), RuntimeHandler("runc"))
KATA_HANDLERS = RUNC_HANDLERS + (RuntimeHandler("kata-qemu"),)


def pod(name, rc=None, node="trusted-1", ns="shop", owner=("ReplicaSet", "rs"), **kw) -> Pod:
    return Pod(uid=f"uid-{ns}-{name}", namespace=ns, name=name, node_name=node, runtime_class_name=rc,
               owner=OwnerRef(owner[0], owner[1], True) if owner else None, phase=kw.pop("phase", "Running"), **kw)


def healthy(**changes) -> dict:
    """The three-node trusted/untrusted cluster, done right. Returns the parts, to be changed."""
    parts = dict(
        nodes=[
            Node("cp", labels={"node-role.kubernetes.io/control-plane": ""},
                 taints=(Taint("node-role.kubernetes.io/control-plane", "", "NoSchedule"),), runtime_handlers=RUNC_HANDLERS),
            Node("trusted-1", runtime_handlers=RUNC_HANDLERS),
            Node("untrusted-1", labels=KATA_LABEL, taints=(UNTRUSTED,), runtime_handlers=KATA_HANDLERS),
        ],
        classes=[RuntimeClass("kata", "kata-qemu", node_selector=KATA_LABEL, tolerations=(TOLERATE_UNTRUSTED,))],
        pods=[
            pod("web-1"),
            pod("job-1", "kata", node="untrusted-1", ns="sandbox", labels={"app": "job"}),
            pod("node-agent-x", node="untrusted-1", ns="kube-system", owner=("DaemonSet", "agent")),
            pod("kube-proxy-untrusted-1", node="untrusted-1", ns="kube-system", owner=("Node", "untrusted-1")),
        ],
        events=[],
        policies=[NetworkPolicy("sandbox", "deny-all", LabelSelector(), ("Ingress", "Egress"))],
        unreadable={},
    )
    parts.update(changes)
    return parts


def build(parts: dict) -> ClusterSnapshot:
    return ClusterSnapshot(
        nodes={n.name: n for n in parts["nodes"]},
        runtime_classes={rc.name: rc for rc in parts["classes"]},
        pods={p.uid: p for p in parts["pods"]},
        events=tuple(parts["events"]),
        network_policies=tuple(parts["policies"]),
        unreadable=parts["unreadable"],
    )


def codes(parts: dict) -> list[str]:
    return [finding.code for finding in analysis.find_findings(build(parts))]


def only(parts: dict, code: str) -> f.Finding:
    found = [finding for finding in analysis.find_findings(build(parts)) if finding.code == code]
    assert len(found) == 1, found
    return found[0]


def sandbox_event(p: Pod, message: str) -> Event:
    return Event(uid=f"ev-{p.name}", namespace=p.namespace, name=f"{p.name}.1", reason="FailedCreatePodSandBox",
                 type="Warning", message=message, involved_kind="Pod", involved_namespace=p.namespace,
                 involved_name=p.name, involved_uid=p.uid, count=5, source="kubelet")


def test_healthy_cluster_has_no_findings() -> None:
    assert codes(healthy()) == []


def test_every_code_is_documented() -> None:
    documented = set(re.findall(r"^(KV\d{3}) ", f.__doc__, re.M))
    assert documented == {f"KV00{i}" for i in range(1, 9)}


# KV001 --------------------------------------------------------------------------------------


def test_kv001_handler_nowhere() -> None:
    parts = healthy()
    parts["classes"] = parts["classes"] + [RuntimeClass("gvisor", "runsc")]
    finding = only(parts, "KV001")
    assert (finding.severity, finding.kind, finding.name) == ("error", "RuntimeClass", "gvisor")
    assert "'runsc'" in finding.message and "gvisor" in finding.message
    # healthy counterpart: a node offers runsc
    parts["nodes"][1] = dataclasses.replace(parts["nodes"][1], runtime_handlers=RUNC_HANDLERS + (RuntimeHandler("runsc"),))
    assert "KV001" not in codes(parts)


def test_kv001_inferred_is_a_warning() -> None:
    nodes = [Node("a"), Node("b")]  # no runtimeHandlers, no kata label
    parts = healthy(nodes=nodes, pods=[], policies=[])
    finding = only(parts, "KV001")
    assert finding.severity == "warning" and "do not report runtimeHandlers" in finding.message
    parts["nodes"] = [Node("a", labels=KATA_LABEL), Node("b")]
    assert "KV001" not in codes(parts)
    # a pod running with the handler is evidence too
    parts["nodes"] = nodes
    parts["pods"] = [pod("job-1", "kata", node="b", ns="sandbox")]
    parts["policies"] = [NetworkPolicy("sandbox", "deny-all")]
    assert "KV001" not in codes(parts)
    parts["pods"] = [pod("job-1", "kata", node="b", ns="sandbox", phase="Pending")]
    assert "KV001" in codes(parts)


# KV002 --------------------------------------------------------------------------------------


def test_kv002_no_node_selector_while_some_nodes_lack_handler() -> None:
    parts = healthy()
    parts["classes"] = [dataclasses.replace(parts["classes"][0], node_selector=None)]
    finding = only(parts, "KV002")
    assert finding.name == "kata" and "trusted-1" in finding.message
    assert "cp" not in finding.message.split("(")[1]  # the control-plane taint keeps kata pods off cp
    assert "nodeSelector" in finding.message
    # an empty nodeSelector is no selector either
    parts["classes"] = [dataclasses.replace(parts["classes"][0], node_selector={})]
    assert "KV002" in codes(parts)


def test_kv002_not_when_every_reachable_node_has_the_handler() -> None:
    parts = healthy()
    parts["classes"] = [dataclasses.replace(parts["classes"][0], node_selector=None)]
    parts["nodes"][1] = dataclasses.replace(parts["nodes"][1], runtime_handlers=KATA_HANDLERS)
    assert "KV002" not in codes(parts)


# KV003 --------------------------------------------------------------------------------------

CONTAINERD = ('Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox runtime: '
              'no runtime for "kata-qemu" is configured')
CRIO = ("Failed to create pod sandbox: rpc error: code = Unknown desc = failed to find runtime handler kata-qemu "
        "from runtime list map[crun:0xc000 runc:0xc001]")


@pytest.mark.parametrize("message", [CONTAINERD, CRIO])
def test_kv003_stuck_pod(message) -> None:
    stuck = pod("payments-1", "kata", node="trusted-1", phase="Pending")
    parts = healthy()
    parts["pods"] = parts["pods"] + [stuck]
    parts["events"] = [sandbox_event(stuck, message), sandbox_event(stuck, message)]  # reported once
    finding = only(parts, "KV003")
    assert (finding.kind, finding.namespace, finding.name) == ("Pod", "shop", "payments-1")
    assert "trusted-1" in finding.message and "'kata-qemu'" in finding.message and "RuntimeClass kata" in finding.message


def test_kv003_not_for_running_or_gone_pods() -> None:
    running = pod("payments-1", "kata", node="untrusted-1", phase="Running", ns="sandbox")
    parts = healthy()
    parts["pods"] = parts["pods"] + [running]
    parts["events"] = [sandbox_event(running, CONTAINERD)]
    assert "KV003" not in codes(parts)
    gone = pod("gone-1", "kata", phase="Pending")
    parts["events"] = [sandbox_event(gone, CONTAINERD)]
    assert "KV003" not in codes(parts)
    # ...unless pods could not be read: then the event is all there is
    parts["unreadable"] = {"pods": "403 Forbidden"}
    assert "KV003" in codes(parts)


# KV004 --------------------------------------------------------------------------------------


def test_kv004_missing_runtime_class() -> None:
    parts = healthy()
    parts["pods"] = parts["pods"] + [pod("fc-1", "kata-fc", phase="Pending"), pod("fc-2", "kata-fc", phase="Pending")]
    finding = only(parts, "KV004")
    assert (finding.kind, finding.name, finding.severity) == ("RuntimeClass", "kata-fc", "error")
    assert "2 pod(s)" in finding.message and "shop/fc-1" in finding.message
    parts["classes"] = parts["classes"] + [RuntimeClass("kata-fc", "kata-fc", node_selector=KATA_LABEL)]
    assert "KV004" not in codes(parts)


def test_kv004_not_when_runtimeclasses_unreadable() -> None:
    parts = healthy(unreadable={"runtimeclasses": "403"})
    parts["pods"] = parts["pods"] + [pod("fc-1", "kata-fc")]
    assert "KV004" not in codes(parts)


def test_kv004_from_rejected_pod_event() -> None:
    parts = healthy()
    rejected = Event(uid="e", namespace="shop", name="e", reason="FailedCreate", type="Warning",
                     message='pods "nginx-runc" is forbidden: pod rejected: RuntimeClass "native" not found',
                     involved_kind="ReplicaSet", involved_namespace="shop", involved_name="nginx-runc")
    parts["events"] = [rejected]
    assert only(parts, "KV004").name == "native"


# KV005 --------------------------------------------------------------------------------------


def test_kv005_runc_workload_on_untrusted_node() -> None:
    parts = healthy()
    leaky = [pod(f"cache-{i}", node="untrusted-1", tolerations=(TOLERATE_UNTRUSTED,), owner=("ReplicaSet", "cache-5f")) for i in range(2)]
    parts["pods"] = parts["pods"] + leaky
    finding = only(parts, "KV005")
    assert (finding.kind, finding.namespace, finding.name) == ("ReplicaSet", "shop", "cache-5f")
    assert "2 runc pod(s)" in finding.message and "untrusted-1" in finding.message and "untrusted=true:NoSchedule" in finding.message


def test_kv005_taint_recognised_through_runtimeclass_toleration() -> None:
    taint = Taint("sandbox.example.com/isolated", "", "NoExecute")
    parts = healthy()
    parts["nodes"][2] = dataclasses.replace(parts["nodes"][2], taints=(taint,))
    parts["classes"] = [dataclasses.replace(parts["classes"][0], tolerations=(Toleration(taint.key, "Exists"),))]
    parts["pods"] = parts["pods"] + [pod("cache-1", node="untrusted-1", owner=None)]
    finding = only(parts, "KV005")
    assert (finding.kind, finding.name) == ("Pod", "cache-1")
    # a taint no sandboxed RuntimeClass tolerates and that says nothing of trust is not a boundary
    parts["classes"] = [dataclasses.replace(parts["classes"][0], tolerations=(Toleration("", "Exists"),))]
    assert "KV005" not in codes(parts)


def test_kv005_not_for_daemonsets_static_pods_sandboxed_or_finished() -> None:
    parts = healthy()  # already holds a DaemonSet pod and a static pod on untrusted-1
    parts["pods"] = parts["pods"] + [
        pod("job-2", "kata", node="untrusted-1", ns="sandbox", labels={"app": "job"}),
        pod("old-1", node="untrusted-1", phase="Succeeded"),
    ]
    assert "KV005" not in codes(parts)


# KV006 --------------------------------------------------------------------------------------


def test_kv006_sandboxed_namespace_without_network_policy() -> None:
    finding = only(healthy(policies=[]), "KV006")
    assert (finding.kind, finding.name) == ("Namespace", "sandbox") and "job-1" in finding.message
    other = NetworkPolicy("sandbox", "web-only", LabelSelector({"app": "web"}))
    assert "KV006" in codes(healthy(policies=[other]))
    elsewhere = NetworkPolicy("shop", "deny-all", LabelSelector())
    assert "KV006" in codes(healthy(policies=[elsewhere]))
    selecting = NetworkPolicy("sandbox", "job", LabelSelector({"app": "job"}))
    assert "KV006" not in codes(healthy(policies=[selecting]))
    assert "KV006" not in codes(healthy(policies=[], unreadable={"networkpolicies": "403"}))


def test_kv006_runc_only_namespace_needs_no_policy() -> None:
    parts = healthy(policies=[])
    parts["pods"] = [p for p in parts["pods"] if p.runtime_class_name is None]
    assert "KV006" not in codes(parts)


# KV007, KV008 -------------------------------------------------------------------------------

VSOCK = ("Failed to create pod sandbox: rpc error: code = Unknown desc = CreateContainer failed: Failed to check if grpc "
         "server is working: rpc error: code = DeadlineExceeded desc = timed out connecting to vsock 3379238252:1024: unknown")


def test_kv007_vsock_timeout() -> None:
    stuck = pod("www-kata", "kata", node="untrusted-1", ns="sandbox", phase="Pending", labels={"app": "job"})
    parts = healthy()
    parts["pods"] = parts["pods"] + [stuck]
    parts["events"] = [sandbox_event(stuck, VSOCK)]
    finding = only(parts, "KV007")
    assert finding.name == "www-kata" and "vsock" in finding.message and "untrusted-1" in finding.message
    parts["pods"][-1] = dataclasses.replace(stuck, phase="Running")
    assert "KV007" not in codes(parts)


def test_kv008_legacy_annotation() -> None:
    parts = healthy()
    legacy = pod("old-untrusted", node="untrusted-1", ns="sandbox", labels={"app": "job"},
                 annotations={"io.kubernetes.cri.untrusted-workload": "true"})
    parts["pods"] = parts["pods"] + [legacy]
    finding = only(parts, "KV008")
    assert finding.severity == "info" and finding.name == "sandbox"
    assert "KV005" not in codes(parts)  # asking for the untrusted runtime is not a runc leak


def test_findings_are_sorted_errors_first() -> None:
    parts = healthy(policies=[])
    parts["pods"] = parts["pods"] + [pod("fc-1", "kata-fc")]
    found = analysis.find_findings(build(parts))
    assert [x.code for x in found] == ["KV004", "KV006"]
    assert found[0].object == "RuntimeClass kata-fc"


def test_empty_snapshot() -> None:
    assert analysis.find_findings(ClusterSnapshot()) == []


# -- classifier ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "class_", "handler"),
    [
        (CONTAINERD, "no-runtime-configured", "kata-qemu"),
        (CRIO, "no-runtime-configured", "kata-qemu"),
        ('error="failed to get sandbox runtime: no runtime for \\"kata\\" is configured"', "no-runtime-configured", "kata"),
        ('no runtime for \\\\\\"kata-clh\\\\\\" is configured', "no-runtime-configured", "kata-clh"),
        (VSOCK, "agent-vsock-timeout", None),
        ('pod rejected: RuntimeClass "native" not found', "runtimeclass-not-found", None),
        ('failed to get sandbox runtime: runtimeclass.node.k8s.io "kata" not found', "runtimeclass-not-found", None),
        ("Successfully assigned default/www-kata to alma8", "other", None),
        ("", "other", None),
    ],
)
def test_event_sandbox_failure(message, class_, handler) -> None:
    got = events.event_sandbox_failure(message)
    assert (got.class_, got.handler) == (class_, handler)
    event = Event(uid="e", namespace="ns", name="e", reason="FailedCreatePodSandBox", message=message)
    assert events.event_sandbox_failure(event) == got
