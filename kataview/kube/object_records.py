"""Node, RuntimeClass, Event and NetworkPolicy Structs (api_types) -> model records."""

from __future__ import annotations

from kataview.kube import api_types as t
from kataview.model import records as r
from kataview.model.quantity import cpu_millis, memory_bytes

from .fields import (
    EMPTY, EMPTY_META, EMPTY_NODE_INFO, EMPTY_NODE_SPEC, EMPTY_NODE_STATUS, EMPTY_REF, aware, interned,
    label_selector, shared_quantities, shared_tolerations,
)


def node_record(obj: t.NodeObj) -> r.Node:
    meta = obj.metadata or EMPTY_META
    spec = obj.spec or EMPTY_NODE_SPEC
    status = obj.status or EMPTY_NODE_STATUS
    info = status.nodeInfo or EMPTY_NODE_INFO
    capacity = status.capacity
    minion_cpu = None
    if not capacity and obj.resources is not None and obj.resources.capacity:
        capacity = obj.resources.capacity  # v1beta1 Minion: integer cpu was in millicores
        cpu = capacity.get("cpu")
        if isinstance(cpu, int) and not isinstance(cpu, bool):
            minion_cpu = cpu
    capacity = capacity or {}
    handlers = None
    if status.runtimeHandlers:  # omitted (or empty) = the node does not report handlers
        handlers = tuple(
            r.RuntimeHandler(
                name=handler.name or "",
                recursive_read_only_mounts=handler.features.recursiveReadOnlyMounts if handler.features else None,
                user_namespaces=handler.features.userNamespaces if handler.features else None,
            )
            for handler in status.runtimeHandlers
        )
    return r.Node(
        name=meta.name or obj.id or "",
        uid=meta.uid or "",
        labels=meta.labels or obj.labels or EMPTY,
        annotations=meta.annotations or EMPTY,
        taints=tuple(
            r.Taint(key=taint.key or "", value=taint.value or "", effect=taint.effect or "")
            for taint in spec.taints or ()
        ),
        unschedulable=bool(spec.unschedulable),
        conditions=tuple(
            r.Condition(
                type=cond.type or "",
                status=cond.status or "Unknown",
                reason=cond.reason or "",
                message=cond.message or "",
                last_transition=aware(cond.lastTransitionTime),
            )
            for cond in status.conditions or ()
        ),
        addresses=tuple(
            r.NodeAddress(type=addr.type or "", address=addr.address or "") for addr in status.addresses or ()
        ),
        container_runtime_version=info.containerRuntimeVersion or None,
        kubelet_version=info.kubeletVersion or None,
        os_image=info.osImage or None,
        kernel_version=info.kernelVersion or None,
        architecture=info.architecture or None,
        cpu_capacity_millis=minion_cpu if minion_cpu is not None else cpu_millis(capacity.get("cpu")),
        memory_capacity_bytes=memory_bytes(capacity.get("memory")),
        runtime_handlers=handlers,
        created=aware(meta.creationTimestamp),
    )


def runtime_class_record(obj: t.RuntimeClassObj, default_api_version: str = "") -> r.RuntimeClass:
    meta = obj.metadata or EMPTY_META
    spec = obj.spec
    handler = obj.handler or (spec.runtimeHandler if spec else None) or ""
    overhead_obj = obj.overhead or (spec.overhead if spec else None)
    pod_fixed = overhead_obj.podFixed if overhead_obj else None
    scheduling = obj.scheduling or (spec.scheduling if spec else None)
    api_version = obj.apiVersion or default_api_version or "node.k8s.io/v1"
    return r.RuntimeClass(
        name=meta.name or "",
        handler=handler,
        api_version=api_version,
        uid=meta.uid or "",
        overhead=shared_quantities(pod_fixed),
        overhead_cpu_millis=cpu_millis(pod_fixed.get("cpu")) if pod_fixed else None,
        overhead_memory_bytes=memory_bytes(pod_fixed.get("memory")) if pod_fixed else None,
        node_selector=None if scheduling is None else (scheduling.nodeSelector or {}),
        tolerations=shared_tolerations(scheduling.tolerations) if scheduling else (),
        labels=meta.labels or EMPTY,
        created=aware(meta.creationTimestamp),
    )



def event_record(obj: t.EventObj) -> r.Event:
    meta = obj.metadata or EMPTY_META
    ref = obj.involvedObject or obj.regarding or EMPTY_REF
    series = obj.series
    source = obj.source or obj.deprecatedSource
    first = obj.firstTimestamp or obj.deprecatedFirstTimestamp or obj.eventTime
    last = (
        obj.lastTimestamp
        or obj.deprecatedLastTimestamp
        or (series.lastObservedTime if series else None)
        or obj.eventTime
        or first
    )
    count = obj.count or obj.deprecatedCount or (series.count if series else None) or 1
    return r.Event(
        uid=meta.uid or "",
        namespace=interned(meta.namespace),
        name=meta.name or "",
        reason=interned(obj.reason),
        type=interned(obj.type) or "Normal",
        message=obj.message or obj.note or "",
        involved_kind=interned(ref.kind),
        involved_namespace=interned(ref.namespace),
        involved_name=ref.name or "",
        involved_uid=ref.uid or "",
        count=count,
        first_seen=aware(first),
        last_seen=aware(last),
        source=interned(
            (source.component if source else None) or obj.reportingComponent or obj.reportingController
        ),
    )


def network_policy_record(obj: t.NetworkPolicyObj) -> r.NetworkPolicy:
    meta = obj.metadata or EMPTY_META
    spec = obj.spec
    return r.NetworkPolicy(
        namespace=interned(meta.namespace),
        name=meta.name or "",
        pod_selector=label_selector(spec.podSelector if spec else None),
        policy_types=tuple(spec.policyTypes or ()) if spec else (),
    )
