"""Which runtime each pod runs in, and the runtime groups the pods pane and the report show.
Stdlib only.

Runtime of a pod (``RuntimeResolver``, ``pod_runtime``), in order:

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

from dataclasses import dataclass
from typing import Iterable

from kataview.model.records import ClusterSnapshot, Pod

DEFAULT_LABEL = "runc (default)"
LEGACY_LABEL = "untrusted (legacy annotation)"
UNTRUSTED_ANNOTATION = "io.kubernetes.cri.untrusted-workload"
CRIO_TRUSTED_ANNOTATION = "io.kubernetes.cri-o.TrustedSandbox"
# the label kata-deploy puts on the nodes it installed Kata on
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
FAMILY_RANK = {family: rank for rank, family in enumerate(FAMILIES)}
_RUNC_LIKE = frozenset({"", "runc", "crun", "youki", "default"})
_SOURCE_DETAIL = {"default": DEFAULT_DETAIL, "legacy-annotation": LEGACY_DETAIL}


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


def group_order_key(family: str, label: str) -> tuple[int, str]:
    """Runtime groups are shown runc, kata, gvisor, other, then by label."""
    return FAMILY_RANK.get(family, 9), label


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


def group_pods(snapshot: ClusterSnapshot, pods: Iterable[Pod]) -> list[RuntimeGroup]:
    """`pods` by runtime group, in one pass, groups in `group_order_key` order."""
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
    groups.sort(key=lambda group: group_order_key(group.family, group.label))
    return groups
