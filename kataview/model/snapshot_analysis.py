"""Everything the report and the UI derive from a ClusterSnapshot, computed once per snapshot.

`analyze(snapshot)` makes one pass over the pods and keeps what every analysis needs: pods by
runtime group, counts per node, per RuntimeClass and per namespace, what running pods prove
about handlers on nodes, and the per-pod inputs of the findings (KV004/5/6/8). Node-level
facts that depend only on nodes and RuntimeClasses (untrusted taints, nodeSelector and taint
fit of each RuntimeClass on each node) are kept in a `_Static` (node_facts) shared by every
analysis whose snapshot holds the same node and RuntimeClass mappings.

Snapshots share unchanged mappings (informers copy on write), so a new snapshot is analysed
incrementally from the previous analysis when only pods and events changed: the pods that
differ (by record identity) are subtracted and added (pod_pass), and the rest is reused.
Analyses are immutable once built (the UI reads one from a thread while the next is built):
incremental updates copy what they touch.

The results are memoised for the last few snapshots by identity. Stdlib only.
"""

from __future__ import annotations

import threading

from kataview.model.analysis import (
    Evidence,
    NodeFit,
    NodeHandlers,
    PodFinder,
    RuntimeResolver,
    node_handlers_from,
)
from kataview.model.changes import pod_changes
from kataview.model.node_facts import _Static, fit_maker
from kataview.model.node_facts import sandboxed_tolerations as sandboxed_tolerations
from kataview.model.node_facts import untrusted_taints_with as untrusted_taints_with
from kataview.model.pod_pass import count_all, count_changes
from kataview.model.records import ClusterSnapshot, Node, Pod, RuntimeClass

INCREMENTAL_LIMIT = 0.25  # more than this share of pods changed: recompute from scratch


class Analysis:
    """The analysis of one snapshot. Read-only once built.

    groups: label -> pod count; runtimes: label -> PodRuntime; group_classes: label ->
    RuntimeClass name -> count; per_node: node -> label -> count; running: node -> handler ->
    count of Running pods of an existing RuntimeClass; rc_pods, namespaces: counts;
    missing_users: missing RuntimeClass -> {uid: ns/name}; legacy_ns, sandboxed_ns: counts of
    unfinished pods; bare_ns: namespace -> {uid: name} of unfinished sandboxed pods no
    NetworkPolicy selects; leaks: (owner kind, ns, owner) -> {uid: (pod, node)} of runc pods
    on untrusted nodes. members() gives the pods themselves."""

    def __init__(self, snapshot: ClusterSnapshot, base: Analysis | None = None) -> None:
        self.snapshot = snapshot
        self.resolve = RuntimeResolver(snapshot)
        reuse = (base is not None and base.snapshot.nodes is snapshot.nodes
                 and base.snapshot.runtime_classes is snapshot.runtime_classes
                 and base.snapshot.network_policies is snapshot.network_policies
                 and base.snapshot.unreadable == snapshot.unreadable)
        self.static = base.static if reuse else _Static(snapshot)
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
        self.touched_groups: set[str] = set()
        limit = max(64, int(len(snapshot.pods) * INCREMENTAL_LIMIT))
        changes = pod_changes(base.snapshot, snapshot, limit) if reuse else None
        if changes is None:
            count_all(self)
        else:
            self.base_pods = base.snapshot.pods
            self.pod_changes = changes
            count_changes(self, base, changes)
        self._fits: dict[str, list[NodeFit]] = {}
        self._handlers: dict[str, NodeHandlers] = {}
        self._evidence: Evidence | None = None
        self._findings: list | None = None
        self._members: dict | None = None
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
                   if base.running.get(node, {}).keys() != self.running.get(node, {}).keys()]
        proof = base.evidence
        if not changed:
            self._evidence, self._fits, self._handlers = proof, base._fits, base._handlers
            return
        running = dict(proof.running)
        for node in changed:
            handlers = self.running.get(node)
            if handlers:
                running[node] = set(handlers)
            else:
                running.pop(node, None)
        self._evidence = Evidence({}, running)
        gone = set(changed)
        self._handlers = {name: found for name, found in list(base._handlers.items()) if name not in gone}
        index = self.static.index
        positions = sorted(index[node] for node in changed if node in index)
        fits = {}
        for rc in self.static.sorted_classes:
            old = base._fits.get(rc.name)
            if old is None:
                continue
            make = fit_maker(rc, self.evidence, self.static.reported)
            problems = self.static.problems(rc)
            patched = list(old)
            for position in positions:
                patched[position] = make(*problems[position])
            fits[rc.name] = patched
        self._fits = fits

    # ---- evidence, node handlers, fits ---------------------------------------------------

    def _missing_from_events(self) -> dict[str, set[str]]:
        from kataview.model.findings import event_sandbox_failure

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
            running = {node: set(handlers) for node, handlers in self.running.items()}
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
            from kataview.model.analysis import runtime_class_nodes_from

            return runtime_class_nodes_from(rc, self.snapshot, self.evidence)
        found = self._fits.get(rc.name)
        if found is None:
            found = self._compute_fits(rc)
            with self._lock:
                self._fits[rc.name] = found
        return found

    def _compute_fits(self, rc: RuntimeClass) -> list[NodeFit]:
        make = fit_maker(rc, self.evidence, self.static.reported)
        return [make(node, problems) for node, problems in self.static.problems(rc)]

    # ---- what the report and the UI read -------------------------------------------------

    def members(self) -> dict[str, dict[str, Pod]]:
        """label -> {uid: pod} in snapshot order (one more pass over the pods, on first use)."""
        found = self._members
        if found is None:
            resolve = self.resolve
            found = {label: {} for label in self.groups}
            for uid, pod in self.snapshot.pods.items():
                found[resolve(pod).label][uid] = pod
            self._members = found
        return found

    def group_order(self) -> list[str]:
        from kataview.model.analysis import _FAMILY_RANK

        return sorted(self.groups, key=lambda label: (_FAMILY_RANK.get(self.runtimes[label].family, 9), label))

    def findings(self) -> list:
        found = self._findings
        if found is None:
            from kataview.model.findings import findings_of

            found = self._findings = findings_of(self)
        return found


_MEMO: list[Analysis] = []
_MEMO_SIZE = 3
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
        del _MEMO[:-_MEMO_SIZE]
    return found


def forget() -> None:
    """Drop the memo (tests, or to release memory)."""
    with _MEMO_LOCK:
        _MEMO.clear()
