"""Builders for API objects shaped like real apiserver output (Kubernetes 1.31, containerd).

Used by the classic scenario and the generator; fast enough for 150,000 pods because each
builder is one dict literal and constant parts are shared between objects (the store never
mutates a stored object in place).
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

from kataview.model.demo_node import DEMO_NODE_ANNOTATION, DEMO_NODE_NOTE

RRO = {"recursiveReadOnlyMounts": True, "userNamespaces": True}
NO_FEATURES = {"recursiveReadOnlyMounts": False, "userNamespaces": False}
DEFAULT_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
)
IMAGES = {
    "nginx": ("docker.io/library/nginx:1.27.3", "docker.io/library/nginx@sha256:"
              "0a399eb16751829e1af26fea27b20c3ec28d7ab1fb72182879dcae1cca21206a"),
    "curl": ("docker.io/curlimages/curl:8.11.1", "docker.io/curlimages/curl@sha256:"
             "c1fe1679c34d9784c1b0d1e5f62ac0a79fca01fb6377cdd33e90473c6f9f9a69"),
    "kube-proxy": ("registry.k8s.io/kube-proxy:v1.31.4", "registry.k8s.io/kube-proxy@sha256:"
                   "1739b3febca392035bf6edfe31efdfa55226be7b57389b2001ae357f7dcb99cf"),
    "pause": ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause@sha256:"
              "ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a"),
}
COMMANDS = {"curl": ["sleep", "infinity"]}


class Ids:
    """Deterministic uids, container ids and name suffixes from a seed."""

    def __init__(self, seed: int = 0):
        self._rng = random.Random(seed)

    def uid(self) -> str:
        h = "%032x" % self._rng.getrandbits(128)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"

    def hex(self, digits: int = 64) -> str:
        return "%0*x" % (digits, self._rng.getrandbits(digits * 4))

    def suffix(self, length: int = 5) -> str:
        return "".join(self._rng.choices("bcdfghjklmnpqrstvwxz2456789", k=length))

    def hash(self) -> str:
        return self.suffix(10)


def ts(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def base_time(now: datetime | None) -> datetime:
    return (now or datetime.now(timezone.utc)).replace(microsecond=0)


def namespace(name: str, uid: str, created: str) -> dict:
    return {"kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": name, "uid": uid, "creationTimestamp": created,
                         "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def node(name: str, uid: str, created: str, heartbeat: str, ip: str, index: int, *,
         labels: dict | None = None, taints: list | None = None, runtime: str = "containerd://2.0.1",
         handlers: list[str] | None = None, ready: bool = True, kubelet: str = "v1.31.4",
         cpu: str = "8", memory: str = "32827808Ki") -> dict:
    """A node; `handlers` (containerd 2.x) become status.runtimeHandlers, None omits it."""
    status: dict = {
        "capacity": {"cpu": cpu, "ephemeral-storage": "102626232Ki", "hugepages-1Gi": "0",
                     "hugepages-2Mi": "0", "memory": memory, "pods": "110"},
        "allocatable": {"cpu": cpu, "ephemeral-storage": "94580335255", "hugepages-1Gi": "0",
                        "hugepages-2Mi": "0", "memory": memory, "pods": "110"},
        "conditions": _node_conditions(heartbeat, created, ready),
        "addresses": [{"address": ip, "type": "InternalIP"}, {"address": name, "type": "Hostname"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"machineID": uid.replace("-", ""), "systemUUID": uid,
                     "bootID": uid[::-1], "kernelVersion": "6.1.0-28-amd64",
                     "osImage": "Debian GNU/Linux 12 (bookworm)", "containerRuntimeVersion": runtime,
                     "kubeletVersion": kubelet, "kubeProxyVersion": "", "operatingSystem": "linux",
                     "architecture": "amd64"},
    }
    if handlers is not None:
        status["runtimeHandlers"] = [
            {"name": h, "features": RRO if h in ("", "runc") else NO_FEATURES}
            for h in sorted(handlers)]
    spec: dict = {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]}
    if taints:
        spec["taints"] = taints
    all_labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
                  "kubernetes.io/os": "linux", **(labels or {})}
    return {"kind": "Node", "apiVersion": "v1", "metadata": {
        "name": name, "uid": uid, "creationTimestamp": created, "labels": all_labels,
        "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket":
                        "unix:///run/containerd/containerd.sock",
                        "node.alpha.kubernetes.io/ttl": "0",
                        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                        DEMO_NODE_ANNOTATION: DEMO_NODE_NOTE}},
        "spec": spec, "status": status}


def _node_conditions(heartbeat: str, since: str, ready: bool) -> list[dict]:
    rows = [("MemoryPressure", "False", "KubeletHasSufficientMemory",
             "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status") if ready else
            ("Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")]
    return [{"type": t, "status": s, "lastHeartbeatTime": heartbeat, "lastTransitionTime": since,
             "reason": r, "message": m} for t, s, r, m in rows]


def runtime_class(name: str, handler: str, uid: str, created: str, *, cpu: str | None = None,
                  memory: str | None = None, node_selector: dict | None = None,
                  tolerations: list | None = None, version: str = "v1") -> dict:
    obj: dict = {"kind": "RuntimeClass", "apiVersion": f"node.k8s.io/{version}",
                 "metadata": {"name": name, "uid": uid, "creationTimestamp": created},
                 "handler": handler}
    if cpu or memory:
        obj["overhead"] = {"podFixed": {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}}
    if node_selector or tolerations:
        obj["scheduling"] = {k: v for k, v in (("nodeSelector", node_selector),
                                                ("tolerations", tolerations)) if v}
    return obj


def network_policy(name: str, ns: str, uid: str, created: str, pod_selector: dict | None = None,
                   egress: bool = True) -> dict:
    spec: dict = {"podSelector": pod_selector or {}, "policyTypes": ["Ingress"] + (["Egress"] if egress else [])}
    return {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": created,
                         "generation": 1}, "spec": spec}


def event(name: str, ns: str, uid: str, pod: dict, reason: str, message: str, *, first: str,
          last: str, count: int = 1, kind: str = "Warning", component: str = "kubelet",
          host: str | None = None) -> dict:
    meta = pod["metadata"]
    source = {"component": component, **({"host": host} if host else {})}
    return {"kind": "Event", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": first},
            "involvedObject": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"],
                               "uid": meta["uid"], "apiVersion": "v1"},
            "reason": reason, "message": message, "source": source, "firstTimestamp": first,
            "lastTimestamp": last, "count": count, "type": kind, "eventTime": None,
            "reportingComponent": component, "reportingInstance": host or ""}
