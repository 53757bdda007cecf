"""Pure analysis of a ClusterSnapshot: which runtime each pod runs in, which nodes can serve
which RuntimeClass, and the counts the header and the report show. Stdlib only.

Runtime of a pod (``pod_runtime``), in order:

- ``spec.runtimeClassName`` naming an existing RuntimeClass: its handler, shown as it is
  (kata, kata-qemu, runsc, nvidia, crun, a wasm shim...); source ``runtimeclass``.
- ``spec.runtimeClassName`` naming a RuntimeClass that does not exist: its own group
  ``"<name> (missing RuntimeClass)"`` (``"<name> (RuntimeClass unreadable)"`` when the
  RuntimeClass list could not be read); sources ``missing-runtimeclass`` / ``unreadable-runtimeclass``.
- no runtimeClassName but the legacy annotation ``io.kubernetes.cri.untrusted-workload: "true"``
  (containerd's ``untrusted_workload_runtime``) or ``io.kubernetes.cri-o.TrustedSandbox: "false"``
  (CRI-O's ``runtime_untrusted_workload``): ``"untrusted (legacy annotation)"``; source
  ``legacy-annotation``.
- otherwise the node's default handler: ``"runc (default)"``; source ``default``. Nodes do not
  say which binary their default handler is, so runc (the default of containerd and CRI-O) is
  assumed and the group's ``detail`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from kataview.model.records import ClusterSnapshot, LabelSelector, Node, Pod, RuntimeClass, Taint, Toleration

DEFAULT_LABEL = "runc (default)"
LEGACY_LABEL = "untrusted (legacy annotation)"
UNTRUSTED_ANNOTATION = "io.kubernetes.cri.untrusted-workload"
CRIO_TRUSTED_ANNOTATION = "io.kubernetes.cri-o.TrustedSandbox"
KATA_NODE_LABEL = "katacontainers.io/kata-runtime"
DEFAULT_DETAIL = (
    "pods without runtimeClassName run the node's default handler; nodes do not report which "
    "binary that is, so runc (containerd's and CRI-O's default) is assumed"
)
LEGACY_DETAIL = (
    "pods that predate RuntimeClass and ask for the untrusted-workload runtime by annotation "
    "(containerd untrusted_workload_runtime, CRI-O runtime_untrusted_workload); the handler is "
    "whatever the node configured for untrusted workloads"
)

FAMILIES = ("runc", "kata", "gvisor", "other")
SANDBOXED_FAMILIES = frozenset({"kata", "gvisor"})
_RUNC_LIKE = frozenset({"", "runc", "crun", "youki", "default"})


def runtime_family(handler: str | None) -> str:
    """"runc" (runc and runc-like OCI runtimes: crun, youki, the default handler), "kata"
    (kata*), "gvisor" (runsc*, gvisor*) or "other" (nvidia, wasm shims, anything else)."""
    name = (handler or "").strip().lower()
    if name in _RUNC_LIKE or name.startswith("runc-"):
        return "runc"
    if name.startswith("kata") or "-kata" in name:
        return "kata"
    if name.startswith(("runsc", "gvisor")):
        return "gvisor"
    return "other"


# -- pods by runtime -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PodRuntime:
    label: str  # the group it is shown in
    handler: str | None  # the CRI handler, None when unknown (missing RuntimeClass)
    family: str  # runc | kata | gvisor | other
    source: str  # runtimeclass | default | legacy-annotation | missing-runtimeclass | unreadable-runtimeclass
    runtime_class: str | None = None

    @property
    def sandboxed(self) -> bool:
        """Runs in a sandbox for sure: a kata/gvisor handler of an existing RuntimeClass, or the
        legacy untrusted annotation. A missing RuntimeClass does not count: such pods cannot run."""
        if self.source == "runtimeclass":
            return self.family in SANDBOXED_FAMILIES
        return self.source == "legacy-annotation"


@dataclass(frozen=True, slots=True)
class RuntimeGroup:
    label: str
    handler: str | None
    family: str
    pods: tuple[Pod, ...]
    source: str = "runtimeclass"
    runtime_classes: tuple[str, ...] = ()  # RuntimeClass names that lead to this group
    detail: str = ""

    @property
    def count(self) -> int:
        return len(self.pods)


def is_legacy_untrusted(pod: Pod) -> bool:
    annotations = pod.annotations
    if not annotations:
        return False
    return (
        annotations.get(UNTRUSTED_ANNOTATION, "").strip().lower() == "true"
        or annotations.get(CRIO_TRUSTED_ANNOTATION, "").strip().lower() == "false"
    )


class RuntimeResolver:
    """pod -> PodRuntime, memoised per (runtimeClassName, legacy) so 150,000 pods cost one dict
    lookup each. Build one per snapshot."""

    def __init__(self, snapshot: ClusterSnapshot) -> None:
        self._classes = snapshot.runtime_classes
        self._classes_unreadable = "runtimeclasses" in snapshot.unreadable
        self._cache: dict[tuple[str | None, bool], PodRuntime] = {}

    def __call__(self, pod: Pod) -> PodRuntime:
        key = (pod.runtime_class_name, pod.runtime_class_name is None and is_legacy_untrusted(pod))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(*key)
        return found

    def _resolve(self, name: str | None, legacy: bool) -> PodRuntime:
        if name:
            rc = self._classes.get(name)
            if rc is not None:
                return PodRuntime(rc.handler, rc.handler, runtime_family(rc.handler), "runtimeclass", name)
            if self._classes_unreadable:
                return PodRuntime(f"{name} (RuntimeClass unreadable)", None, runtime_family(name),
                                  "unreadable-runtimeclass", name)
            return PodRuntime(f"{name} (missing RuntimeClass)", None, runtime_family(name),
                              "missing-runtimeclass", name)
        if legacy:
            return PodRuntime(LEGACY_LABEL, None, "other", "legacy-annotation")
        return PodRuntime(DEFAULT_LABEL, "", "runc", "default")


def pod_runtime(pod: Pod, snapshot: ClusterSnapshot) -> PodRuntime:
    return RuntimeResolver(snapshot)(pod)


_FAMILY_RANK = {family: rank for rank, family in enumerate(FAMILIES)}
_SOURCE_DETAIL = {"default": DEFAULT_DETAIL, "legacy-annotation": LEGACY_DETAIL}


def group_pods_by_runtime(snapshot: ClusterSnapshot, pods: Iterable[Pod] | None = None) -> list[RuntimeGroup]:
    """One pass over the pods. Groups are ordered runc, kata, gvisor, other, then by label.
    Without `pods`, the snapshot's own analysis (computed once per snapshot) is used."""
    if pods is None:
        from kataview.model.snapshot_analysis import analyze

        found = analyze(snapshot)
        members = found.members()
        return [runtime_group(found.runtimes[label], tuple(members[label].values()),
                              found.group_classes.get(label, ()))
                for label in found.group_order()]
    resolve = RuntimeResolver(snapshot)
    buckets: dict[str, tuple[PodRuntime, list[Pod], set[str]]] = {}
    for pod in pods:
        runtime = resolve(pod)
        bucket = buckets.get(runtime.label)
        if bucket is None:
            bucket = buckets[runtime.label] = (runtime, [], set())
        bucket[1].append(pod)
        if runtime.runtime_class:
            bucket[2].add(runtime.runtime_class)
    groups = [runtime_group(runtime, tuple(members), classes) for runtime, members, classes in buckets.values()]
    groups.sort(key=lambda group: (_FAMILY_RANK.get(group.family, 9), group.label))
    return groups


