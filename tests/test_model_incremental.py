"""kataview.model.analysis: an analysis updated incrementally from the previous
snapshot's (pods changed, nodes and RuntimeClasses shared) equals one computed from scratch."""

from __future__ import annotations

import dataclasses
import random

from kataview.demo.generator import generated_objects
from kataview.model import analysis as a
from kataview.model.records import LabelSelector, NetworkPolicy, OwnerRef
from kataview.sources.static import snapshot_from_objects


def facts(found: a.Analysis) -> dict:
    snapshot, counts = found.snapshot, found.counts
    return {
        "groups": counts.groups,
        "members": {label: set(members) for label, members in found.members().items()},
        "classes": {label: counts.group_classes.get(label, {}) for label in counts.groups},
        "per_node": counts.per_node, "running": counts.running, "rc_pods": counts.rc_pods,
        "namespaces": counts.namespaces, "missing": counts.missing_users, "legacy": counts.legacy_ns,
        "sandboxed": counts.sandboxed_ns, "bare": counts.bare_ns, "leaks": counts.leaks,
        "findings": found.findings(),
        "fits": {rc.name: found.runtime_class_nodes(rc) for rc in snapshot.runtime_classes.values()},
        "handlers": {node.name: found.node_handlers(node) for node in snapshot.nodes.values()},
        "groups_api": a.group_pods_by_runtime(snapshot),
        "summary": a.summarize(snapshot),
    }


def fresh(snapshot) -> dict:
    return facts(a.Analysis(snapshot, None))


def test_incremental_matches_fresh() -> None:
    a.forget()
    snapshot = snapshot_from_objects(generated_objects(20, 600, seed=3))
    policy = NetworkPolicy("team-000", "deny", LabelSelector({"app": "kata-0000"}))
    # half the nodes do not report runtimeHandlers: running pods are evidence there
    nodes = {name: dataclasses.replace(node, runtime_handlers=None) if i % 2 else node
             for i, (name, node) in enumerate(snapshot.nodes.items())}
    snapshot = dataclasses.replace(snapshot, network_policies=(policy,), nodes=nodes)
    rng = random.Random(7)
    nodes = sorted(snapshot.nodes)
    untrusted = [name for name, node in snapshot.nodes.items() if node.taints]
    previous = a.analyze(snapshot)
    assert facts(previous) == fresh(snapshot)
    incremental = 0
    for step in range(40):
        pods = dict(snapshot.pods)
        for _ in range(rng.choice((1, 3, 20))):
            uid = rng.choice(list(pods))
            pod = pods[uid]
            move = rng.randrange(7)
            if move == 0:
                del pods[uid]
            elif move == 1:
                pods[uid] = dataclasses.replace(pod, phase=rng.choice(("Running", "Pending", "Succeeded", "Failed")))
            elif move == 2:
                pods[uid] = dataclasses.replace(pod, node_name=rng.choice(nodes + untrusted + [None]))
            elif move == 3:
                pods[uid] = dataclasses.replace(pod, runtime_class_name=rng.choice((None, "kata", "gvisor", "nope")))
            elif move == 4:
                pods[uid] = dataclasses.replace(pod, annotations={"io.kubernetes.cri.untrusted-workload": "true"},
                                                runtime_class_name=None)
            elif move == 5:
                new_uid = f"new-{step}-{rng.randrange(10**6)}"
                pods[new_uid] = dataclasses.replace(pod, uid=new_uid, name=pod.name + "-x",
                                                    owner=rng.choice((None, pod.owner, OwnerRef("Job", "j1"))),
                                                    node_name=rng.choice(untrusted), runtime_class_name=None)
            else:
                pods[uid] = dataclasses.replace(pod, labels={"app": "kata-0000"})
        snapshot = dataclasses.replace(snapshot, pods=pods)
        found = a.analyze(snapshot)
        incremental += found.pod_changes is not None
        assert facts(found) == fresh(snapshot), step
        assert a.find_findings(snapshot) == found.findings()
    assert incremental >= 35
    assert all((found.counts.leaks, found.counts.legacy_ns, found.counts.missing_users, found.counts.bare_ns,
                found.counts.running))


def test_unchanged_kinds_reuse_and_changed_nodes_recompute() -> None:
    a.forget()
    snapshot = snapshot_from_objects(generated_objects(10, 200, seed=1))
    first = a.analyze(snapshot)
    same = a.analyze(dataclasses.replace(snapshot, taken_at=None))
    assert same.pod_changes == [] and same.node_facts is first.node_facts
    nodes = dict(snapshot.nodes)
    name = sorted(nodes)[3]
    nodes[name] = dataclasses.replace(nodes[name], unschedulable=True)
    moved = a.analyze(dataclasses.replace(snapshot, nodes=nodes))
    assert moved.pod_changes is None and moved.node_facts is not first.node_facts
    assert facts(moved) == fresh(moved.snapshot)
