"""Raw Kubernetes API bytes -> the frozen records of kataview.model.records.

Bytes are decoded by msgspec straight into the small Structs of api_types (only the fields
kataview shows; everything else is skipped without building Python objects), then turned into
records. The kubernetes client's generated models are never involved.

Tolerance, in order of cost:

1. the fast path decodes a whole list in one typed msgspec call;
2. if that fails (one item has a field of the wrong type), the list is decoded again with raw
   items and each item is decoded on its own;
3. an item that still fails is decoded to plain Python and *repaired*: the field msgspec
   names in its error is dropped (a mapping is first filtered to its string entries) and the
   conversion retried, so one bad field costs that field, not the object;
4. an item that cannot be repaired (it is not an object at all) is skipped and counted in
   ``DecodedList.skipped``.

Missing and null fields never fail: every Struct field has a default.

Interface (the informers code against exactly this)::

    decode_list(kind, data) -> DecodedList          # raises DecodeError only if data is not a JSON object
    decode_watch_line(kind, line) -> WatchEvent     # never raises
    record_from_dict(kind, obj) -> record           # raises DecodeError only if obj is not a mapping
    record_key(kind, record) -> str

Watch events: ``type`` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR. For ERROR,
``status_code``/``message`` come from the metav1.Status object (410 = Expired: relist). A line
that is not a watch event at all (not JSON, no type, unknown type) is reported as ERROR with
``status_code=None`` and a message saying why; callers should skip blank keep-alive lines
before calling. An ADDED/MODIFIED/DELETED event whose object cannot be decoded keeps its type
with ``item=None`` and the reason in ``message``.
"""

from __future__ import annotations

import copy
import gc
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import msgspec

from kataview.kube import api_types as t
from kataview.model import records as r
from kataview.model.quantity import cpu_millis, memory_bytes

KINDS = ("nodes", "runtimeclasses", "pods", "events", "networkpolicies")

# Pod annotations kataview reads; every other annotation is dropped at decode time.
POD_ANNOTATIONS = frozenset({"io.kubernetes.cri.untrusted-workload", "io.kubernetes.cri-o.TrustedSandbox"})
POD_ANNOTATION_PREFIXES = ("io.katacontainers.",)


class DecodeError(ValueError):
    """The input is not a JSON object / mapping at all; nothing could be decoded."""


@dataclass(frozen=True)
class DecodedList:
    items: list
    resource_version: str
    continue_token: str
    skipped: int


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED MODIFIED DELETED BOOKMARK ERROR
    item: object | None
    resource_version: str
    status_code: int | None
    message: str


# -- helpers ---------------------------------------------------------------------------------

_intern = sys.intern
_EMPTY: Mapping[str, str] = r.EMPTY  # shared empty mapping, never mutated
_UTC = timezone.utc

_META = t.ObjectMeta()
_NODE_SPEC = t.NodeSpec()
_NODE_STATUS = t.NodeStatus()
_NODE_INFO = t.NodeInfo()
_POD_SPEC = t.PodSpec()
_POD_STATUS = t.PodStatus()
_REF = t.ObjectReferenceT()
_SELECTOR = t.LabelSelectorT()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value


def _istr(value: str | None) -> str:
    """Intern low-cardinality strings (namespaces, node names, phases) shared by many pods."""
    return _intern(value) if value else ""


def _quantity_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_QUANTITIES_CACHE: dict[tuple, Mapping[str, str]] = {}


def _quantities(values: Mapping[str, object] | None) -> Mapping[str, str]:
    """Overheads repeat (one per RuntimeClass): equal mappings are shared. Never mutate them."""
    if not values:
        return _EMPTY
    key = tuple(values.items())
    cached = _QUANTITIES_CACHE.get(key)
    if cached is None:
        cached = {k: _quantity_text(v) for k, v in key}
        if len(_QUANTITIES_CACHE) < _TOLERATION_CACHE_MAX:
            _QUANTITIES_CACHE[key] = cached
    return cached


# Tolerations repeat across pods (every pod carries the not-ready/unreachable pair), so equal
# tuples are built once and shared: faster, and 150,000 pods hold one copy. Bounded.
_TOLERATION_CACHE: dict[tuple, tuple[r.Toleration, ...]] = {}
_TOLERATION_CACHE_MAX = 4096


