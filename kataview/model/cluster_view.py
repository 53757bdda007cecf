"""What the screens show, derived once per snapshot: rows for every list, counts, findings.

Stdlib only (the screens render it; nothing here is Textual). The model's analysis
(model/analysis.py) is computed once per snapshot, incrementally from the previous one when
only pods and events changed. The view is incremental too: when the analysis lists the pods
that changed since the previous view's snapshot, only the rows of those pods are replaced
(groups the change does not touch keep their row lists), and node/RuntimeClass/finding rows
(model/object_rows.py) are reused while their inputs are the same objects. Every row has a
`key` (pod uid, node name, RC name), a `namespace` ("" when cluster-scoped) and a lowercase
`haystack` for the `/` filter. Lists handed to the screens are never mutated afterwards (a
rebuild copies what it changes).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from operator import attrgetter
from typing import Any

from kataview.model.analysis import Analysis, analyze, group_detail
from kataview.model.object_rows import (
    FindingRow, NodeRow, RuntimeClassRow, changed_node_rows, class_rows, finding_rows, node_rows, warned_objects,
)
from kataview.model.records import ClusterSnapshot, Pod, WatchState
from kataview.model.runtime import SANDBOXED_FAMILIES
from kataview.model.vm_cost import NO_COST, NO_TOTALS, VMCost, VMTotals, class_cost, pod_cost, totals_of

NO_TIME = datetime.min.replace(tzinfo=timezone.utc)  # a pod without a creation time sorts as the oldest
FULLY_READY = 1.0


class PodRow:
    """One pod's line. What the filter and the sort keys (ui/sorting.py) need is computed up
    front, once per pod record; the READY text is made when a visible row is drawn (150,000
    rows are built, a screenful is shown)."""

    __slots__ = ("key", "namespace", "name", "node", "runtime", "family", "handler", "created", "haystack",
                 "sort_key", "pod", "status", "restarts", "ready_order", "created_order", "vm")

    def __init__(self, pod: Pod, runtime: str, family: str, handler: str | None = None,
                 of_class: VMCost = NO_COST) -> None:
        self.pod = pod
        self.vm = pod_cost(pod, of_class)  # the declared sandbox overhead (model.vm_cost)
        self.key = pod.uid
        self.namespace = namespace = pod.namespace
        self.name = name = pod.name
        self.node = node = pod.node_name or ""
        self.runtime = runtime
        self.family = family
        self.handler = handler or ""
        self.created = pod.created
        self.created_order = pod.created or NO_TIME
        self.status = status = pod.status_text
        self.restarts = pod.restarts
        containers = pod.containers
        ready = sum(1 for container in containers if container.ready)
        self.ready_order = FULLY_READY if ready == len(containers) else ready / len(containers)
        # every column shown, once per pod record (a status change is a new record, a new row);
        # one column a line, so a regex's ^ and $ anchor at each column
        self.haystack = f"{namespace}\n{name}\n{node}\n{status}\n{runtime}\n{self.handler}\n{family}".lower()
        self.sort_key = f"{namespace}\0{name}\0{self.key}"  # unique: the same order however built

    @property
    def labels(self):
        return self.pod.labels

    @property
    def ready(self) -> str:
        containers = self.pod.containers
        return f"{sum(1 for container in containers if container.ready)}/{len(containers)}"


@dataclass
class PodGroup:
    label: str
    handler: str | None
    family: str
    rows: list[PodRow]
    detail: str = ""  # e.g. "handler 'runsc' via RuntimeClass gvisor"
    # (the previous view's rows, rows removed, rows added) when made from them: a sorted copy
    # of the old rows is updated by these instead of sorted again (ui/sorting.py)
    changes: tuple[list[PodRow], list[PodRow], list[PodRow]] | None = field(default=None, repr=False)
    vm_totals: VMTotals = NO_TOTALS  # declared overhead of the group's scheduled, unfinished pods

    @property
    def key(self) -> str:
        return f"group:{self.label}"

    @property
    def tags(self) -> frozenset[str]:
        """The words that name this group in the `/` filter: its runtime, handler and family."""
        words = {self.label, self.label.split(" ")[0], self.handler or "", self.family}
        return frozenset(word.lower() for word in words if word)


@dataclass
class ClusterView:
    snapshot: ClusterSnapshot
    state: WatchState
    pod_groups: list[PodGroup] = field(default_factory=list)
    nodes: list[NodeRow] = field(default_factory=list)
    runtime_classes: list[RuntimeClassRow] = field(default_factory=list)
    findings: list[FindingRow] = field(default_factory=list)
    namespaces: dict[str, int] = field(default_factory=dict)
    runtime_counts: dict[str, int] = field(default_factory=dict)
    pods_on_node: dict[str, dict[str, int]] = field(default_factory=dict)
    _pod_rows: dict[str, PodRow] | None = field(default=None, repr=False)  # see pod_rows
    family_of: dict[str, str] = field(default_factory=dict)  # runtime label -> family
    received_at: datetime | None = None
    analysis: Analysis | None = field(default=None, repr=False)
    # inputs of the node / RuntimeClass / finding rows, to reuse rows whose inputs did not change
    reuse: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def pod_rows(self) -> dict[str, PodRow]:
        """Pod rows by uid, built on first use (an incremental rebuild does not need it, and
        copying 150,000 entries per view is what it would cost)."""
        rows = self._pod_rows
        if rows is None:
            rows = self._pod_rows = {row.key: row for group in self.pod_groups for row in group.rows}
        return rows

    def pod_row(self, uid: str) -> PodRow | None:
        """One pod's row without building pod_rows: found by its group and sort key."""
        if self._pod_rows is not None:
            return self._pod_rows.get(uid)
        pod = self.snapshot.pods.get(uid)
        if pod is None or self.analysis is None:
            return self.pod_rows.get(uid)
        label = self.analysis.resolve(pod).label
        for group in self.pod_groups:
            if group.label == label:
                return _find_row(group.rows, f"{pod.namespace}\0{pod.name}\0{pod.uid}", pod.uid)
        return None

    def findings_for(self, kind: str, name: str, namespace: str = "") -> list[FindingRow]:
        return [row for row in self.findings
                if row.kind == kind and row.name == name and row.namespace == namespace]