def group_detail(runtime: PodRuntime, classes: Iterable[str]) -> str:
    label = runtime.label
    classes = sorted(classes)
    detail = _SOURCE_DETAIL.get(runtime.source, "")
    if runtime.source == "missing-runtimeclass":
        detail = f"pods ask for RuntimeClass {runtime.runtime_class!r}, which does not exist"
    elif runtime.source == "runtimeclass" and (len(classes) > 1 or label not in classes):
        detail = f"handler {runtime.handler!r} via RuntimeClass {', '.join(classes)}"
    return detail


def runtime_group(runtime: PodRuntime, members: tuple[Pod, ...], classes: Iterable[str]) -> RuntimeGroup:
    classes = tuple(sorted(classes))
    return RuntimeGroup(runtime.label, runtime.handler, runtime.family, members, runtime.source,
                        classes, group_detail(runtime, classes))


def pods_per_runtime_on_node(snapshot: ClusterSnapshot) -> dict[str, dict[str, int]]:
    """node name -> group label -> pod count. Unscheduled pods are not counted."""
    from kataview.model.snapshot_analysis import analyze

    return {node: dict(counts) for node, counts in analyze(snapshot).per_node.items()}


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


def evidence(snapshot: ClusterSnapshot) -> Evidence:
    """One pass over events and pods, computed once per snapshot (see snapshot_analysis)."""
    from kataview.model.snapshot_analysis import analyze

    return analyze(snapshot).evidence