def _tolerations(items: list[t.TolerationT] | None) -> tuple[r.Toleration, ...]:
    if not items:
        return ()
    key = tuple((item.key or "", item.operator or "Equal", item.value or "", item.effect or "") for item in items)
    cached = _TOLERATION_CACHE.get(key)
    if cached is None:
        cached = tuple(r.Toleration(k, o, v, e) for k, o, v, e in key)
        if len(_TOLERATION_CACHE) < _TOLERATION_CACHE_MAX:
            _TOLERATION_CACHE[key] = cached
    return cached


def _selector(selector: t.LabelSelectorT | None) -> r.LabelSelector:
    selector = selector or _SELECTOR
    return r.LabelSelector(
        match_labels=selector.matchLabels or _EMPTY,
        match_expressions=tuple(
            r.SelectorRequirement(
                key=req.key or "", operator=req.operator or "", values=tuple(req.values or ())
            )
            for req in selector.matchExpressions or ()
        ),
    )


# -- conversions: api_types Struct -> record -------------------------------------------------


def node_record(obj: t.NodeObj) -> r.Node:
    meta = obj.metadata or _META
    spec = obj.spec or _NODE_SPEC
    status = obj.status or _NODE_STATUS
    info = status.nodeInfo or _NODE_INFO
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
        labels=meta.labels or obj.labels or _EMPTY,
        annotations=meta.annotations or _EMPTY,
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
                last_transition=_aware(cond.lastTransitionTime),
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
        created=_aware(meta.creationTimestamp),
    )


def runtime_class_record(obj: t.RuntimeClassObj, default_api_version: str = "") -> r.RuntimeClass:
    meta = obj.metadata or _META
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
        overhead=_quantities(pod_fixed),
        overhead_cpu_millis=cpu_millis(pod_fixed.get("cpu")) if pod_fixed else None,
        overhead_memory_bytes=memory_bytes(pod_fixed.get("memory")) if pod_fixed else None,
        node_selector=None if scheduling is None else (scheduling.nodeSelector or {}),
        tolerations=_tolerations(scheduling.tolerations) if scheduling else (),
        labels=meta.labels or _EMPTY,
        created=_aware(meta.creationTimestamp),
    )


def _container(status: t.ContainerStatusT | None, spec: t.ContainerSpec | None) -> r.ContainerStatus:
    if status is None:
        return r.ContainerStatus(name=_istr(spec.name if spec else None), image=_istr(spec.image if spec else None))
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
        name=_istr(status.name or (spec.name if spec else None)),
        image=_istr(image),
        ready=bool(status.ready),
        restart_count=status.restartCount or 0,
        state=state_name,
        reason=_istr(reason),
        message=message,
        started_at=_aware(started),
        container_id=status.containerID or "",
        last_termination_reason=_istr(last_reason),
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
    meta = obj.metadata or _META
    spec = obj.spec or _POD_SPEC
    status = obj.status or _POD_STATUS
    annotations = meta.annotations
    if annotations:
        annotations = {
            key: value
            for key, value in annotations.items()
            if key in POD_ANNOTATIONS or key.startswith(POD_ANNOTATION_PREFIXES)
        } or _EMPTY
    else:
        annotations = _EMPTY
    owner = None
    refs = meta.ownerReferences
    if refs:
        chosen = refs[0]
        for ref in refs:
            if ref.controller:
                chosen = ref
                break
        owner = r.OwnerRef(kind=_istr(chosen.kind), name=chosen.name or "", controller=bool(chosen.controller))
    return r.Pod(
        uid=meta.uid or "",
        namespace=_istr(meta.namespace),
        name=meta.name or "",
        node_name=_intern(spec.nodeName) if spec.nodeName else None,
        runtime_class_name=_intern(spec.runtimeClassName) if spec.runtimeClassName else None,
        phase=_istr(status.phase) or "Unknown",
        reason=_istr(status.reason),
        labels=meta.labels or _EMPTY,
        annotations=annotations,
        owner=owner,
        containers=_containers(spec.containers, status.containerStatuses),
        node_selector=spec.nodeSelector or _EMPTY,
        tolerations=_tolerations(spec.tolerations),
        overhead=_quantities(spec.overhead),
        pod_ip=status.podIP or "",
        host_ip=_istr(status.hostIP),
        qos_class=_istr(status.qosClass),
        created=_aware(meta.creationTimestamp),
        started=_aware(status.startTime),
        deleting=meta.deletionTimestamp is not None,
    )


