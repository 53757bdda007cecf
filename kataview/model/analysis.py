"""The analysis of a ClusterSnapshot: everything the report and the UI derive from it,
computed once per snapshot, and the functions they call. Stdlib only.

`analyze(snapshot)` makes one pass over the pods (pod_pass: pods by runtime group, counts per
node, per RuntimeClass and per namespace, what running pods prove about handlers on nodes, the
per-pod inputs of the findings KV004/5/6/8). Node-level facts that depend only on nodes and
RuntimeClasses (untrusted taints, nodeSelector and taint fit of each RuntimeClass on each node)
are kept in a NodeFacts shared by every analysis whose snapshot holds the same node and
RuntimeClass mappings.

Snapshots share unchanged mappings (informers copy on write), so a new snapshot is analysed
incrementally from the previous analysis when only pods and events changed: the pods that
differ (by record identity) are subtracted and added, and the rest is reused. Analyses are
immutable once built (the UI reads one from a thread while the next is built): incremental
updates copy what they touch. The results are memoised for the last MEMO_SIZE snapshots by
identity.

This module is the model's public face: the names of runtime, scheduling and findings that
the report, the UI and the tests use are importable from here too (see __all__). The modules
below it form a staircase, each importing only those before it: records -> runtime ->
scheduling -> events -> node_facts, pod_pass -> findings -> analysis.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from kataview.model.changes import pod_changes
from kataview.model.events import PodFinder, event_sandbox_failure
from kataview.model.findings import Finding, findings_of
from kataview.model.node_facts import NodeFacts, fit_maker
from kataview.model.pod_pass import PodCounts, count_all, count_changes
from kataview.model.problems import is_troubled
from kataview.model.records import ClusterSnapshot, Node, Pod, RuntimeClass
from kataview.model.runtime import (
    DEFAULT_LABEL,
    FAMILIES,
    KATA_NODE_LABEL,
    LEGACY_LABEL,
    SANDBOXED_FAMILIES,
    PodRuntime,
    RuntimeGroup,
    RuntimeResolver,
    group_detail,
    group_order_key,
    group_pods,
    pod_runtime,
    runtime_family,
    runtime_group,
)
from kataview.model.scheduling import (
    Evidence,
    NodeFit,
    NodeHandlers,
    label_selector_matches,
    node_handlers_from,
    runtime_class_nodes_from,
    selector_matches,
    tolerates,
    untolerated_taints,
)

__all__ = [
    "DEFAULT_LABEL", "FAMILIES", "KATA_NODE_LABEL", "LEGACY_LABEL", "MEMO_SIZE", "SANDBOXED_FAMILIES",
    "Analysis", "Evidence", "Finding", "NodeFit", "NodeHandlers", "PodRuntime", "RuntimeGroup", "Summary",
    "analyze", "evidence", "find_findings", "forget", "group_detail", "group_pods_by_runtime",
    "label_selector_matches", "node_handlers", "pod_runtime", "pods_per_runtime_on_node",
    "runtime_class_nodes", "runtime_family", "selector_matches", "summarize", "tolerates",
    "untolerated_taints",
]

INCREMENTAL_LIMIT = 0.25  # more than this share of pods changed: recompute from scratch
MEMO_SIZE = 3  # analyses memoised (by snapshot identity)


class Analysis:
    """The analysis of one snapshot. Read-only once built.

    counts: what the pod pass found (see PodCounts); node_facts: what depends on nodes and
    RuntimeClasses only; members() gives the pods of each group themselves."""

    def __init__(self, snapshot: ClusterSnapshot, base: Analysis | None = None) -> None:
        self.snapshot = snapshot
        self.resolve = RuntimeResolver(snapshot)
        reuse = (base is not None and base.snapshot.nodes is snapshot.nodes
                 and base.snapshot.runtime_classes is snapshot.runtime_classes
                 and base.snapshot.network_policies is snapshot.network_policies
                 and base.snapshot.unreadable == snapshot.unreadable)
        self.node_facts = base.node_facts if reuse else NodeFacts(snapshot)
        self.policies: dict[str, list] | None = None
        if "networkpolicies" not in snapshot.unreadable:
            self.policies = {}
            for policy in snapshot.network_policies:
                self.policies.setdefault(policy.namespace, []).append(policy.pod_selector)
        # What changed since the base's pods (uid, old, new), for incremental consumers; None
        # when computed from scratch. Only the base's pods mapping is kept, not the base (a
        # chain of analyses would keep every old snapshot alive).
        self.base_pods: dict | None = None
        self.pod_changes: list[tuple[str, Pod | None, Pod | None]] | None = None
        limit = max(64, int(len(snapshot.pods) * INCREMENTAL_LIMIT))
        changes = pod_changes(base.snapshot, snapshot, limit) if reuse else None
        untrusted = self.node_facts.untrusted
        if changes is None:
            self.counts: PodCounts = count_all(snapshot.pods, self.resolve, untrusted, self.policies)
        else:
            self.base_pods = base.snapshot.pods
            self.pod_changes = changes
            self.counts = count_changes(base.counts, changes, (base.resolve, self.resolve), untrusted,
                                        self.policies)
        self._fits: dict[str, list[NodeFit]] = {}
        self._handlers: dict[str, NodeHandlers] = {}
        self._evidence: Evidence | None = None
        self._findings: list | None = None
        self._members: dict | None = None
        # the troubled pods (problems view), in a box the next analysis keeps (not this one)
        # to update them by its pod changes once they were asked for
        self.troubled_box: list[dict | None] = [None]
        self._base_troubled = base.troubled_box if changes is not None else None
        # per-object findings by their input's identity ((code, key) -> (input, Finding)),
        # shared along incremental updates: copy-on-write inputs that did not change keep theirs
        self.finding_memo: dict = base.finding_memo if changes is not None else {}
        self._lock = threading.Lock()
        if changes is not None and not snapshot.events and not base.snapshot.events:
            self._carry_evidence(base)

    def _carry_evidence(self, base: Analysis) -> None:
        """Evidence, node handlers and fits from the base, redone only for the nodes where
        the set of handlers running pods prove changed (no events on either side)."""
        changed = [node for node in self.pod_changes_nodes()
                   if base.counts.running.get(node, {}).keys() != self.counts.running.get(node, {}).keys()]
        proof = base.evidence
        if not changed:
            self._evidence, self._fits, self._handlers = proof, base._fits, base._handlers
            return
        running = dict(proof.running)
        for node in changed:
            handlers = self.counts.running.get(node)
            if handlers:
                running[node] = set(handlers)
            else:
                running.pop(node, None)
        self._evidence = Evidence({}, running)
        gone = set(changed)
        self._handlers = {name: found for name, found in list(base._handlers.items()) if name not in gone}
        index = self.node_facts.index
        positions = sorted(index[node] for node in changed if node in index)
        fits = {}
        for rc in self.node_facts.sorted_classes:
            old = base._fits.get(rc.name)
            if old is None:
                continue
            make = fit_maker(rc, self.evidence, self.node_facts.reported)
            problems = self.node_facts.problems(rc)
            patched = list(old)
            for position in positions:
                patched[position] = make(*problems[position])
            fits[rc.name] = patched
        self._fits = fits

    # ---- evidence, node handlers, fits ---------------------------------------------------

    def _missing_from_events(self) -> dict[str, set[str]]:
        missing: dict[str, set[str]] = {}
        if not self.snapshot.events:
            return missing
        find = PodFinder(self.snapshot)
        for event in self.snapshot.events:
            failure = event_sandbox_failure(event)
            if failure.class_ != "no-runtime-configured" or not failure.handler:
                continue
            pod = find(event.involved_uid, event.involved_namespace, event.involved_name)
            if pod is not None and pod.node_name and pod.phase != "Running":
                missing.setdefault(pod.node_name, set()).add(failure.handler)
        return missing

    def pod_changes_nodes(self) -> set[str]:
        nodes = set()
        for _uid, old, new in self.pod_changes or ():
            if old is not None and old.node_name:
                nodes.add(old.node_name)
            if new is not None and new.node_name:
                nodes.add(new.node_name)
        return nodes

    @property
    def evidence(self) -> Evidence:
        found = self._evidence
        if found is None:
            running = {node: set(handlers) for node, handlers in self.counts.running.items()}
            found = self._evidence = Evidence(self._missing_from_events(), running)
        return found

    def node_handlers(self, node: Node) -> NodeHandlers:
        if self.snapshot.nodes.get(node.name) is not node:
            return node_handlers_from(node, self.snapshot, self.evidence)
        found = self._handlers.get(node.name)
        if found is None:
            found = node_handlers_from(node, self.snapshot, self.evidence)
            with self._lock:
                self._handlers[node.name] = found
        return found

    def runtime_class_nodes(self, rc: RuntimeClass) -> list[NodeFit]:
        if self.snapshot.runtime_classes.get(rc.name) is not rc:
            return runtime_class_nodes_from(rc, self.snapshot, self.evidence)
        found = self._fits.get(rc.name)
        if found is None:
            found = self._compute_fits(rc)
            with self._lock:
                self._fits[rc.name] = found
        return found

    def _compute_fits(self, rc: RuntimeClass) -> list[NodeFit]:
        make = fit_maker(rc, self.evidence, self.node_facts.reported)
        return [make(node, problems) for node, problems in self.node_facts.problems(rc)]

    # ---- what the report and the UI read -------------------------------------------------

    def members(self) -> dict[str, dict[str, Pod]]:
        """label -> {uid: pod} in snapshot order (one more pass over the pods, on first use)."""
        found = self._members
        if found is None:
            resolve = self.resolve
            found = {label: {} for label in self.counts.groups}
            for uid, pod in self.snapshot.pods.items():
                found[resolve(pod).label][uid] = pod
            self._members = found
        return found

    def troubled(self) -> dict[str, Pod]:
        """uid -> pod of the pods the problems view lists (model/problems.py), worked out on
        first use: from the base's when it had them, else over every pod."""
        found = self.troubled_box[0]
        if found is not None:
            return found
        resolve = self.resolve
        base = self._base_troubled[0] if self._base_troubled is not None else None
        if base is not None:
            found = dict(base)
            for uid, _old, new in self.pod_changes or ():
                found.pop(uid, None)
                if new is not None and is_troubled(new, resolve(new)):
                    found[uid] = new
        else:
            found = {uid: pod for uid, pod in self.snapshot.pods.items() if is_troubled(pod, resolve(pod))}
        self._base_troubled = None
        self.troubled_box[0] = found
        return found

    def group_order(self) -> list[str]:
        runtimes = self.counts.runtimes
        return sorted(self.counts.groups, key=lambda label: group_order_key(runtimes[label].family, label))

    def findings(self) -> list[Finding]:
        found = self._findings
        if found is None:
            found = self._findings = findings_of(self)
        return found

    def shares_node_handlers(self, other: Analysis) -> bool:
        """True when this analysis took its node handlers from `other` unchanged."""
        return self._handlers is other._handlers


