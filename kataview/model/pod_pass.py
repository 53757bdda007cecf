"""The pod pass of an analysis: one pass over a snapshot's pods, or an update of a base's
counts by the pods that changed; either gives a PodCounts.

`count_changes` subtracts the old records and adds the new ones, copying on write what it
touches: the base counts stay as they were (the UI may be reading them from another thread).
Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from kataview.model.records import LabelSelector, Pod, Taint
from kataview.model.runtime import PodRuntime
from kataview.model.scheduling import label_selector_matches

Resolve = Callable[[Pod], PodRuntime]


@dataclass(frozen=True, slots=True)
class PodCounts:
    """What one pass over the pods finds. Read-only once built.

    groups: label -> pod count; runtimes: label -> PodRuntime; group_classes: label ->
    RuntimeClass name -> count; per_node: node -> label -> count; running: node -> handler ->
    count of Running pods of an existing RuntimeClass; rc_pods, namespaces: counts;
    missing_users: missing RuntimeClass -> {uid: ns/name}; legacy_ns, sandboxed_ns: counts of
    unfinished pods; bare_ns: namespace -> {uid: name} of unfinished sandboxed pods no
    NetworkPolicy selects; leaks: (owner kind, ns, owner) -> {uid: (pod, node)} of runc pods
    on untrusted nodes; touched_groups: labels whose pods changed (count_changes only)."""

    groups: dict[str, int]
    runtimes: dict[str, PodRuntime]
    group_classes: dict[str, dict[str, int]]
    per_node: dict[str, dict[str, int]]
    running: dict[str, dict[str, int]]
    rc_pods: dict[str, int]
    namespaces: dict[str, int]
    missing_users: dict[str, dict[str, str]]
    legacy_ns: dict[str, int]
    sandboxed_ns: dict[str, int]
    bare_ns: dict[str, dict[str, str]]
    leaks: dict[tuple, dict[str, tuple[str, str]]]
    touched_groups: set[str] = field(default_factory=set)


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


def leak_key(pod: Pod) -> tuple | None:
    owner = pod.owner
    if owner is not None and owner.kind in ("DaemonSet", "Node"):
        return None  # node agents and static pods belong on every node
    return (owner.kind, pod.namespace, owner.name) if owner else ("Pod", pod.namespace, pod.name)


def count_all(pods: Mapping[str, Pod], resolve: Resolve, untrusted: Mapping[str, tuple[Taint, ...]],
              policies: Mapping[str, list[LabelSelector]] | None) -> PodCounts:
    """Count every pod. `untrusted`: node -> its untrusted taints; `policies`: namespace ->
    NetworkPolicy pod selectors (None: policies unreadable)."""
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
    for uid, pod in pods.items():
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
            key = leak_key(pod)
            if key is not None:
                leaks.setdefault(key, {})[uid] = (pod.name, node)
    return PodCounts(groups, runtimes, group_classes, per_node, running, rc_pods, namespaces,
                     missing_users, legacy_ns, sandboxed_ns, bare_ns, leaks)


def count_changes(base: PodCounts, changes: list, resolvers: tuple[Resolve, Resolve],
                  untrusted: Mapping[str, tuple[Taint, ...]],
                  policies: Mapping[str, list[LabelSelector]] | None) -> PodCounts:
    """`base` updated by `changes` ((uid, old, new) records): old records are resolved with
    resolvers[0] (the base snapshot's), new ones with resolvers[1]."""
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
        if pod.finished:
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
            key = leak_key(pod)
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
    kept = {label: classes for label, classes in group_classes.drop_empty().items() if label in groups}
    for label in groups:
        kept.setdefault(label, {})
    return PodCounts(groups, {label: runtimes[label] for label in groups}, kept, per_node.drop_empty(),
                     running.drop_empty(), rc_pods, namespaces, missing_users.drop_empty(), legacy_ns,
                     sandboxed_ns, bare_ns.drop_empty(), leaks.drop_empty(), touched_groups)