def event_record(obj: t.EventObj) -> r.Event:
    meta = obj.metadata or _META
    ref = obj.involvedObject or obj.regarding or _REF
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
        namespace=_istr(meta.namespace),
        name=meta.name or "",
        reason=_istr(obj.reason),
        type=_istr(obj.type) or "Normal",
        message=obj.message or obj.note or "",
        involved_kind=_istr(ref.kind),
        involved_namespace=_istr(ref.namespace),
        involved_name=ref.name or "",
        involved_uid=ref.uid or "",
        count=count,
        first_seen=_aware(first),
        last_seen=_aware(last),
        source=_istr(
            (source.component if source else None) or obj.reportingComponent or obj.reportingController
        ),
    )


def network_policy_record(obj: t.NetworkPolicyObj) -> r.NetworkPolicy:
    meta = obj.metadata or _META
    spec = obj.spec
    return r.NetworkPolicy(
        namespace=_istr(meta.namespace),
        name=meta.name or "",
        pod_selector=_selector(spec.podSelector if spec else None),
        policy_types=tuple(spec.policyTypes or ()) if spec else (),
    )


_CONVERTERS: dict[str, Callable[[Any], object]] = {
    "nodes": node_record,
    "runtimeclasses": runtime_class_record,
    "pods": pod_record,
    "events": event_record,
    "networkpolicies": network_policy_record,
}


def _check_kind(kind: str) -> None:
    if kind not in _CONVERTERS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


# -- tolerant conversion: drop the field msgspec complains about, retry ----------------------

_ERROR_AT = re.compile(r" - at `([^`]*)`(?: in `([^`]*)`)?$")
_PATH_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[(\.\.\.)\]")
_MAPPING = object()  # path token for "some value of this mapping"
_MAX_REPAIRS = 256


def _parse_path(path: str) -> list | None:
    if not path.startswith("$"):
        return None
    tokens: list = []
    pos = 1
    while pos < len(path):
        match = _PATH_TOKEN.match(path, pos)
        if match is None:
            return None
        name, index, ellipsis = match.groups()
        tokens.append(_MAPPING if ellipsis else int(index) if index is not None else name)
        pos = match.end()
    return tokens


def _walk(obj: Any, tokens: list) -> Any:
    for token in tokens:
        if isinstance(token, int):
            if not isinstance(obj, list) or token >= len(obj):
                raise LookupError(token)
        elif not isinstance(obj, dict):
            raise LookupError(token)
        obj = obj[token]
    return obj


