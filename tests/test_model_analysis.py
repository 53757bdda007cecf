"""kataview.model.analysis: pods by runtime, node handlers, RuntimeClass placement, summary."""

from __future__ import annotations

import dataclasses
import time

import pytest

from kataview.model import analysis as a
from kataview.model.records import (
    ClusterSnapshot,
    Event,
    LabelSelector,
    Node,
    OwnerRef,
    Pod,
    RuntimeClass,
    RuntimeHandler,
    SelectorRequirement,
    Taint,
    Toleration,
)

KATA = {"katacontainers.io/kata-runtime": "true"}
UNTRUSTED = Taint("untrusted", "true", "NoSchedule")


def pod(name: str, rc: str | None = None, node: str | None = "w1", ns: str = "default", **kw) -> Pod:
    return Pod(uid=f"uid-{ns}-{name}", namespace=ns, name=name, node_name=node, runtime_class_name=rc, **kw)


def snap(nodes=(), classes=(), pods=(), **kw) -> ClusterSnapshot:
    return ClusterSnapshot(
        nodes={n.name: n for n in nodes},
        runtime_classes={rc.name: rc for rc in classes},
        pods={p.uid: p for p in pods},
        **kw,
    )


@pytest.mark.parametrize(
    ("handler", "family"),
    [("runc", "runc"), ("", "runc"), (None, "runc"), ("crun", "runc"), ("kata", "kata"), ("kata-qemu", "kata"),
     ("kata-clh", "kata"), ("kata-fc", "kata"), ("kata-qemu-nvidia-gpu-snp", "kata"), ("Kata-Remote", "kata"),
     ("runsc", "gvisor"), ("gvisor", "gvisor"), ("runsc-kvm", "gvisor"), ("nvidia", "other"),
     ("wasmtime", "other"), ("spin", "other"), ("myconfiguration", "other")],
)
def test_runtime_family(handler, family) -> None:
    assert a.runtime_family(handler) == family


def test_pod_runtime_sources() -> None:
    s = snap(classes=[RuntimeClass("kata", "kata-qemu"), RuntimeClass("gvisor", "runsc")])
    cases = [
        (pod("a", "kata"), ("kata-qemu", "kata-qemu", "kata", "runtimeclass")),
        (pod("b", "gvisor"), ("runsc", "runsc", "gvisor", "runtimeclass")),
        (pod("c"), ("runc (default)", "", "runc", "default")),
        (pod("d", annotations={"io.kubernetes.cri.untrusted-workload": "true"}), ("untrusted (legacy annotation)", None, "other", "legacy-annotation")),
        (pod("e", annotations={"io.kubernetes.cri-o.TrustedSandbox": "false"}), ("untrusted (legacy annotation)", None, "other", "legacy-annotation")),
        (pod("f", annotations={"io.kubernetes.cri.untrusted-workload": "false"}), ("runc (default)", "", "runc", "default")),
        (pod("g", "kata-fc"), ("kata-fc (missing RuntimeClass)", None, "kata", "missing-runtimeclass")),
        # a RuntimeClass wins over the legacy annotation
        (pod("h", "kata", annotations={"io.kubernetes.cri.untrusted-workload": "true"}), ("kata-qemu", "kata-qemu", "kata", "runtimeclass")),
    ]
    for p, want in cases:
        got = a.pod_runtime(p, s)
        assert (got.label, got.handler, got.family, got.source) == want, p.name
    unreadable = snap(unreadable={"runtimeclasses": "403 Forbidden"})
    assert a.pod_runtime(pod("x", "kata"), unreadable).label == "kata (RuntimeClass unreadable)"


def test_group_pods_by_runtime() -> None:
    classes = [RuntimeClass("kata", "kata"), RuntimeClass("kata-oc", "kata"), RuntimeClass("gvisor", "runsc"), RuntimeClass("gpu", "nvidia")]
    pods = [pod("r1"), pod("r2"), pod("k1", "kata"), pod("k2", "kata-oc"), pod("g1", "gvisor"), pod("n1", "gpu"),
            pod("m1", "nope"), pod("l1", annotations={"io.kubernetes.cri.untrusted-workload": "true"})]
    groups = a.group_pods_by_runtime(snap(classes=classes, pods=pods))
    assert [(g.label, g.family, g.count) for g in groups] == [
        ("runc (default)", "runc", 2), ("kata", "kata", 2), ("runsc", "gvisor", 1),
        ("nope (missing RuntimeClass)", "other", 1), ("nvidia", "other", 1), ("untrusted (legacy annotation)", "other", 1),
    ]
    by_label = {g.label: g for g in groups}
    assert "runc" in by_label["runc (default)"].detail and "assumed" in by_label["runc (default)"].detail
    assert by_label["kata"].runtime_classes == ("kata", "kata-oc")
    assert "kata-oc" in by_label["kata"].detail
    assert {p.name for p in by_label["kata"].pods} == {"k1", "k2"}
    # a subset of pods
    subset = a.group_pods_by_runtime(snap(classes=classes, pods=pods), pods=[pods[2]])
    assert [(g.label, g.count) for g in subset] == [("kata", 1)]
    assert a.group_pods_by_runtime(snap()) == []