class PodFinder:
    """Find an event's pod by uid, else by namespace/name (index built on first need)."""

    def __init__(self, snapshot: ClusterSnapshot) -> None:
        self._pods = snapshot.pods
        self._by_name: dict[tuple[str, str], Pod] | None = None

    def __call__(self, uid: str, namespace: str, name: str) -> Pod | None:
        pod = self._pods.get(uid) if uid else None
        if pod is not None:
            return pod
        if self._by_name is None:
            self._by_name = {(p.namespace, p.name): p for p in self._pods.values()}
        pod = self._by_name.get((namespace, name))
        if pod is not None and uid and pod.uid and pod.uid != uid:
            return None  # same name, another pod (recreated)
        return pod


def _inferred_has(node: Node, rc: RuntimeClass) -> tuple[bool, str]:
    family = runtime_family(rc.handler)
    if family == "kata" and node.labels.get(KATA_NODE_LABEL) == "true":
        return True, f"label {KATA_NODE_LABEL}=true"
    if rc.node_selector and selector_matches(rc.node_selector, node.labels):
        return True, f"matches RuntimeClass {rc.name}'s nodeSelector"
    if rc.handler == "runc":
        return True, "runc is configured by default"
    return False, "no label suggests it"


def node_handlers(node: Node, snapshot: ClusterSnapshot) -> NodeHandlers:
    from kataview.model.snapshot_analysis import analyze

    return analyze(snapshot).node_handlers(node)


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
        has, why = _inferred_has(node, rc)
        if has:
            names.append(rc.handler)
            reasons.append(f"{rc.handler}: {why}")
    reason = "not reported by the node (needs Kubernetes >= 1.31 with containerd >= 2.0 or CRI-O >= 1.30); inferred"
    reason += (" from " + "; ".join(reasons)) if reasons else ": no label or RuntimeClass nodeSelector points at a handler"
    return NodeHandlers(tuple(names), True, reason, tuple(sorted(missing)))


@dataclass(frozen=True, slots=True)
class NodeFit:
    node: str  # node name
    can_run: bool  # has the handler and the RuntimeClass's scheduling lets pods onto it
    inferred: bool  # the handler part is inferred, not reported
    why: str
    has_handler: bool = False
    schedulable: bool = True  # nodeSelector matches and NoSchedule/NoExecute taints are tolerated


def runtime_class_nodes(rc: RuntimeClass, snapshot: ClusterSnapshot) -> list[NodeFit]:
    """Every node (by name) and whether pods of `rc` can run there; computed once per
    snapshot and RuntimeClass."""
    from kataview.model.snapshot_analysis import analyze

    return list(analyze(snapshot).runtime_class_nodes(rc))


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
            has, why = _inferred_has(node, rc)
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


# -- summary ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    nodes: int
    nodes_ready: int
    nodes_reporting_handlers: int
    runtime_classes: int
    pods: int
    pods_per_runtime: Mapping[str, int] = field(default_factory=dict)  # group label -> count
    pods_per_family: Mapping[str, int] = field(default_factory=dict)  # runc/kata/gvisor/other -> count
    sandboxed_pods: int = 0
    unreadable: tuple[str, ...] = ()


def summarize(snapshot: ClusterSnapshot) -> Summary:
    from kataview.model.snapshot_analysis import analyze

    found = analyze(snapshot)
    per_family: dict[str, int] = {family: 0 for family in FAMILIES}
    sandboxed = 0
    per_runtime = {}
    for label in found.group_order():
        runtime, count = found.runtimes[label], found.groups[label]
        per_runtime[label] = count
        per_family[runtime.family] = per_family.get(runtime.family, 0) + count
        if runtime.sandboxed:
            sandboxed += count
    nodes = snapshot.nodes.values()
    return Summary(
        nodes=len(snapshot.nodes),
        nodes_ready=sum(1 for node in nodes if node.ready),
        nodes_reporting_handlers=sum(1 for node in nodes if node.runtime_handlers is not None),
        runtime_classes=len(snapshot.runtime_classes),
        pods=len(snapshot.pods),
        pods_per_runtime=per_runtime,
        pods_per_family=per_family,
        sandboxed_pods=sandboxed,
        unreadable=tuple(sorted(snapshot.unreadable)),
    )