def _scalar_text(value: Any) -> str | None:
    """YAML scalars where the API has strings: true -> "true", 2 -> "2"; None for the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


def _repair(obj: Any, message: str, stages: dict) -> bool:
    """Fix what the msgspec error ``message`` points at in ``obj`` (in place): a scalar where a
    string belongs becomes its text, a mapping keeps its scalar entries (as text), anything
    else is dropped."""
    match = _ERROR_AT.search(message)
    if match is None:
        return False
    if match.group(2) is not None:  # "at `key` in `$.labels`": a bad mapping key
        tokens = _parse_path(match.group(2))
        if tokens is not None:
            tokens.append(_MAPPING)
    else:
        tokens = _parse_path(match.group(1))
    if not tokens:
        return False  # the object itself is wrong
    try:
        if tokens[-1] is _MAPPING:
            where = tuple(tokens[:-1])
            stage = stages.get(where, 0)
            stages[where] = stage + 1
            mapping = _walk(obj, tokens[:-1])
            if stage == 0 and isinstance(mapping, dict):
                kept = {}
                for key, value in mapping.items():
                    key_text, value_text = _scalar_text(key), _scalar_text(value)
                    if key_text is not None and value_text is not None:
                        kept[key_text] = value_text
                mapping.clear()
                mapping.update(kept)
                return True
            tokens = tokens[:-1]
            return bool(tokens) and _delete(obj, tokens)
        if message.startswith("Expected `str"):
            where = tuple(tokens)
            if where not in stages:
                stages[where] = 1
                parent = _walk(obj, tokens[:-1])
                text = _scalar_text(parent[tokens[-1]])
                if text is not None:
                    parent[tokens[-1]] = text
                    return True
        return _delete(obj, tokens)
    except (LookupError, TypeError):
        return False


def _delete(obj: Any, tokens: list) -> bool:
    parent = _walk(obj, tokens[:-1])
    last = tokens[-1]
    if last is _MAPPING:
        return False
    if isinstance(last, int) and isinstance(parent, list) and last < len(parent):
        del parent[last]
        return True
    if isinstance(last, str) and isinstance(parent, dict) and last in parent:
        del parent[last]
        return True
    return False


def _convert_tolerant(obj: Any, struct_type: type, owned: bool = False) -> Any:
    """msgspec.convert, dropping offending fields until it succeeds. ``owned``: obj may be
    modified in place (it was decoded here); otherwise it is deep-copied before the first repair."""
    if not isinstance(obj, Mapping):
        raise DecodeError(f"expected an object, got {type(obj).__name__}")
    if not isinstance(obj, dict):
        obj = dict(obj)
        owned = False
    stages: dict = {}
    for _ in range(_MAX_REPAIRS):
        try:
            return msgspec.convert(obj, struct_type, strict=False)
        except msgspec.ValidationError as error:
            if not owned:
                obj = copy.deepcopy(obj)
                owned = True
            if not _repair(obj, str(error), stages):
                raise DecodeError(f"cannot decode object: {error}") from None
    raise DecodeError("cannot decode object: too many bad fields")


def _decode_item(kind: str, raw: bytes | msgspec.Raw, default_api_version: str = "") -> object:
    """One raw item: typed decode, else plain decode + repair. Raises DecodeError."""
    struct_type = t.OBJECT_TYPES[kind]
    try:
        obj = msgspec.json.decode(raw, type=struct_type)
    except msgspec.ValidationError:
        try:
            plain = msgspec.json.decode(raw)
        except msgspec.DecodeError as error:
            raise DecodeError(str(error)) from None
        obj = _convert_tolerant(plain, struct_type, owned=True)
    except msgspec.DecodeError as error:
        raise DecodeError(str(error)) from None
    return _to_record(kind, obj, default_api_version)


def _to_record(kind: str, obj: Any, default_api_version: str = "") -> object:
    if kind == "runtimeclasses":
        return runtime_class_record(obj, default_api_version)
    return _CONVERTERS[kind](obj)


# -- public API ------------------------------------------------------------------------------


def decode_list(kind: str, data: bytes) -> DecodedList:
    """A LIST response body -> records. Bad items are skipped and counted, never fatal."""
    _check_kind(kind)
    try:
        with _gc_paused():
            decoded = msgspec.json.decode(data, type=t.LIST_TYPES[kind])
    except msgspec.ValidationError:
        return _decode_list_slow(kind, data)
    except msgspec.DecodeError as error:
        raise DecodeError(f"not JSON: {error}") from None
    meta = decoded.metadata or t.ListMeta()
    api_version = decoded.apiVersion or ""
    convert = _CONVERTERS[kind]
    if kind == "runtimeclasses":
        convert = lambda item: runtime_class_record(item, api_version)  # noqa: E731
    structs = decoded.items or []
    del decoded
    items = []
    skipped = 0
    append = items.append
    with _gc_paused():
        for index in range(len(structs)):
            item = structs[index]
            structs[index] = None  # release each Struct as soon as it is converted: lower peak
            try:
                append(convert(item))
            except Exception:  # noqa: BLE001 - a conversion bug must cost one item, not the list
                skipped += 1
    return DecodedList(items, meta.resourceVersion or "", meta.continue_ or "", skipped)


@contextmanager
def _gc_paused():
    """Pause the cyclic GC while building many acyclic records: with it on, building 150,000
    pods triggers hundreds of collections that scan everything built so far (~3x slower)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decode_list_slow(kind: str, data: bytes) -> DecodedList:
    try:
        return _decode_list_slower(kind, data)
    except msgspec.DecodeError as error:
        raise DecodeError(f"not JSON: {error}") from None


