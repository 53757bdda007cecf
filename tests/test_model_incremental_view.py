"""kataview.model.cluster_view: a view updated incrementally from the previous one shows exactly
what a view built from scratch shows."""

from __future__ import annotations

import dataclasses
import random

from kataview.demo.generator import generated_objects
from kataview.model import analysis as sa
from kataview.model.cluster_view import build_view
from kataview.model.records import WatchState
from kataview.sources.static import snapshot_from_objects


def shown(view) -> dict:
    return {
        "groups": [(g.label, g.family, g.detail, [(r.key, r.runtime, r.status, r.ready, r.restarts, r.sort_key)
                                                  for r in g.rows]) for g in view.pod_groups],
        "nodes": view.nodes, "classes": view.runtime_classes, "findings": view.findings,
        "namespaces": view.namespaces, "counts": view.runtime_counts, "on_node": view.pods_on_node,
        "rows": {uid: row.pod for uid, row in view.pod_rows.items()},
    }


def test_incremental_view_matches_fresh() -> None:
    sa.forget()
    snapshot = snapshot_from_objects(generated_objects(15, 400, seed=5))
    nodes = {name: dataclasses.replace(node, runtime_handlers=None) if i % 2 else node
             for i, (name, node) in enumerate(snapshot.nodes.items())}
    snapshot = dataclasses.replace(snapshot, nodes=nodes)
    state = WatchState("live")
    view = build_view(snapshot, state)
    rng = random.Random(11)
    names = sorted(snapshot.nodes)
    for step in range(30):
        pods = dict(snapshot.pods)
        for _ in range(rng.choice((1, 5, 30))):
            uid = rng.choice(list(pods))
            pod = pods[uid]
            move = rng.randrange(5)
            if move == 0:
                del pods[uid]
            elif move == 1:
                pods[uid] = dataclasses.replace(pod, phase=rng.choice(("Running", "Pending", "Failed")))
            elif move == 2:
                pods[uid] = dataclasses.replace(pod, node_name=rng.choice(names))
            elif move == 3:
                pods[uid] = dataclasses.replace(pod, runtime_class_name=rng.choice((None, "kata", "gvisor", "nope")))
            else:
                new = f"new-{step}-{rng.randrange(10**6)}"
                pods[new] = dataclasses.replace(pod, uid=new, name=pod.name + "-y")
        snapshot = dataclasses.replace(snapshot, pods=pods)
        view = build_view(snapshot, state, view)
        assert view.analysis.pod_changes is not None
        probe = next(iter(snapshot.pods))
        assert view.pod_row(probe).pod is snapshot.pods[probe]
        fresh = build_view(snapshot, state, None)
        sa.forget()
        assert shown(view) == shown(build_view(snapshot, state, None)) == shown(fresh), step
        view = build_view(snapshot, state, view)  # same snapshot: the same rows