_SORT_KEY = attrgetter("sort_key")


def build_pod_groups(found: Analysis, previous: dict[str, PodRow]) -> list[PodGroup]:
    """Every group's rows from scratch, in one pass over the pods (reusing rows of unchanged
    pod records); a group's family, handler and RuntimeClass cost are its runtime's."""
    runtimes = found.counts.runtimes
    made: dict[str, tuple[list[PodRow], str, str | None, VMCost]] = {}  # label -> (rows, family, handler, cost)
    resolve, get = found.resolve, previous.get
    for uid, pod in found.snapshot.pods.items():
        label = resolve(pod).label
        group = made.get(label)
        if group is None:
            runtime = runtimes[label]
            group = made[label] = ([], runtime.family, runtime.handler, runtime_class_cost(found, runtime))
        row = get(uid)
        if row is None or row.pod is not pod or row.runtime != label:
            row = PodRow(pod, label, group[1], group[2], group[3])
        group[0].append(row)
    groups = []
    for label in found.group_order():
        rows = made[label][0] if label in made else []
        rows.sort(key=_SORT_KEY)
        groups.append(_group(found, label, rows))
    return groups


def runtime_class_cost(found: Analysis, runtime) -> VMCost:
    return class_cost(found.snapshot.runtime_classes.get(runtime.runtime_class or ""))


def _group(found: Analysis, label: str, rows: list[PodRow], changes: tuple | None = None,
           old_totals: VMTotals | None = None) -> PodGroup:
    runtime = found.counts.runtimes[label]
    detail = ""
    if runtime.source not in ("default", "legacy-annotation"):
        detail = group_detail(runtime, found.counts.group_classes.get(label, ()))
    return PodGroup(label, runtime.handler, runtime.family, rows, detail, changes,
                    group_totals(runtime.family, rows, changes, old_totals))


def group_totals(family: str, rows: list[PodRow], changes: tuple | None, old: VMTotals | None) -> VMTotals:
    """Sandbox overhead over the group: from the previous group's totals and the rows
    removed and added when known (a watch update costs its changes, not the group)."""
    if family not in SANDBOXED_FAMILIES:
        return NO_TOTALS
    if old is not None and changes is not None:
        _, removed, added = changes
        return old.plus(totals_of((row.pod, row.vm) for row in removed), -1).plus(
            totals_of((row.pod, row.vm) for row in added))
    return totals_of((row.pod, row.vm) for row in rows)


