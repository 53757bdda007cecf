"""Everything the report and the UI derive from a ClusterSnapshot, computed once per snapshot.

`analyze(snapshot)` makes one pass over the pods and keeps what every analysis needs: pods by
runtime group, counts per node, per RuntimeClass and per namespace, what running pods prove
about handlers on nodes, and the per-pod inputs of the findings (KV004/5/6/8). Node-level
facts that depend only on nodes and RuntimeClasses (untrusted taints, nodeSelector and taint
fit of each RuntimeClass on each node) are kept in a `_Static` shared by every analysis whose
snapshot holds the same node and RuntimeClass mappings.

Snapshots share unchanged mappings (informers copy on write), so a new snapshot is analysed
incrementally from the previous analysis when only pods and events changed: the pods that
differ (by record identity) are subtracted and added, and the rest is reused. Analyses are
immutable once built (the UI reads one from a thread while the next is built): incremental
updates copy what they touch.

The results are memoised for the last few snapshots by identity. Stdlib only.
"""

from __future__ import annotations

import threading

from kataview.model.analysis import (
    SANDBOXED_FAMILIES,
    Evidence,
    NodeFit,
    NodeHandlers,
    PodFinder,
    PodRuntime,
    RuntimeResolver,
    _inferred_has,
    label_selector_matches,
    node_handlers_from,
    runtime_family,
    selector_matches,
    untolerated_taints,
)
from kataview.model.changes import pod_changes
from kataview.model.records import ClusterSnapshot, Node, Pod, RuntimeClass, Taint

INCREMENTAL_LIMIT = 0.25  # more than this share of pods changed: recompute from scratch


def _done(pod: Pod) -> bool:
    return pod.phase in ("Succeeded", "Failed")


def untrusted_taints_with(node: Node, sandboxed_tolerations) -> tuple[Taint, ...]:
    from kataview.model.analysis import blocking_taints, tolerates

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


class _Static:
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


class _Copied:
    """Copy-on-write view of a dict of dicts (or of counts) taken from a base analysis."""

    __slots__ = ("data", "touched")

    def __init__(self, base: dict) -> None:
        self.data = dict(base)
        self.touched: set = set()

    def inner(self, key) -> dict:
        if key in self.touched:
            return self.data[key]
        current = self.data.get(key)
        fresh = dict(current) if current is not None else {}
        self.data[key] = fresh
        self.touched.add(key)
        return fresh

    def drop_empty(self) -> dict:
        for key in self.touched:
            if not self.data[key]:
                del self.data[key]
        return self.data