_MEMO: list[Analysis] = []
_MEMO_LOCK = threading.Lock()


def analyze(snapshot: ClusterSnapshot, base: Analysis | None = None) -> Analysis:
    """The Analysis of `snapshot`, memoised by identity for the last few snapshots. `base`
    (or else the most recent memoised analysis) is used to update incrementally when the
    snapshot shares its nodes, RuntimeClasses and policies with it."""
    with _MEMO_LOCK:
        for found in _MEMO:
            if found.snapshot is snapshot:
                return found
        if base is None and _MEMO:
            base = _MEMO[-1]
    found = Analysis(snapshot, base)
    with _MEMO_LOCK:
        _MEMO.append(found)
        del _MEMO[:-MEMO_SIZE]
    return found


def forget() -> None:
    """Drop the memo (tests, or to release memory)."""
    with _MEMO_LOCK:
        _MEMO.clear()


# -- what the report and the UI call ----------------------------------------------------------


def group_pods_by_runtime(snapshot: ClusterSnapshot, pods: Iterable[Pod] | None = None) -> list[RuntimeGroup]:
    """One pass over the pods. Groups are ordered runc, kata, gvisor, other, then by label.
    Without `pods`, the snapshot's own analysis (computed once per snapshot) is used."""
    if pods is not None:
        return group_pods(snapshot, pods)
    found = analyze(snapshot)
    members = found.members()
    return [runtime_group(found.counts.runtimes[label], tuple(members[label].values()),
                          found.counts.group_classes.get(label, ()))
            for label in found.group_order()]