def _find_row(rows: list[PodRow], sort_key: str, uid: str) -> PodRow | None:
    index = bisect_left(rows, sort_key, key=_SORT_KEY)
    while index < len(rows) and rows[index].sort_key == sort_key:
        if rows[index].key == uid:
            return rows[index]
        index += 1
    return None


def _remove_row(rows: list[PodRow], sort_key: str, uid: str) -> PodRow | None:
    index = bisect_left(rows, sort_key, key=_SORT_KEY)
    while index < len(rows) and rows[index].sort_key == sort_key:
        if rows[index].key == uid:
            return rows.pop(index)
        index += 1
    return None


def update_pod_groups(found: Analysis, previous: ClusterView) -> list[PodGroup]:
    """The previous view's groups with the analysis's pod changes applied: the old row of a
    changed pod is found by its group and sort key (no index of every row is kept)."""
    old_groups = {group.label: group for group in previous.pod_groups}
    touched: dict[str, list[PodRow]] = {}
    changed: dict[str, tuple[list, list]] = {}  # label -> (rows removed, rows added)

    def rows_of(label: str) -> list[PodRow]:
        rows = touched.get(label)
        if rows is None:
            old = old_groups.get(label)
            rows = touched[label] = list(old.rows) if old is not None else []
            changed[label] = ([], [])
        return rows

    resolve = found.resolve  # the same RuntimeClasses as the base: old pods resolve alike
    for uid, old, new in found.pod_changes:
        if old is not None:
            label = resolve(old).label
            gone = _remove_row(rows_of(label), f"{old.namespace}\0{old.name}\0{old.uid}", old.uid)
            if gone is not None:
                changed[label][0].append(gone)
        if new is not None:
            runtime = resolve(new)
            row = PodRow(new, runtime.label, runtime.family, runtime.handler, runtime_class_cost(found, runtime))
            insort(rows_of(runtime.label), row, key=_SORT_KEY)
            changed[runtime.label][1].append(row)
    groups = []
    for label in found.group_order():
        rows = touched.get(label)
        old = old_groups.get(label)
        if rows is None and old is not None and label not in found.counts.touched_groups:
            group = old
        elif rows is None:
            group = (_group(found, label, list(old.rows), (old.rows, [], []), old.vm_totals) if old
                     else _group(found, label, []))
        else:
            group = _group(found, label, rows, (old.rows, *changed[label]) if old is not None else None,
                           old.vm_totals if old is not None else None)
        groups.append(group)
    return groups


def build_view(snapshot: ClusterSnapshot, state: WatchState, previous: ClusterView | None = None,
               received_at: datetime | None = None) -> ClusterView:
    found = analyze(snapshot, base=previous.analysis if previous is not None else None)
    if previous is not None and previous.snapshot is snapshot and previous.analysis is found:
        return replace(previous, state=state, received_at=received_at, analysis=found)
    incremental = (previous is not None and found.pod_changes is not None and previous.analysis is not None
                   and found.base_pods is previous.snapshot.pods)
    if incremental:
        groups = update_pod_groups(found, previous)
    else:
        groups = build_pod_groups(found, previous.pod_rows if previous is not None else {})
    view = ClusterView(snapshot, state, pod_groups=groups, received_at=received_at, analysis=found)
    old = previous.reuse if previous is not None else {}
    reuse = view.reuse

    findings = found.findings()
    if old.get("findings") is findings:
        view.findings = previous.findings
    else:
        view.findings = finding_rows(snapshot, findings)
    reuse["findings"] = findings
    warned = warned_objects(view.findings)

    view.pods_on_node = found.counts.per_node
    view.runtime_counts = {group.label: len(group.rows) for group in groups}
    view.family_of = {group.label: group.family for group in groups}
    view.namespaces = dict(sorted(found.counts.namespaces.items()))

    old_nodes = old.get("nodes", {})
    if (incremental and found.node_facts is previous.analysis.node_facts and old.get("warned") == warned
            and found.shares_node_handlers(previous.analysis) and old_nodes):
        view.nodes, reuse["nodes"] = changed_node_rows(found, previous.nodes, old_nodes)
    else:
        view.nodes, reuse["nodes"] = node_rows(found, previous.nodes if previous is not None else None, old_nodes,
                                               warned)
    reuse["warned"] = warned
    view.runtime_classes, reuse["classes"] = class_rows(found, old.get("classes", {}), warned)
    return view