def test_pods_per_runtime_on_node() -> None:
    s = snap(classes=[RuntimeClass("kata", "kata")],
             pods=[pod("a", node="w1"), pod("b", "kata", node="w1"), pod("c", "kata", node="w1"), pod("d", node="w2"), pod("e", node=None)])
    assert a.pods_per_runtime_on_node(s) == {"w1": {"runc (default)": 1, "kata": 2}, "w2": {"runc (default)": 1}}


def test_many_pods_one_pass() -> None:
    classes = [RuntimeClass("kata", "kata-qemu"), RuntimeClass("gvisor", "runsc")]
    names = [None, "kata", "gvisor", "missing"]
    pods = [pod(f"p{i}", names[i % 4], node=f"w{i % 50}") for i in range(20_000)]
    s = snap(classes=classes, pods=pods)
    start = time.perf_counter()
    groups = a.group_pods_by_runtime(s)
    elapsed = time.perf_counter() - start
    assert sum(g.count for g in groups) == 20_000
    assert {g.label: g.count for g in groups}["kata-qemu"] == 5_000
    assert sum(sum(c.values()) for c in a.pods_per_runtime_on_node(s).values()) == 20_000
    assert elapsed < 5  # generous: a regression to per-pod RuntimeClass scans would show


# -- selectors and taints --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toleration", "taint", "ok"),
    [
        (Toleration("untrusted", "Exists"), UNTRUSTED, True),
        (Toleration("untrusted", "Equal", "true", "NoSchedule"), UNTRUSTED, True),
        (Toleration("untrusted", "Equal", "false"), UNTRUSTED, False),
        (Toleration("untrusted", "Exists", effect="NoExecute"), UNTRUSTED, False),
        (Toleration("", "Exists"), UNTRUSTED, True),  # tolerates everything
        (Toleration("other", "Exists"), UNTRUSTED, False),
        (Toleration("untrusted", "Bogus"), UNTRUSTED, False),
    ],
)
def test_tolerates(toleration, taint, ok) -> None:
    assert a.tolerates(toleration, taint) is ok


def test_label_selector() -> None:
    labels = {"app": "web", "tier": "front"}
    assert a.label_selector_matches(LabelSelector(), labels)
    assert a.label_selector_matches(LabelSelector({"app": "web"}), labels)
    assert not a.label_selector_matches(LabelSelector({"app": "db"}), labels)
    req = SelectorRequirement
    assert a.label_selector_matches(LabelSelector(match_expressions=(req("tier", "In", ("front", "x")),)), labels)
    assert not a.label_selector_matches(LabelSelector(match_expressions=(req("tier", "NotIn", ("front",)),)), labels)
    assert a.label_selector_matches(LabelSelector(match_expressions=(req("zone", "DoesNotExist"),)), labels)
    assert not a.label_selector_matches(LabelSelector(match_expressions=(req("zone", "Exists"),)), labels)
    assert not a.label_selector_matches(LabelSelector(match_expressions=(req("app", "Gt", ("1",)),)), labels)
    assert a.selector_matches(None, {}) and a.selector_matches({}, {})
    assert not a.selector_matches({"a": "b"}, {"a": "c"})


# -- handlers per node -----------------------------------------------------------------------


def test_node_handlers_reported() -> None:
    node = Node("w1", runtime_handlers=(RuntimeHandler(""), RuntimeHandler("runc"), RuntimeHandler("kata-qemu")))
    got = a.node_handlers(node, snap(nodes=[node]))
    assert got.names == ("runc", "kata-qemu") and not got.inferred and got.reports_default
    assert "reported" in got.reason


def test_node_handlers_inferred() -> None:
    classes = [RuntimeClass("kata", "kata"), RuntimeClass("gvisor", "runsc", node_selector={"sandbox": "gvisor"}),
               RuntimeClass("runc", "runc"), RuntimeClass("wasm", "spin")]
    labelled = Node("w1", labels={**KATA, "sandbox": "gvisor"})
    plain = Node("w2")
    s = snap(nodes=[labelled, plain], classes=classes)
    got = a.node_handlers(labelled, s)
    assert got.inferred and set(got.names) == {"kata", "runsc", "runc"}
    assert "katacontainers.io/kata-runtime" in got.reason
    assert a.node_handlers(plain, s).names == ("runc",)


