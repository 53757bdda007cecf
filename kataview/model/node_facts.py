"""What an analysis derives from a snapshot's nodes and RuntimeClasses alone, and how a node
fits a RuntimeClass.

`NodeFacts` holds the node-level facts that depend only on nodes and RuntimeClasses (sorted
nodes and classes, reported handlers, untrusted taints, the nodeSelector and taint problems of
each RuntimeClass on each node); kataview.model.analysis shares one among every analysis whose
snapshot holds the same node and RuntimeClass mappings. `fit_maker` turns those problems and
the evidence of running pods and events into a NodeFit per node. Stdlib only.
"""

from __future__ import annotations

import threading

from kataview.model.records import ClusterSnapshot, Node, RuntimeClass, Taint
from kataview.model.runtime import KATA_NODE_LABEL, SANDBOXED_FAMILIES, runtime_family
from kataview.model.scheduling import (
    Evidence,
    NodeFit,
    blocking_taints,
    inferred_has,
    selector_matches,
    tolerates,
    untolerated_taints,
)


def untrusted_taints(node: Node, snapshot: ClusterSnapshot) -> tuple[Taint, ...]:
    """NoSchedule/NoExecute taints that mark the node for untrusted workloads: the key or value
    mentions "untrusted", or a sandboxed (kata/gvisor) RuntimeClass tolerates it by key
    (wildcard tolerations do not count)."""
    return untrusted_taints_with(node, sandboxed_tolerations(snapshot))


def untrusted_taints_with(node: Node, sandboxed_tolerations) -> tuple[Taint, ...]:
    """`untrusted_taints` given the sandboxed RuntimeClasses' tolerations."""
    found = []
    for taint in blocking_taints(node):
        text = f"{taint.key}={taint.value}".lower()
        if "untrusted" in text or any(tolerates(tol, taint) for tol in sandboxed_tolerations):
            found.append(taint)
    return tuple(found)


def sandboxed_tolerations(snapshot: ClusterSnapshot) -> list:
    return [toleration
            for rc in snapshot.runtime_classes.values()
            if runtime_family(rc.handler) in SANDBOXED_FAMILIES
            for toleration in rc.tolerations
            if toleration.key]


class NodeFacts:
    """What depends only on the nodes and RuntimeClasses of a snapshot."""

    def __init__(self, snapshot: ClusterSnapshot) -> None:
        self.nodes = snapshot.nodes
        self.classes = snapshot.runtime_classes
        self.sorted_nodes = sorted(snapshot.nodes.values(), key=lambda node: node.name)
        self.sorted_classes = sorted(snapshot.runtime_classes.values(), key=lambda rc: rc.name)
        # node -> handler names it reports (status.runtimeHandlers); absent: not reported
        self.index = {node.name: position for position, node in enumerate(self.sorted_nodes)}
        self.reported = {node.name: frozenset(h.name for h in node.runtime_handlers)
                         for node in self.sorted_nodes if node.runtime_handlers is not None}
        tolerations = sandboxed_tolerations(snapshot)
        self.untrusted: dict[str, tuple[Taint, ...]] = {}
        for node in self.sorted_nodes:
            if node.taints:
                taints = untrusted_taints_with(node, tolerations)
                if taints:
                    self.untrusted[node.name] = taints
        self._problems: dict[str, list[tuple[Node, str]]] = {}
        self._lock = threading.Lock()

    def problems(self, rc: RuntimeClass) -> list[tuple[Node, str]]:
        """Per node (sorted by name): "" when the RuntimeClass's scheduling lets pods onto it,
        else the reasons it does not."""
        found = self._problems.get(rc.name)
        if found is not None:
            return found
        found = []
        selector, tolerations = rc.node_selector, rc.tolerations
        taint_memo: dict[tuple, tuple] = {}
        for node in self.sorted_nodes:
            problems = []
            if selector and not selector_matches(selector, node.labels):
                problems.append("its labels do not match the RuntimeClass nodeSelector")
            if node.taints:
                taints = taint_memo.get(node.taints)
                if taints is None:
                    taints = taint_memo[node.taints] = untolerated_taints(node, tolerations)
                if taints:
                    problems.append("taint " + ", ".join(map(str, taints)) + " is not tolerated by the RuntimeClass")
            if node.unschedulable:
                problems.append("it is cordoned")
            found.append((node, "; ".join(problems)))
        with self._lock:
            self._problems[rc.name] = found
        return found


def fit_maker(rc: RuntimeClass, proof: Evidence, reported: dict[str, frozenset]):
    """A function (node, problems) -> NodeFit for `rc`: whether the node has its handler
    (reported, or inferred from the evidence and labels) and whether pods may schedule there."""
    missing, running = proof.missing, proof.running
    handler = rc.handler
    reported_yes = f"reports handler {handler!r}"
    reported_no = f"does not report handler {handler!r}"
    failed = f"a pod's sandbox creation failed there: no runtime {handler!r} configured"
    runs = f"handler {handler!r} inferred present (pods run there with it)"
    inferred_memo: dict[tuple, tuple[bool, str]] = {}

    def make(node: Node, problems: str) -> NodeFit:
        name = node.name
        offered = reported.get(name)
        if offered is not None:
            inferred = False
            has = handler in offered
            handler_why = reported_yes if has else reported_no
        elif handler in missing.get(name, ()):
            inferred, has = True, False
            handler_why = failed
        elif handler in running.get(name, ()):
            inferred, has = True, True
            handler_why = runs
        else:
            inferred = True
            key = (node.labels.get(KATA_NODE_LABEL),
                   tuple(node.labels.get(k) for k in (rc.node_selector or ())))
            result = inferred_memo.get(key)
            if result is None:
                has, why = inferred_has(node, rc)
                result = inferred_memo[key] = (has, f"handler {handler!r} inferred {'present' if has else 'absent'} ({why})")
            has, handler_why = result
        schedulable = not problems
        why = handler_why + ("; " + problems if problems else "")
        return NodeFit(name, has and schedulable, inferred, why, has, schedulable)

    return make