def pods_per_runtime_on_node(snapshot: ClusterSnapshot) -> dict[str, dict[str, int]]:
    """node name -> group label -> pod count. Unscheduled pods are not counted."""
    return {node: dict(counts) for node, counts in analyze(snapshot).counts.per_node.items()}


def evidence(snapshot: ClusterSnapshot) -> Evidence:
    """What the snapshot's pods and events prove about handlers on nodes (once per snapshot)."""
    return analyze(snapshot).evidence


def node_handlers(node: Node, snapshot: ClusterSnapshot) -> NodeHandlers:
    return analyze(snapshot).node_handlers(node)


def runtime_class_nodes(rc: RuntimeClass, snapshot: ClusterSnapshot) -> list[NodeFit]:
    """Every node (by name) and whether pods of `rc` can run there; computed once per
    snapshot and RuntimeClass."""
    return list(analyze(snapshot).runtime_class_nodes(rc))


def find_findings(snapshot: ClusterSnapshot) -> list[Finding]:
    """All findings, errors first, then by code and object. Computed once per snapshot."""
    return list(analyze(snapshot).findings())


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
    found = analyze(snapshot)
    per_family: dict[str, int] = {family: 0 for family in FAMILIES}
    sandboxed = 0
    per_runtime = {}
    for label in found.group_order():
        runtime, count = found.counts.runtimes[label], found.counts.groups[label]
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
