"""Snapshots for the UI tests, built from records (until the demo scenario can be decoded).

`classic_snapshot()` is the three-node trusted/untrusted cluster plus a CRI-O node that does
not report runtimeHandlers; `generated_snapshot(nodes, pods)` is a large deterministic one for
the benchmark and the scale tests. Everything is relative to FROZEN_NOW.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kataview.model.records import (
    ClusterSnapshot, Condition, ContainerStatus, Event, Node, NodeAddress, OwnerRef, Pod,
    RuntimeClass, RuntimeHandler, Taint, Toleration, WatchState,
)
from kataview.sources.base import SourceInfo
from kataview.sources.settings import Settings
from kataview.sources.static import StaticSource

FROZEN_NOW = datetime(2025, 3, 14, 12, 30, 0, tzinfo=timezone.utc)
KATA = "katacontainers.io/kata-runtime"
UNTRUSTED = Taint("untrusted", "true", "NoSchedule")


def ago(**delta: float) -> datetime:
    return FROZEN_NOW - timedelta(**delta)


def _ready(status: bool = True) -> tuple[Condition, ...]:
    return (Condition("Ready", "True" if status else "False", "KubeletReady" if status else "KubeletNotReady"),
            Condition("MemoryPressure", "False", "KubeletHasSufficientMemory"))


def _handlers(*names: str) -> tuple[RuntimeHandler, ...]:
    return tuple(RuntimeHandler(name) for name in names)


def classic_nodes() -> dict[str, Node]:
    nodes = [
        Node("cp-1", uid="n-cp1", labels={"node-role.kubernetes.io/control-plane": ""},
             taints=(Taint("node-role.kubernetes.io/control-plane", "", "NoSchedule"),),
             conditions=_ready(), addresses=(NodeAddress("InternalIP", "10.0.0.10"),),
             container_runtime_version="containerd://1.7.15", kubelet_version="v1.31.2",
             runtime_handlers=_handlers("", "runc"), created=ago(days=40)),
        Node("trusted-1", uid="n-t1", labels={"node-role.kubernetes.io/worker": "", "pool": "trusted"},
             conditions=_ready(), addresses=(NodeAddress("InternalIP", "10.0.0.11"),),
             container_runtime_version="containerd://1.7.15", kubelet_version="v1.31.2",
             runtime_handlers=_handlers("", "runc"), created=ago(days=40)),
        Node("untrusted-1", uid="n-u1", labels={"node-role.kubernetes.io/worker": "", KATA: "true", "pool": "untrusted"},
             taints=(UNTRUSTED,), conditions=_ready(), addresses=(NodeAddress("InternalIP", "10.0.0.12"),),
             container_runtime_version="containerd://1.7.22", kubelet_version="v1.31.2",
             runtime_handlers=_handlers("", "runc", "kata", "kata-qemu", "runsc"), created=ago(days=12)),
        Node("crio-1", uid="n-c1", labels={"node-role.kubernetes.io/worker": "", KATA: "true"},
             conditions=_ready(False), addresses=(NodeAddress("InternalIP", "10.0.0.13"),),
             container_runtime_version="cri-o://1.29.4", kubelet_version="v1.29.6",
             runtime_handlers=None, created=ago(days=3)),
    ]
    return {node.name: node for node in nodes}


def classic_runtime_classes() -> dict[str, RuntimeClass]:
    untrusted = (Toleration("untrusted", "Equal", "true", "NoSchedule"),)
    classes = [
        RuntimeClass("kata", "kata", overhead={"cpu": "250m", "memory": "160Mi"}, overhead_cpu_millis=250,
                     overhead_memory_bytes=160 * 2**20, node_selector={KATA: "true"}, tolerations=untrusted,
                     created=ago(days=12)),
        RuntimeClass("kata-qemu", "kata-qemu", overhead={"cpu": "250m", "memory": "160Mi"}, overhead_cpu_millis=250,
                     overhead_memory_bytes=160 * 2**20, node_selector={KATA: "true"}, tolerations=untrusted,
                     created=ago(days=12)),
        RuntimeClass("kata-fc", "kata-fc", overhead={"cpu": "250m", "memory": "130Mi"}, overhead_cpu_millis=250,
                     overhead_memory_bytes=130 * 2**20, node_selector={KATA: "true"}, tolerations=untrusted,
                     created=ago(days=2)),
        RuntimeClass("gvisor", "runsc", node_selector={"pool": "untrusted"}, tolerations=untrusted, created=ago(days=12)),
    ]
    return {rc.name: rc for rc in classes}


def make_pod(index: int, namespace: str, name: str, node: str | None, runtime: str | None, *,
             phase: str = "Running", containers: int = 1, ready: bool = True, restarts: int = 0,
             reason: str = "", age: timedelta = timedelta(hours=5)) -> Pod:
    state = "running" if phase == "Running" and not reason else "waiting"
    statuses = tuple(
        ContainerStatus(f"c{number}" if number else name.split("-")[0], image=f"registry.example/{name.split('-')[0]}:1.4",
                        ready=ready and phase == "Running", restart_count=restarts if number == 0 else 0,
                        state=state, reason=reason, started_at=FROZEN_NOW - age if state == "running" else None,
                        container_id=f"containerd://{index:064x}" if state == "running" else "")
        for number in range(containers))
    return Pod(uid=f"uid-{index:06d}", namespace=namespace, name=name, node_name=node,
               runtime_class_name=runtime, phase=phase, containers=statuses,
               owner=OwnerRef("ReplicaSet", name.rsplit("-", 1)[0], True),
               pod_ip=f"10.244.{index // 250}.{index % 250 + 2}" if phase == "Running" else "",
               qos_class="Burstable", created=FROZEN_NOW - age,
               overhead={"cpu": "250m", "memory": "160Mi"} if runtime and runtime.startswith("kata") else {})


def classic_pods() -> dict[str, Pod]:
    pods = [
        make_pod(1, "kube-system", "coredns-7db6d8ff4d-x2kq9", "cp-1", None, age=timedelta(days=40)),
        make_pod(2, "kube-system", "etcd-cp-1", "cp-1", None, age=timedelta(days=40)),
        make_pod(3, "shop", "frontend-5c7f8d9b6-abcde", "trusted-1", None, containers=2, age=timedelta(hours=26)),
        make_pod(4, "shop", "frontend-5c7f8d9b6-fghij", "trusted-1", None, containers=2, restarts=3, age=timedelta(hours=51)),
        make_pod(5, "shop", "checkout-6d4b9c7f5-k8s2m", "untrusted-1", "kata", age=timedelta(hours=7)),
        make_pod(6, "shop", "payments-8f6c5d4b3-q7w2e", "untrusted-1", "kata-qemu", age=timedelta(minutes=42)),
        make_pod(7, "ci", "build-runner-5f8d7c6b4-zz9x1", "untrusted-1", "gvisor", restarts=1, age=timedelta(minutes=9)),
        make_pod(8, "ci", "build-runner-5f8d7c6b4-zz9x2", "crio-1", "kata-fc", phase="Pending", ready=False,
                 reason="ContainerCreating", age=timedelta(minutes=6, seconds=30)),
        make_pod(9, "sandbox", "untrusted-job-7k2p", "untrusted-1", "kata", phase="Running", ready=False,
                 restarts=12, reason="CrashLoopBackOff", age=timedelta(hours=3)),
        make_pod(10, "sandbox", "legacy-app-0", "untrusted-1", "kata-clh", phase="Pending", ready=False,
                 age=timedelta(seconds=95)),
    ]
    return {pod.uid: pod for pod in pods}


def classic_events() -> tuple[Event, ...]:
    return (
        Event("ev-1", "ci", "build-runner-5f8d7c6b4-zz9x2.17f", "FailedCreatePodSandBox", "Warning",
              'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox runtime: '
              'no runtime for "kata-fc" is configured', "Pod", "ci", "build-runner-5f8d7c6b4-zz9x2", "uid-000008",
              count=7, first_seen=ago(minutes=6), last_seen=ago(seconds=40), source="kubelet"),
    )


def classic_snapshot(**changes) -> ClusterSnapshot:
    values = dict(nodes=classic_nodes(), runtime_classes=classic_runtime_classes(), pods=classic_pods(),
                  events=classic_events(), taken_at=FROZEN_NOW)
    values.update(changes)
    return ClusterSnapshot(**values)


def generated_snapshot(nodes: int = 5000, pods: int = 150_000) -> ClusterSnapshot:
    """A large deterministic cluster: every 4th node is a Kata node; pods spread round-robin."""
    base = classic_runtime_classes()
    node_records = {}
    for number in range(nodes):
        kata = number % 4 == 3
        name = f"node-{number:05d}"
        node_records[name] = Node(
            name, uid=f"n-{number}", labels={KATA: "true"} if kata else {}, taints=(UNTRUSTED,) if kata else (),
            conditions=_ready(), container_runtime_version="containerd://1.7.22",
            runtime_handlers=_handlers("", "runc", "kata", "kata-qemu", "runsc") if kata else _handlers("", "runc"))
    runtimes = (None, None, "kata", "kata-qemu", "gvisor", None)
    pod_records = {}
    for number in range(pods):
        runtime = runtimes[number % len(runtimes)]
        node = f"node-{(number * 7) % nodes:05d}"
        namespace = f"team-{number % 40:02d}"
        uid = f"uid-{number:08d}"
        pod_records[uid] = Pod(
            uid=uid, namespace=namespace, name=f"app-{number // 40:05d}-{number % 997:03x}", node_name=node,
            runtime_class_name=runtime, phase="Running",
            containers=(ContainerStatus("app", ready=True, state="running"),), created=ago(minutes=number % 5000))
    return ClusterSnapshot(nodes=node_records, runtime_classes=base, pods=pod_records, taken_at=FROZEN_NOW)


def frozen_settings(**changes) -> Settings:
    values = dict(frozen_now=FROZEN_NOW, theme=None)
    values.update(changes)
    return Settings(**values)


LIVE = WatchState(phase="live", synced=5, total=5)
STALE = WatchState(phase="stale", synced=5, total=5, stale_since=ago(minutes=2, seconds=53),
                   errors={"pods": "HTTP 500"}, last_error="watch pods: HTTP 500 Internal Server Error")
RECONNECTING = WatchState(phase="reconnecting", synced=5, total=5, stale_since=ago(seconds=12),
                          errors={"pods": "connection refused"}, last_error="watch pods: connection refused")


def classic_source(state: WatchState | None = None, **changes) -> StaticSource:
    return StaticSource(classic_snapshot(**changes), state or LIVE,
                        SourceInfo(context="kind-kata", server="https://127.0.0.1:6443"))


async def settled(pilot, tries: int = 25) -> None:
    """Pause until two frames in a row are the same: a column that widens after the first
    frame, or focus landing late on a loaded machine, must not be caught half-way by a
    snapshot (seen once in 7 runs under load)."""
    previous = pilot.app.export_screenshot()
    for _ in range(tries):
        await pilot.pause(0.02)
        current = pilot.app.export_screenshot()
        if current == previous:
            return
        previous = current