def _decode_list_slower(kind: str, data: bytes) -> DecodedList:
    try:
        raw_list = msgspec.json.decode(data, type=t.RawList)
        meta = raw_list.metadata or t.ListMeta()
        raw_items: list = list(raw_list.items or ())
        api_version = raw_list.apiVersion or ""
    except msgspec.ValidationError:
        # metadata or items of the wrong shape: go through plain Python
        plain = msgspec.json.decode(data)
        if not isinstance(plain, dict):
            raise DecodeError(f"expected a JSON object, got {type(plain).__name__}") from None
        meta_obj = plain.get("metadata")
        meta_obj = meta_obj if isinstance(meta_obj, dict) else {}
        meta = t.ListMeta(
            resourceVersion=meta_obj.get("resourceVersion") if isinstance(meta_obj.get("resourceVersion"), str) else None,
            continue_=meta_obj.get("continue") if isinstance(meta_obj.get("continue"), str) else None,
        )
        api_version = plain.get("apiVersion") if isinstance(plain.get("apiVersion"), str) else ""
        items_obj = plain.get("items")
        raw_items = [msgspec.json.encode(item) for item in items_obj] if isinstance(items_obj, list) else []
        if items_obj is not None and not isinstance(items_obj, list):
            skipped_whole = 1  # "items" is not a list: nothing to decode, but say so
        else:
            skipped_whole = 0
    else:
        skipped_whole = 0
    items = []
    skipped = skipped_whole
    for raw in raw_items:
        try:
            items.append(_decode_item(kind, raw, api_version))
        except Exception:  # noqa: BLE001
            skipped += 1
    return DecodedList(items, meta.resourceVersion or "", meta.continue_ or "", skipped)


_WATCH_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"})


def decode_watch_line(kind: str, line: bytes) -> WatchEvent:
    """One newline-delimited JSON line of a watch stream. Never raises (see module doc)."""
    _check_kind(kind)
    try:
        event = msgspec.json.decode(line, type=t.WatchLine)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return WatchEvent("ERROR", None, "", None, f"undecodable watch line: {error}")
    kind_of_event = event.type or ""
    if kind_of_event not in _WATCH_TYPES:
        return WatchEvent("ERROR", None, "", None, f"unknown watch event type {kind_of_event!r}")
    raw = event.object
    if not raw or bytes(raw) == b"null":
        raw = None
    if kind_of_event == "ERROR":
        status = t.Status()
        if raw is not None:
            try:
                status = _convert_tolerant(msgspec.json.decode(raw), t.Status, owned=True)
            except (msgspec.DecodeError, DecodeError):
                pass
        message = status.message or status.reason or "watch error"
        return WatchEvent("ERROR", None, "", status.code, message)
    if raw is None:
        return WatchEvent(kind_of_event, None, "", None, "watch event without an object")
    if kind_of_event == "BOOKMARK":
        try:
            meta = msgspec.json.decode(raw, type=t.MetaOnly).metadata or _META
        except (msgspec.DecodeError, msgspec.ValidationError):
            meta = _META
        return WatchEvent("BOOKMARK", None, meta.resourceVersion or "", None, "")
    try:
        struct_type = t.OBJECT_TYPES[kind]
        try:
            obj = msgspec.json.decode(raw, type=struct_type)
        except msgspec.ValidationError:
            obj = _convert_tolerant(msgspec.json.decode(raw), struct_type, owned=True)
        item = _to_record(kind, obj)
    except Exception as error:  # noqa: BLE001
        return WatchEvent(kind_of_event, None, "", None, f"undecodable {kind} object: {error}")
    meta = obj.metadata or _META
    return WatchEvent(kind_of_event, item, meta.resourceVersion or "", None, "")


def record_from_dict(kind: str, obj: Mapping) -> object:
    """A parsed object (YAML, corpus, kubectl -o json) -> its record. Fields of the wrong
    type are dropped; raises DecodeError only when ``obj`` is not a mapping."""
    _check_kind(kind)
    struct = _convert_tolerant(obj, t.OBJECT_TYPES[kind])
    return _to_record(kind, struct)


def record_key(kind: str, record: Any) -> str:
    """The informer's key: nodes/runtimeclasses by name, pods/events by uid (namespace/name
    when the uid is empty), networkpolicies by namespace/name."""
    if kind in ("nodes", "runtimeclasses"):
        return record.name
    if kind in ("pods", "events"):
        return record.uid or f"{record.namespace}/{record.name}"
    if kind == "networkpolicies":
        return f"{record.namespace}/{record.name}"
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
