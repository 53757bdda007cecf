"""The classic trusted/untrusted cluster, deterministic for a given base time.

Nodes: k8s-control-plane, k8s-worker (runc), k8s-worker-untrusted (runc + kata, labelled and
tainted), k8s-worker-kata (kata-deploy style, containerd 1.7: no status.runtimeHandlers, so
handlers must be inferred). RuntimeClasses kata, kata-qemu, kata-clh, kata-fc, gvisor.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kataview.model.runtime import KATA_NODE_LABEL

from .motion import DemoMotion  # noqa: F401  (re-exported: scenario.DemoMotion)
from .objects import (Ids, base_time, event, namespace, network_policy, node, runtime_class, ts)
from .pods import pod
from .generator import generated_objects  # noqa: F401  (re-exported)

UNTRUSTED = {"key": "example.org/workload", "operator": "Equal", "value": "untrusted",
             "effect": "NoSchedule"}
KATA_LABEL = {KATA_NODE_LABEL: "true"}
NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "untrusted", "sandboxed",
              "legacy")
# name, ip, extra labels, taints, runtime version, reported handlers (None: not reported)
NODES = (
    ("k8s-control-plane", "192.168.122.10",
     {"node-role.kubernetes.io/control-plane": "",
      "node.kubernetes.io/exclude-from-external-load-balancers": ""},
     [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
     "containerd://2.0.1", ["", "runc"]),
    ("k8s-worker", "192.168.122.11", {}, [], "containerd://2.0.1", ["", "runc"]),
    ("k8s-worker-untrusted", "192.168.122.12", {"example.org/workload": "untrusted", **KATA_LABEL},
     [{"key": "example.org/workload", "value": "untrusted", "effect": "NoSchedule"}],
     "containerd://2.0.1", ["", "runc", "kata"]),
    ("k8s-worker-kata", "192.168.122.13", dict(KATA_LABEL), [], "containerd://1.7.22", None),
)
STUCK_MESSAGE = ('Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get '
                 'sandbox runtime: no runtime for "kata-fc" is configured')


def _runtime_classes(ids: Ids, created: str) -> dict[str, dict]:
    kata_deploy = {"nodeSelector": dict(KATA_LABEL)}
    return {
        "kata": runtime_class("kata", "kata", ids.uid(), created, cpu="250m", memory="160Mi",
                              node_selector={"example.org/workload": "untrusted"},
                              tolerations=[UNTRUSTED]),
        "kata-qemu": runtime_class("kata-qemu", "kata-qemu", ids.uid(), created, cpu="250m",
                                   memory="160Mi", node_selector=kata_deploy["nodeSelector"]),
        "kata-clh": runtime_class("kata-clh", "kata-clh", ids.uid(), created, cpu="250m",
                                  memory="130Mi", node_selector=kata_deploy["nodeSelector"]),
        "kata-fc": runtime_class("kata-fc", "kata-fc", ids.uid(), created, cpu="250m",
                                 memory="130Mi", node_selector=kata_deploy["nodeSelector"]),
        "gvisor": runtime_class("gvisor", "runsc", ids.uid(), created),
    }


class _Pods:
    """Places pods on nodes with per-node pod IPs, deterministic names and owners."""

    def __init__(self, ids: Ids, now: datetime, nodes: dict[str, tuple[int, str]]):
        self.ids, self.now, self.nodes, self.items = ids, now, nodes, []
        self.next_ip = {name: 10 for name in nodes}

    def add(self, base: str, ns: str, node_name: str, age: timedelta, *, kind: str = "ReplicaSet",
            owner: str | None = None, labels: dict | None = None, **kw) -> dict:
        index, host_ip = self.nodes[node_name]
        self.next_ip[node_name] += 1
        ids = self.ids
        if kind == "ReplicaSet":
            owner = owner or f"{base}-{ids.hash()}"
            name = f"{owner}-{ids.suffix()}"
            labels = {"app": base, "pod-template-hash": owner.rsplit("-", 1)[1], **(labels or {})}
        elif kind == "DaemonSet":
            owner, name = base, f"{base}-{ids.suffix()}"
            labels = {"k8s-app": base, "controller-revision-hash": "7b9c8d5f4d",
                      "pod-template-generation": "1", **(labels or {})}
        else:
            name, labels = base, labels or {"app": base}
        created = self.now - age
        pod_ip = host_ip if base == "kube-proxy" else f"10.244.{index}.{self.next_ip[node_name]}"
        obj = pod(ids, name, ns, node_name, ts(created),
                  owner=(kind, owner, ids.uid()) if kind in ("ReplicaSet", "DaemonSet") else None,
                  generate_name=f"{owner}-" if kind in ("ReplicaSet", "DaemonSet") else None,
                  labels=labels, pod_ip=pod_ip, host_ip=host_ip,
                  started=ts(created + timedelta(seconds=4)), **kw)
        self.items.append(obj)
        return obj


def classic_objects(now: datetime | None = None) -> list[dict]:
    """The classic cluster: every object a real apiserver would return for it."""
    now = base_time(now)
    ids = Ids(20240601)
    cluster_born = now - timedelta(days=41, hours=3)
    objects = [namespace(n, ids.uid(), ts(cluster_born + timedelta(minutes=i)))
               for i, n in enumerate(NAMESPACES)]
    placement = {}
    for index, (name, ip, labels, taints, runtime, handlers) in enumerate(NODES):
        created = cluster_born + timedelta(days=index * 3 if index < 3 else 30)
        objects.append(node(name, ids.uid(), ts(created), ts(now - timedelta(seconds=17)), ip, index,
                            labels=labels, taints=taints, runtime=runtime, handlers=handlers))
        placement[name] = (index, ip)
    classes = _runtime_classes(ids, ts(now - timedelta(days=9)))
    objects += classes.values()
    pods = _Pods(ids, now, placement)
    for name in placement:
        pods.add("kube-proxy", "kube-system", name, timedelta(days=11), kind="DaemonSet",
                 containers=("kube-proxy",))
    for _ in range(2):
        pods.add("nginx-trusted", "default", "k8s-worker", timedelta(days=2, hours=5),
                 owner="nginx-trusted-6d8f7c9b5d")
        pods.add("nginx-untrusted", "untrusted", "k8s-worker-untrusted", timedelta(hours=26),
                 owner="nginx-untrusted-5b7c9f8d6c", runtime_class=classes["kata"])
    pods.add("nginx-kata-qemu", "sandboxed", "k8s-worker-kata", timedelta(hours=7),
             owner="nginx-kata-qemu-79c5d8b6f4", runtime_class=classes["kata-qemu"])
    pods.add("nginx-kata-qemu", "sandboxed", "k8s-worker-kata", timedelta(hours=7),
             owner="nginx-kata-qemu-79c5d8b6f4", runtime_class=classes["kata-qemu"], restarts=3,
             last_finished=ts(now - timedelta(minutes=42)))
    pods.add("nginx-kata-clh", "sandboxed", "k8s-worker-kata", timedelta(hours=6),
             owner="nginx-kata-clh-8f6d7c5b9a", runtime_class=classes["kata-clh"])
    pods.add("gvisor-sandbox", "sandboxed", "k8s-worker-kata", timedelta(hours=5), kind="Pod",
             containers=("nginx",), runtime_class=classes["gvisor"])
    stuck = pods.add("nginx-kata-fc", "sandboxed", "k8s-worker-kata", timedelta(minutes=13),
                     owner="nginx-kata-fc-5c4b8d7f96", runtime_class=classes["kata-fc"],
                     state="ContainerCreating")
    pods.add("legacy-sandbox", "legacy", "k8s-worker-untrusted", timedelta(days=20), kind="Pod",
             containers=("nginx",), runtime_class=classes["kata"],
             runtime_class_name="kata-legacy")
    objects += pods.items
    objects.append(network_policy("default-deny", "untrusted", ids.uid(), ts(now - timedelta(days=9))))
    objects += _stuck_events(ids, now, stuck)
    return objects


def _stuck_events(ids: Ids, now: datetime, stuck: dict) -> list[dict]:
    meta = stuck["metadata"]
    created = datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00"))
    return [
        event(f"{meta['name']}.{ids.hex(16)}", "sandboxed", ids.uid(), stuck, "Scheduled",
              f"Successfully assigned sandboxed/{meta['name']} to k8s-worker-kata",
              first=ts(created), last=ts(created), kind="Normal", component="default-scheduler"),
        event(f"{meta['name']}.{ids.hex(16)}", "sandboxed", ids.uid(), stuck,
              "FailedCreatePodSandBox", STUCK_MESSAGE, first=ts(created + timedelta(seconds=2)),
              last=ts(now - timedelta(seconds=38)), count=61, host="k8s-worker-kata"),
    ]
