"""Pod Structs (api_types.PodObj) -> model records: the hot converter of every pod LIST."""

from __future__ import annotations

from kataview.kube import api_types as t
from kataview.model import records as r
from kataview.model.runtime import CRIO_TRUSTED_ANNOTATION, UNTRUSTED_ANNOTATION

from .fields import (EMPTY, EMPTY_META, EMPTY_POD_SPEC, EMPTY_POD_STATUS, aware, intern, interned, shared_quantities,
                     shared_tolerations)

# Pod annotations kataview reads; every other annotation is dropped at decode time.
POD_ANNOTATIONS = frozenset({UNTRUSTED_ANNOTATION, CRIO_TRUSTED_ANNOTATION})
POD_ANNOTATION_PREFIXES = ("io.katacontainers.",)


def _container(status: t.ContainerStatusT | None, spec: t.ContainerSpec | None) -> r.ContainerStatus:
    if status is None:
        return r.ContainerStatus(name=interned(spec.name if spec else None),
                                 image=interned(spec.image if spec else None))
    state_name = None
    reason = message = ""
    started = None
    state = status.state
    if state is not None:
        if state.running is not None:
            state_name = "running"
            started = state.running.startedAt
        elif state.waiting is not None:
            state_name = "waiting"
            reason = state.waiting.reason or ""
            message = state.waiting.message or ""
        elif state.terminated is not None:
            state_name = "terminated"
            reason = state.terminated.reason or ""
            message = state.terminated.message or ""
            started = state.terminated.startedAt
    last = status.lastState
    last_reason = ""
    if last is not None and last.terminated is not None:
        last_reason = last.terminated.reason or ""
    image = status.image or (spec.image if spec else None)
    return r.ContainerStatus(
        name=interned(status.name or (spec.name if spec else None)),
        image=interned(image),
        ready=bool(status.ready),
        restart_count=status.restartCount or 0,
        state=state_name,
        reason=interned(reason),
        message=message,
        started_at=aware(started),
        container_id=status.containerID or "",
        last_termination_reason=interned(last_reason),
    )


def _containers(specs: list[t.ContainerSpec] | None, statuses: list[t.ContainerStatusT] | None):
    if not statuses:
        return tuple(_container(None, spec) for spec in specs or ())
    if not specs:
        return tuple(_container(status, None) for status in statuses)
    by_name = {status.name: status for status in statuses}
    out = [_container(by_name.pop(spec.name, None), spec) for spec in specs]
    out.extend(_container(status, None) for status in by_name.values())
    return tuple(out)


def pod_record(obj: t.PodObj) -> r.Pod:
    meta = obj.metadata or EMPTY_META
    spec = obj.spec or EMPTY_POD_SPEC
    status = obj.status or EMPTY_POD_STATUS
    annotations = meta.annotations
    if annotations:
        annotations = {
            key: value
            for key, value in annotations.items()
            if key in POD_ANNOTATIONS or key.startswith(POD_ANNOTATION_PREFIXES)
        } or EMPTY
    else:
        annotations = EMPTY
    owner = None
    refs = meta.ownerReferences
    if refs:
        chosen = refs[0]
        for ref in refs:
            if ref.controller:
                chosen = ref
                break
        owner = r.OwnerRef(kind=interned(chosen.kind), name=chosen.name or "", controller=bool(chosen.controller))
    return r.Pod(
        uid=meta.uid or "",
        namespace=interned(meta.namespace),
        name=meta.name or "",
        node_name=intern(spec.nodeName) if spec.nodeName else None,
        runtime_class_name=intern(spec.runtimeClassName) if spec.runtimeClassName else None,
        phase=interned(status.phase) or "Unknown",
        reason=interned(status.reason),
        labels=meta.labels or EMPTY,
        annotations=annotations,
        owner=owner,
        containers=_containers(spec.containers, status.containerStatuses),
        node_selector=spec.nodeSelector or EMPTY,
        tolerations=shared_tolerations(spec.tolerations),
        overhead=shared_quantities(spec.overhead),
        pod_ip=status.podIP or "",
        host_ip=interned(status.hostIP),
        qos_class=interned(status.qosClass),
        created=aware(meta.creationTimestamp),
        started=aware(status.startTime),
        deleting=meta.deletionTimestamp is not None,
    )