def test_node_handlers_known_missing_from_events() -> None:
    classes = [RuntimeClass("kata", "kata")]
    node = Node("w1", labels=KATA)
    stuck = pod("p", "kata", node="w1", phase="Pending")
    event = Event(uid="e", namespace="default", name="e", reason="FailedCreatePodSandBox", type="Warning",
                  message='failed to get sandbox runtime: no runtime for "kata" is configured',
                  involved_kind="Pod", involved_namespace="default", involved_name="p", involved_uid=stuck.uid)
    got = a.node_handlers(node, snap(nodes=[node], classes=classes, pods=[stuck], events=(event,)))
    assert got.known_missing == ("kata",) and "kata" not in got.names
    (fit,) = a.runtime_class_nodes(classes[0], snap(nodes=[node], classes=classes, pods=[stuck], events=(event,)))
    assert not fit.can_run and "sandbox creation failed" in fit.why


def test_node_handlers_from_running_pods() -> None:
    classes = [RuntimeClass("gvisor", "runsc")]
    node, other = Node("w1"), Node("w2")
    running = pod("g", "gvisor", node="w1", phase="Running")
    s = snap(nodes=[node, other], classes=classes, pods=[running])
    got = a.node_handlers(node, s)
    assert got.inferred and got.names == ("runsc",) and "pods run there" in got.reason
    assert a.node_handlers(other, s).names == ()
    fits = {fit.node: fit for fit in a.runtime_class_nodes(classes[0], s)}
    assert fits["w1"].can_run and fits["w1"].inferred and not fits["w2"].has_handler
    # evidence is memoised per snapshot: a new snapshot is looked at afresh
    pending = snap(nodes=[node, other], classes=classes, pods=[dataclasses.replace(running, phase="Pending")])
    assert a.node_handlers(node, pending).names == ()


def test_runtime_class_nodes() -> None:
    rc = RuntimeClass("kata", "kata-qemu", node_selector=KATA, tolerations=(Toleration("untrusted", "Exists", effect="NoSchedule"),))
    handlers = (RuntimeHandler(""), RuntimeHandler("kata-qemu"))
    good = Node("a-good", labels=KATA, taints=(UNTRUSTED,), runtime_handlers=handlers)
    no_handler = Node("b-nohandler", labels=KATA, runtime_handlers=(RuntimeHandler(""),))
    unlabelled = Node("c-unlabelled", runtime_handlers=handlers)
    tainted = Node("d-tainted", labels=KATA, taints=(Taint("gpu", "", "NoExecute"),), runtime_handlers=handlers)
    cordoned = Node("e-cordoned", labels=KATA, unschedulable=True, runtime_handlers=handlers)
    inferred = Node("f-inferred", labels=KATA)
    soft = Node("g-soft", labels=KATA, taints=(Taint("x", "", "PreferNoSchedule"),), runtime_handlers=handlers)
    fits = {f.node: f for f in a.runtime_class_nodes(rc, snap(nodes=[good, no_handler, unlabelled, tainted, cordoned, inferred, soft], classes=[rc]))}
    assert [n for n, f in fits.items() if f.can_run] == ["a-good", "f-inferred", "g-soft"]
    assert not fits["a-good"].inferred and fits["f-inferred"].inferred
    assert not fits["b-nohandler"].has_handler and fits["b-nohandler"].schedulable
    assert fits["c-unlabelled"].has_handler and not fits["c-unlabelled"].schedulable and "nodeSelector" in fits["c-unlabelled"].why
    assert "gpu:NoExecute" in fits["d-tainted"].why
    assert "cordoned" in fits["e-cordoned"].why


def test_summarize() -> None:
    classes = [RuntimeClass("kata", "kata"), RuntimeClass("gvisor", "runsc")]
    from kataview.model.records import Condition

    nodes = [Node("w1", conditions=(Condition("Ready", "True"),), runtime_handlers=(RuntimeHandler("kata"),)), Node("w2")]
    pods = [pod("a"), pod("b", "kata"), pod("c", "gvisor"), pod("d", annotations={"io.kubernetes.cri.untrusted-workload": "true"})]
    summary = a.summarize(snap(nodes=nodes, classes=classes, pods=pods, unreadable={"events": "403"}))
    assert (summary.nodes, summary.nodes_ready, summary.nodes_reporting_handlers, summary.runtime_classes, summary.pods) == (2, 1, 1, 2, 4)
    assert summary.pods_per_runtime == {"runc (default)": 1, "kata": 1, "runsc": 1, "untrusted (legacy annotation)": 1}
    assert summary.pods_per_family == {"runc": 1, "kata": 1, "gvisor": 1, "other": 1}
    assert summary.sandboxed_pods == 3
    assert summary.unreadable == ("events",)


def test_owner_is_not_required() -> None:
    p = pod("x", owner=OwnerRef("ReplicaSet", "rs", True))
    assert a.pod_runtime(p, snap()).label == "runc (default)"
