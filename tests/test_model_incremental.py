"""kataview.model.snapshot_analysis: an analysis updated incrementally from the previous
snapshot's (pods changed, nodes and RuntimeClasses shared) equals one computed from scratch."""

from __future__ import annotations

import dataclasses
import random

from kataview.demo.generator import generated_objects
from kataview.model import analysis as a
from kataview.model import findings as f
from kataview.model import snapshot_analysis as sa
from kataview.model.records import LabelSelector, NetworkPolicy, OwnerRef
from kataview.ui.demo_snapshot import snapshot_from_objects


def facts(found: sa.Analysis) -> dict:
    snapshot = found.snapshot
    return {
        "groups": found.groups,
        "members": {label: set(members) for label, members in found.members().items()},
        "classes": {label: found.group_classes.get(label, {}) for label in found.groups},
        "per_node": found.per_node, "running": found.running, "rc_pods": found.rc_pods,
        "namespaces": found.namespaces, "missing": found.missing_users, "legacy": found.legacy_ns,
        "sandboxed": found.sandboxed_ns, "bare": found.bare_ns, "leaks": found.leaks,
        "findings": found.findings(),
        "fits": {rc.name: found.runtime_class_nodes(rc) for rc in snapshot.runtime_classes.values()},
        "handlers": {node.name: found.node_handlers(node) for node in snapshot.nodes.values()},
        "groups_api": a.group_pods_by_runtime(snapshot),
        "summary": a.summarize(snapshot),
    }


def fresh(snapshot) -> dict:
    return facts(sa.Analysis(snapshot, None))


def test_incremental_matches_fresh() -> None:
    sa.forget()
    snapshot = snapshot_from_objects(generated_objects(20, 600, seed=3))
    policy = NetworkPolicy("team-000", "deny", LabelSelector({"app": "kata-0000"}))
    # half the nodes do not report runtimeHandlers: running pods are evidence there
    nodes = {name: dataclasses.replace(node, runtime_handlers=None) if i % 2 else node
             for i, (name, node) in enumerate(snapshot.nodes.items())}
    snapshot = dataclasses.replace(snapshot, network_policies=(policy,), nodes=nodes)
    rng = random.Random(7)
    nodes = sorted(snapshot.nodes)
    untrusted = [name for name, node in snapshot.nodes.items() if node.taints]
    previous = sa.analyze(snapshot)
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
        found = sa.analyze(snapshot)
        incremental += found.pod_changes is not None
        assert facts(found) == fresh(snapshot), step
        assert f.find_findings(snapshot) == found.findings()
    assert incremental >= 35
    assert found.leaks and found.legacy_ns and found.missing_users and found.bare_ns and found.running


def test_unchanged_kinds_reuse_and_changed_nodes_recompute() -> None:
    sa.forget()
    snapshot = snapshot_from_objects(generated_objects(10, 200, seed=1))
    first = sa.analyze(snapshot)
    same = sa.analyze(dataclasses.replace(snapshot, taken_at=None))
    assert same.pod_changes == [] and same.static is first.static
    nodes = dict(snapshot.nodes)
    name = sorted(nodes)[3]
    nodes[name] = dataclasses.replace(nodes[name], unschedulable=True)
    moved = sa.analyze(dataclasses.replace(snapshot, nodes=nodes))
    assert moved.pod_changes is None and moved.static is not first.static
    assert facts(moved) == fresh(moved.snapshot)
