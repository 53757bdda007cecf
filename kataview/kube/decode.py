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
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import msgspec

from kataview.kube import api_types as t

from .fields import EMPTY_META
from .object_records import event_record, network_policy_record, node_record, runtime_class_record
from .pod_records import POD_ANNOTATION_PREFIXES, POD_ANNOTATIONS, pod_record
from .repair import repair

__all__ = [
    "KINDS", "POD_ANNOTATIONS", "POD_ANNOTATION_PREFIXES", "DecodeError", "DecodedList", "WatchEvent",
    "node_record", "runtime_class_record", "pod_record", "event_record", "network_policy_record",
    "decode_list", "decode_watch_line", "record_from_dict", "record_key",
]

KINDS = ("nodes", "runtimeclasses", "pods", "events", "networkpolicies")


class DecodeError(ValueError):
    """The input is not a JSON object / mapping at all; nothing could be decoded."""


@dataclass(frozen=True)
class DecodedList:
    items: list
    resource_version: str
    continue_token: str
    skipped: int
    remaining: int | None = None  # metadata.remainingItemCount: items after this page, if given


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED MODIFIED DELETED BOOKMARK ERROR
    item: object | None
    resource_version: str
    status_code: int | None
    message: str
    initial_end: bool = False  # a BOOKMARK annotated k8s.io/initial-events-end: "true"


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

_MAX_REPAIRS = 256


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
            if not repair(obj, str(error), stages):
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
    return DecodedList(items, meta.resourceVersion or "", meta.continue_ or "", skipped,
                       meta.remainingItemCount)


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


INITIAL_EVENTS_END = "k8s.io/initial-events-end"  # on the bookmark that ends a watch-list
_WATCH_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"})


_CHANGES = frozenset({"ADDED", "MODIFIED", "DELETED"})


def decode_watch_line(kind: str, line: bytes) -> WatchEvent:
    """One newline-delimited JSON line of a watch stream. Never raises (see module doc).
    An ADDED/MODIFIED/DELETED line of the expected shape is decoded in one pass (a watch-list
    sends 150,000 of them); anything else (bookmarks, errors, odd lines) the careful way."""
    _check_kind(kind)
    try:
        event = msgspec.json.decode(line, type=t.TYPED_WATCH_LINES[kind])
        if event.type in _CHANGES and event.object is not None:
            meta = event.object.metadata or EMPTY_META
            return WatchEvent(event.type, _to_record(kind, event.object), meta.resourceVersion or "",
                              None, "")
    except Exception:  # noqa: BLE001 - the careful way below says what is wrong with it
        pass
    return _decode_watch_line_slow(kind, line)


def _decode_watch_line_slow(kind: str, line: bytes) -> WatchEvent:
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
            meta = msgspec.json.decode(raw, type=t.MetaOnly).metadata or EMPTY_META
        except (msgspec.DecodeError, msgspec.ValidationError):
            meta = EMPTY_META
        end = (meta.annotations or {}).get(INITIAL_EVENTS_END) == "true"
        return WatchEvent("BOOKMARK", None, meta.resourceVersion or "", None, "", end)
    try:
        struct_type = t.OBJECT_TYPES[kind]
        try:
            obj = msgspec.json.decode(raw, type=struct_type)
        except msgspec.ValidationError:
            obj = _convert_tolerant(msgspec.json.decode(raw), struct_type, owned=True)
        item = _to_record(kind, obj)
    except Exception as error:  # noqa: BLE001
        return WatchEvent(kind_of_event, None, "", None, f"undecodable {kind} object: {error}")
    meta = obj.metadata or EMPTY_META
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