def _add_count(counts: dict, key, delta: int) -> None:
    value = counts.get(key, 0) + delta
    if value:
        counts[key] = value
    else:
        counts.pop(key, None)


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
            self._full()
        else:
            self.base_pods = base.snapshot.pods
            self.pod_changes = changes
            self._incremental(base, changes)
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
            make = self._fit_maker(rc)
            problems = self.static.problems(rc)
            patched = list(old)
            for position in positions:
                patched[position] = make(*problems[position])
            fits[rc.name] = patched
        self._fits = fits

    # ---- the pod pass --------------------------------------------------------------------

    def _full(self) -> None:
        resolve = self.resolve
        untrusted = self.static.untrusted
        policies = self.policies
        groups: dict[str, int] = {}
        group_classes: dict[str, dict[str, int]] = {}
        runtimes: dict[str, PodRuntime] = {}
        per_node: dict[str, dict[str, int]] = {}
        running: dict[str, dict[str, int]] = {}
        rc_pods: dict[str, int] = {}
        namespaces: dict[str, int] = {}
        missing_users: dict[str, dict[str, str]] = {}
        legacy_ns: dict[str, int] = {}
        sandboxed_ns: dict[str, int] = {}
        bare_ns: dict[str, dict[str, str]] = {}
        leaks: dict[tuple, dict[str, tuple[str, str]]] = {}
        by_class: dict[str | None, PodRuntime] = {}
        for uid, pod in self.snapshot.pods.items():
            rc_name = pod.runtime_class_name
            if rc_name is None and pod.annotations:
                runtime = resolve(pod)  # may ask for the untrusted runtime by annotation
            else:
                runtime = by_class.get(rc_name)
                if runtime is None:
                    runtime = by_class[rc_name] = resolve(pod)
            label = runtime.label
            count = groups.get(label)
            if count is None:
                count = 0
                runtimes[label] = runtime
                group_classes[label] = {}
            groups[label] = count + 1
            ns = pod.namespace
            namespaces[ns] = namespaces.get(ns, 0) + 1
            if rc_name:
                rc_pods[rc_name] = rc_pods.get(rc_name, 0) + 1
                classes = group_classes[label]
                classes[rc_name] = classes.get(rc_name, 0) + 1
            node = pod.node_name
            if node:
                counts = per_node.get(node)
                if counts is None:
                    counts = per_node[node] = {}
                counts[label] = counts.get(label, 0) + 1
                if pod.phase == "Running" and rc_name and runtime.source == "runtimeclass":
                    handlers = running.get(node)
                    if handlers is None:
                        handlers = running[node] = {}
                    handlers[runtime.handler] = handlers.get(runtime.handler, 0) + 1
            source = runtime.source
            if source == "missing-runtimeclass":
                missing_users.setdefault(rc_name, {})[uid] = pod.key
            phase = pod.phase
            if phase == "Succeeded" or phase == "Failed":
                continue
            if source == "legacy-annotation":
                legacy_ns[ns] = legacy_ns.get(ns, 0) + 1
            if runtime.sandboxed:
                sandboxed_ns[ns] = sandboxed_ns.get(ns, 0) + 1
                if policies is not None:
                    selectors = policies.get(ns, ())
                    if not selectors or not any(label_selector_matches(s, pod.labels) for s in selectors):
                        bare = bare_ns.get(ns)
                        if bare is None:
                            bare = bare_ns[ns] = {}
                        bare[uid] = pod.name
            elif node in untrusted and runtime.family == "runc":
                key = self._leak_key(pod)
                if key is not None:
                    leaks.setdefault(key, {})[uid] = (pod.name, node)
        self.groups, self.group_classes, self.runtimes = groups, group_classes, runtimes
        self.per_node, self.running, self.rc_pods, self.namespaces = per_node, running, rc_pods, namespaces
        self.missing_users, self.legacy_ns, self.sandboxed_ns = missing_users, legacy_ns, sandboxed_ns
        self.bare_ns, self.leaks = bare_ns, leaks

    @staticmethod
    def _leak_key(pod: Pod) -> tuple | None:
        owner = pod.owner
        if owner is not None and owner.kind in ("DaemonSet", "Node"):
            return None  # node agents and static pods belong on every node
        return (owner.kind, pod.namespace, owner.name) if owner else ("Pod", pod.namespace, pod.name)

    def _incremental(self, base: Analysis, changes: list) -> None:
        groups = dict(base.groups)
        touched_groups: set[str] = set()
        group_classes = _Copied(base.group_classes)
        runtimes = dict(base.runtimes)
        per_node = _Copied(base.per_node)
        running = _Copied(base.running)
        rc_pods = dict(base.rc_pods)
        namespaces = dict(base.namespaces)
        missing_users = _Copied(base.missing_users)
        legacy_ns = dict(base.legacy_ns)
        sandboxed_ns = dict(base.sandboxed_ns)
        bare_ns = _Copied(base.bare_ns)
        leaks = _Copied(base.leaks)
        untrusted = self.static.untrusted
        policies = self.policies
        resolvers = (base.resolve, self.resolve)

        def account(uid: str, pod: Pod, sign: int, resolve) -> None:
            runtime = resolve(pod)
            label = runtime.label
            _add_count(groups, label, sign)
            touched_groups.add(label)
            if sign > 0:
                runtimes.setdefault(label, runtime)
            rc_name = pod.runtime_class_name
            ns = pod.namespace
            _add_count(namespaces, ns, sign)
            if rc_name:
                _add_count(rc_pods, rc_name, sign)
                _add_count(group_classes.inner(label), rc_name, sign)
            node = pod.node_name
            if node:
                _add_count(per_node.inner(node), label, sign)
                if pod.phase == "Running" and rc_name and runtime.source == "runtimeclass":
                    _add_count(running.inner(node), runtime.handler, sign)
            source = runtime.source
            if source == "missing-runtimeclass":
                users = missing_users.inner(rc_name)
                if sign > 0:
                    users[uid] = pod.key
                else:
                    users.pop(uid, None)
            if _done(pod):
                return
            if source == "legacy-annotation":
                _add_count(legacy_ns, ns, sign)
            if runtime.sandboxed:
                _add_count(sandboxed_ns, ns, sign)
                if policies is not None:
                    selectors = policies.get(ns, ())
                    if not selectors or not any(label_selector_matches(s, pod.labels) for s in selectors):
                        bare = bare_ns.inner(ns)
                        if sign > 0:
                            bare[uid] = pod.name
                        else:
                            bare.pop(uid, None)
            elif node in untrusted and runtime.family == "runc":
                key = self._leak_key(pod)
                if key is not None:
                    leaked = leaks.inner(key)
                    if sign > 0:
                        leaked[uid] = (pod.name, node)
                    else:
                        leaked.pop(uid, None)

        for uid, old, new in changes:
            if old is not None:
                account(uid, old, -1, resolvers[0])
        for uid, old, new in changes:
            if new is not None:
                account(uid, new, 1, resolvers[1])
        self.groups = groups
        self.runtimes = {label: runtimes[label] for label in self.groups}
        self.group_classes = {label: classes for label, classes in group_classes.drop_empty().items()
                              if label in self.groups}
        for label in self.groups:
            self.group_classes.setdefault(label, {})
        self.per_node = per_node.drop_empty()
        self.running = running.drop_empty()
        self.rc_pods, self.namespaces = rc_pods, namespaces
        self.missing_users = missing_users.drop_empty()
        self.legacy_ns, self.sandboxed_ns = legacy_ns, sandboxed_ns
        self.bare_ns = bare_ns.drop_empty()
        self.leaks = leaks.drop_empty()
        self.touched_groups = touched_groups

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
        make = self._fit_maker(rc)
        return [make(node, problems) for node, problems in self.static.problems(rc)]

    def _fit_maker(self, rc: RuntimeClass):
        proof = self.evidence
        missing, running = proof.missing, proof.running
        handler = rc.handler
        reported_yes = f"reports handler {handler!r}"
        reported_no = f"does not report handler {handler!r}"
        failed = f"a pod's sandbox creation failed there: no runtime {handler!r} configured"
        runs = f"handler {handler!r} inferred present (pods run there with it)"
        inferred_memo: dict[tuple, tuple[bool, str]] = {}
        reported = self.static.reported

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
                key = (node.labels.get("katacontainers.io/kata-runtime"),
                       tuple(node.labels.get(k) for k in (rc.node_selector or ())))
                result = inferred_memo.get(key)
                if result is None:
                    has, why = _inferred_has(node, rc)
                    result = inferred_memo[key] = (has, f"handler {handler!r} inferred {'present' if has else 'absent'} ({why})")
                has, handler_why = result
            schedulable = not problems
            why = handler_why + ("; " + problems if problems else "")
            return NodeFit(name, has and schedulable, inferred, why, has, schedulable)

        return make

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
