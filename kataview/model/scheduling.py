"""Where pods may go: node selectors, label selectors, taints and tolerations, which handlers
each node offers (reported, or inferred from what the snapshot proves) and whether a
RuntimeClass's pods can run on each node. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from kataview.model.records import ClusterSnapshot, LabelSelector, Node, RuntimeClass, Taint, Toleration
from kataview.model.runtime import KATA_NODE_LABEL, runtime_family

# -- selectors and taints --------------------------------------------------------------------


def selector_matches(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """A plain nodeSelector: every key present with the same value. None/{} match everything."""
    if not selector:
        return True
    return all(labels.get(key) == value for key, value in selector.items())


def label_selector_matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics; the empty selector matches everything."""
    for key, value in selector.match_labels.items():
        if labels.get(key) != value:
            return False
    for req in selector.match_expressions:
        present = req.key in labels
        if req.operator == "In":
            if not present or labels[req.key] not in req.values:
                return False
        elif req.operator == "NotIn":
            if present and labels[req.key] in req.values:
                return False
        elif req.operator == "Exists":
            if not present:
                return False
        elif req.operator == "DoesNotExist":
            if present:
                return False
        else:
            return False  # unknown operator: the API server would have rejected it
    return True


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """k8s.io/api/core/v1 Toleration.ToleratesTaint."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    if toleration.operator in ("Equal", ""):
        return toleration.value == taint.value
    return False


def blocking_taints(node: Node) -> tuple[Taint, ...]:
    return tuple(taint for taint in node.taints if taint.effect in ("NoSchedule", "NoExecute"))


def untolerated_taints(node: Node, tolerations: Iterable[Toleration]) -> tuple[Taint, ...]:
    tolerations = tuple(tolerations)
    return tuple(taint for taint in blocking_taints(node) if not any(tolerates(t, taint) for t in tolerations))


# -- which nodes serve which handler ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeHandlers:
    names: tuple[str, ...]  # handlers the node offers (the default "" is left out)
    inferred: bool  # True: not reported by the node, guessed from labels/RuntimeClasses
    reason: str
    known_missing: tuple[str, ...] = ()  # handlers sandbox-creation events say the node lacks
    reports_default: bool = False  # status.runtimeHandlers lists the default handler ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the pods and events of a snapshot prove about handlers on nodes."""

    missing: Mapping[str, set[str]]  # node -> handlers a FailedCreatePodSandBox event says are not configured
    running: Mapping[str, set[str]]  # node -> handlers of RuntimeClasses whose pods run there


@dataclass(frozen=True, slots=True)
class NodeFit:
    node: str  # node name
    can_run: bool  # has the handler and the RuntimeClass's scheduling lets pods onto it
    inferred: bool  # the handler part is inferred, not reported
    why: str
    has_handler: bool = False
    schedulable: bool = True  # nodeSelector matches and NoSchedule/NoExecute taints are tolerated


def inferred_has(node: Node, rc: RuntimeClass) -> tuple[bool, str]:
    """Whether a node that does not report its handlers likely has `rc`'s, and why."""
    family = runtime_family(rc.handler)
    if family == "kata" and node.labels.get(KATA_NODE_LABEL) == "true":
        return True, f"label {KATA_NODE_LABEL}=true"
    if rc.node_selector and selector_matches(rc.node_selector, node.labels):
        return True, f"matches RuntimeClass {rc.name}'s nodeSelector"
    if rc.handler == "runc":
        return True, "runc is configured by default"
    return False, "no label suggests it"


def node_handlers_from(node: Node, snapshot: ClusterSnapshot, proof: Evidence) -> NodeHandlers:
    missing = proof.missing.get(node.name, set())
    if node.runtime_handlers is not None:
        names = tuple(h.name for h in node.runtime_handlers if h.name)
        return NodeHandlers(names, False, "reported by the node (status.runtimeHandlers)",
                            tuple(sorted(missing - set(names))),
                            any(not h.name for h in node.runtime_handlers))
    names: list[str] = []
    reasons: list[str] = []
    for handler in sorted(proof.running.get(node.name, ())):
        names.append(handler)
        reasons.append(f"{handler}: pods run there with it")
    for rc in sorted(snapshot.runtime_classes.values(), key=lambda rc: rc.name):
        if rc.handler in names or rc.handler in missing:
            continue
        has, why = inferred_has(node, rc)
        if has:
            names.append(rc.handler)
            reasons.append(f"{rc.handler}: {why}")
    reason = "not reported by the node (needs Kubernetes >= 1.31 with containerd >= 2.0 or CRI-O >= 1.30); inferred"
    reason += (" from " + "; ".join(reasons)) if reasons else ": no label or RuntimeClass nodeSelector points at a handler"
    return NodeHandlers(tuple(names), True, reason, tuple(sorted(missing)))


def runtime_class_nodes_from(rc: RuntimeClass, snapshot: ClusterSnapshot, proof: Evidence) -> list[NodeFit]:
    missing, running = proof.missing, proof.running
    fits = []
    for node in sorted(snapshot.nodes.values(), key=lambda node: node.name):
        if node.runtime_handlers is not None:
            inferred = False
            has = any(h.name == rc.handler for h in node.runtime_handlers)
            handler_why = f"reports handler {rc.handler!r}" if has else f"does not report handler {rc.handler!r}"
        elif rc.handler in missing.get(node.name, ()):
            inferred, has = True, False
            handler_why = f"a pod's sandbox creation failed there: no runtime {rc.handler!r} configured"
        elif rc.handler in running.get(node.name, ()):
            inferred, has = True, True
            handler_why = f"handler {rc.handler!r} inferred present (pods run there with it)"
        else:
            inferred = True
            has, why = inferred_has(node, rc)
            handler_why = f"handler {rc.handler!r} inferred {'present' if has else 'absent'} ({why})"
        problems = []
        if not selector_matches(rc.node_selector, node.labels):
            problems.append("its labels do not match the RuntimeClass nodeSelector")
        taints = untolerated_taints(node, rc.tolerations)
        if taints:
            problems.append("taint " + ", ".join(map(str, taints)) + " is not tolerated by the RuntimeClass")
        if node.unschedulable:
            problems.append("it is cordoned")
        schedulable = not problems
        why = handler_why + ("; " + "; ".join(problems) if problems else "")
        fits.append(NodeFit(node.name, has and schedulable, inferred, why, has, schedulable))
    return fits
