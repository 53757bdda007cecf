"""Generated clusters up to 5,000 nodes and 150,000 pods, with the shapes of the classic scenario.

Node mix: 1 control plane, ~60% plain runc workers, ~20% untrusted (kata, labelled and tainted),
~20% kata-deploy nodes; every 20th worker runs containerd 1.7 (no status.runtimeHandlers) and
every 100th is NotReady. Pod mix: runc 60%, kata 15%, kata-qemu 10%, kata-clh 5%, gvisor 5%,
kata-fc 5%; ~1% Pending, ~0.5% ContainerCreating, ~2% restarting, ~0.5% CrashLoopBackOff;
one kube-proxy DaemonSet pod per node (when pods >= 10 x nodes).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from kataview.model.runtime import KATA_NODE_LABEL

from .objects import Ids, base_time, namespace, node, runtime_class, ts
from .pods import pod
from .store import gc_paused

UNTRUSTED_TAINT = {"key": "example.org/workload", "value": "untrusted", "effect": "NoSchedule"}
KATA = {KATA_NODE_LABEL: "true"}
RUNTIME_MIX = (("", 60), ("kata", 15), ("kata-qemu", 10), ("kata-clh", 5), ("gvisor", 5),
               ("kata-fc", 5))
POOL_FOR = {"": "runc", "gvisor": "runc", "kata": "untrusted", "kata-qemu": "kata",
            "kata-clh": "kata", "kata-fc": "kata"}


def _classes(ids: Ids, created: str) -> dict[str, dict]:
    untrusted = {"example.org/workload": "untrusted"}
    tol = [{"key": "example.org/workload", "operator": "Equal", "value": "untrusted",
            "effect": "NoSchedule"}]
    return {
        "kata": runtime_class("kata", "kata", ids.uid(), created, cpu="250m", memory="160Mi",
                              node_selector=untrusted, tolerations=tol),
        "kata-qemu": runtime_class("kata-qemu", "kata-qemu", ids.uid(), created, cpu="250m",
                                   memory="160Mi", node_selector=KATA),
        "kata-clh": runtime_class("kata-clh", "kata-clh", ids.uid(), created, cpu="250m",
                                  memory="130Mi", node_selector=KATA),
        "kata-fc": runtime_class("kata-fc", "kata-fc", ids.uid(), created, cpu="250m",
                                 memory="130Mi", node_selector=KATA),
        "gvisor": runtime_class("gvisor", "runsc", ids.uid(), created),
    }


def _nodes(count: int, ids: Ids, now: datetime) -> tuple[list[dict], dict[str, list[tuple]]]:
    objects, pools = [], {"runc": [], "untrusted": [], "kata": [], "all": []}
    heartbeat = ts(now - timedelta(seconds=12))
    for i in range(count):
        name = "k8s-control-plane" if i == 0 else f"k8s-node-{i:05d}"
        ip = f"10.{10 + i // 65000}.{(i // 250) % 256}.{i % 250 + 2}"
        created = ts(now - timedelta(days=60) + timedelta(minutes=i))
        pool = "control" if i == 0 else ("untrusted" if i % 5 == 1 else "kata" if i % 5 == 2
                                         else "runc")
        labels, taints, handlers = {}, [], ["", "runc"]
        if pool == "control":
            labels = {"node-role.kubernetes.io/control-plane": ""}
            taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
        elif pool == "untrusted":
            labels, taints = {"example.org/workload": "untrusted", **KATA}, [UNTRUSTED_TAINT]
            handlers = ["", "runc", "kata"]
        elif pool == "kata":
            labels, handlers = dict(KATA), ["", "runc", "kata-qemu", "kata-clh"]
        old = i % 20 == 7
        objects.append(node(name, ids.uid(), created, heartbeat, ip, i % 256, labels=labels,
                            taints=taints, handlers=None if old else handlers,
                            runtime="containerd://1.7.22" if old else "containerd://2.0.1",
                            ready=i % 100 != 99))
        entry = (name, ip, i)
        pools["all"].append(entry)
        if pool != "control":
            pools[pool].append(entry)
    workers = pools["runc"] + pools["untrusted"] + pools["kata"] or pools["all"]
    for key in ("runc", "untrusted", "kata"):
        pools[key] = pools[key] or workers
    return objects, pools


def generated_objects(nodes: int, pods: int, seed: int = 0,
                      now: datetime | None = None) -> list[dict]:
    """`nodes` nodes and exactly `pods` pods (plus namespaces, RuntimeClasses)."""
    with gc_paused():
        return _generate(nodes, pods, seed, now)


def _generate(nodes: int, pods: int, seed: int, now: datetime | None) -> list[dict]:
    now = base_time(now)
    ids, rng = Ids(seed), random.Random(seed)
    ns_count = max(1, pods // 2000)
    namespaces = [f"team-{i:03d}" for i in range(ns_count)]
    objects = [namespace(n, ids.uid(), ts(now - timedelta(days=60)))
               for n in ("default", "kube-system", *namespaces)]
    node_objects, pools = _nodes(max(1, nodes), ids, now)
    objects += node_objects
    classes = _classes(ids, ts(now - timedelta(days=30)))
    objects += classes.values()
    times = [ts(now - timedelta(seconds=s)) for s in sorted(rng.sample(range(60, 86400 * 30), 997))]
    proxies = len(pools["all"]) if pods >= 10 * len(pools["all"]) else 0
    proxy_uid = ids.uid()
    for name, ip, index in pools["all"][:proxies]:
        objects.append(pod(ids, f"kube-proxy-{_unique_suffix(index)}", "kube-system", name, times[index % 997],
                           containers=("kube-proxy",), owner=("DaemonSet", "kube-proxy", proxy_uid),
                           generate_name="kube-proxy-", pod_ip=ip, host_ip=ip,
                           labels={"k8s-app": "kube-proxy"}))
    weights = [w for _, w in RUNTIME_MIX]
    choices = rng.choices([r for r, _ in RUNTIME_MIX], weights, k=pods - proxies)
    counters = {key: 0 for key in pools}
    owners: dict[str, str] = {}
    for n, rc_name in enumerate(choices):
        objects.append(_app_pod(ids, n, rc_name, classes, pools, counters, namespaces, times,
                                owners))
    return objects


def _app_pod(ids: Ids, n: int, rc_name: str, classes: dict, pools: dict, counters: dict,
             namespaces: list[str], times: list[str], owners: dict[str, str]) -> dict:
    pool_name = POOL_FOR[rc_name]
    pool = pools[pool_name]
    name, host_ip, index = pool[counters[pool_name] % len(pool)]
    counters[pool_name] += 1
    ns = namespaces[n % len(namespaces)]
    app = f"{rc_name or 'web'}-{(n // len(namespaces)) // 10:04d}"
    owner = f"{app}-{(index * 7919) % 10**10:010x}"[:len(app) + 11]
    owner_uid = owners.get(owner) or owners.setdefault(owner, ids.uid())
    created = times[n % 997]
    roll = n % 200
    state = ("Pending" if roll == 3 or (roll == 5 and rc_name != "kata-fc") else "ContainerCreating"
             if roll in (7,) or (rc_name == "kata-fc" and roll % 4 == 0) else "CrashLoopBackOff"
             if roll == 11 else "Running")
    restarts = 0 if state in ("Pending", "ContainerCreating") else (
        roll % 7 + 1 if roll in (11, 13, 17, 19) else 0)
    return pod(ids, f"{owner}-{_unique_suffix(n)}", ns, name, created, runtime_class=classes.get(rc_name),
               owner=("ReplicaSet", owner, owner_uid), generate_name=f"{owner}-",
               labels={"app": app, "pod-template-hash": owner[-10:]}, state=state,
               restarts=restarts, pod_ip=f"10.{128 + index // 256}.{index % 256}.{n % 250 + 2}",
               host_ip=host_ip, last_finished=times[(n % 997) // 2] if restarts else None)


_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _unique_suffix(n: int) -> str:
    """Five characters like a ReplicaSet's, distinct for every n below 27**5 (a bijection)."""
    value = (n * 7_368_787) % 27**5
    chars = []
    for _ in range(5):
        value, digit = divmod(value, 27)
        chars.append(_ALPHABET[digit])
    return "".join(chars)
