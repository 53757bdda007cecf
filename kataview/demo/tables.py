"""Server-side Table output (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), with the
columns and cells of the real apiserver's printers (pkg/printers/internalversion)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

import msgspec

from kataview.model.age import human_duration

from .resources import Resource
from .table_columns import COLUMNS  # as the real server sends them

def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def since(value: str | None, now: datetime | Deferred) -> str:
    moment = parse_time(value)
    if moment is None:
        return "<unknown>"
    if now.__class__ is Deferred:
        return now.defer(moment)  # type: ignore[union-attr]
    return human_duration((now - moment).total_seconds())  # type: ignore[operator]


def _pod_cells(pod: dict, now: datetime) -> list:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or ""
    for cond in status.get("conditions") or ():
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    reason, initializing = _init_reason(spec, status, reason)
    restarts, ready, last_restart = 0, 0, None
    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                signal = terminated.get("signal")
                reason = f"Signal:{signal}" if signal else f"ExitCode:{terminated.get('exitCode', 0)}"
            elif cs.get("ready") and "running" in state:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_cond = any(c.get("type") == "Ready" for c in status.get("conditions") or ())
            reason = "Running" if ready_cond else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"
    restarts_cell = f"{restarts} ({since(last_restart, now)} ago)" if last_restart else str(restarts)
    gates = spec.get("readinessGates") or []
    if gates:
        true = {c.get("type") for c in status.get("conditions") or () if c.get("status") == "True"}
        gates_cell = f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"
    else:
        gates_cell = "<none>"
    ips = status.get("podIPs") or ([{"ip": status["podIP"]}] if status.get("podIP") else [])
    return [pod["metadata"]["name"], f"{ready}/{len(spec.get('containers') or [])}", reason,
            restarts_cell, since(pod["metadata"].get("creationTimestamp"), now),
            ips[0]["ip"] if ips else "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", gates_cell]


def _init_reason(spec: dict, status: dict, reason: str) -> tuple[str, bool]:
    inits = spec.get("initContainers") or []
    regular = sum(1 for c in inits if c.get("restartPolicy") != "Always")
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode", 0) == 0:
            continue
        if "running" in state and cs.get("started") and i >= regular:
            continue
        if terminated:
            reason = "Init:" + (terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(inits)}"
        initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                          for c in status.get("conditions") or ())
        return reason, not initialized
    return reason, False


def _node_cells(node: dict, now: datetime) -> list:
    meta, spec, status = node["metadata"], node.get("spec") or {}, node.get("status") or {}
    ready = next((c for c in status.get("conditions") or () if c.get("type") == "Ready"), None)
    state = "Unknown" if ready is None else {"True": "Ready"}.get(ready.get("status"), "NotReady")
    if ready is not None and ready.get("status") == "Unknown":
        state = "NotReady"
    if spec.get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = meta.get("labels") or {}
    roles = sorted({k.split("/", 1)[1] for k in labels
                    if k.startswith("node-role.kubernetes.io/") and "/" in k}
                   | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set()))
    roles = [r for r in roles if r]
    addresses = status.get("addresses") or []
    info = status.get("nodeInfo") or {}

    def address(kind: str) -> str:
        return next((a["address"] for a in addresses if a.get("type") == kind), "<none>")

    kernel = info.get("kernelVersion") or "<unknown>"
    if info.get("architecture"):  # as the real printer (1.37) shows it
        kernel += f" ({info['architecture']})"
    return [meta["name"], state, ",".join(roles) or "<none>",
            since(meta.get("creationTimestamp"), now), info.get("kubeletVersion", ""),
            address("InternalIP"), address("ExternalIP"), info.get("osImage") or "<unknown>",
            kernel, info.get("containerRuntimeVersion") or "<unknown>"]


def _event_cells(event: dict, now: datetime) -> list:
    first = event.get("firstTimestamp") or event.get("eventTime")
    first_cell = since(first, now)
    last_cell = since(event.get("lastTimestamp"), now) if event.get("lastTimestamp") else first_cell
    count = event.get("count") or 1
    series = event.get("series")
    if series:
        last_cell, count = since(series.get("lastObservedTime"), now), series.get("count", count)
    involved = event.get("involvedObject") or {}
    target = involved.get("kind", "").lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    source = event.get("source") or {}
    src = source.get("component") or event.get("reportingComponent") or ""
    if source.get("host"):
        src = f"{src}, {source['host']}"
    return [last_cell, event.get("type", ""), event.get("reason", ""), target,
            involved.get("fieldPath", ""), src, (event.get("message") or "").strip(), first_cell,
            count, event["metadata"]["name"]]


def format_label_selector(selector: dict | None) -> str:
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or ():
        op, values = expr.get("operator", ""), ",".join(expr.get("values") or ())
        parts.append({"In": f"{expr['key']} in ({values})", "NotIn": f"{expr['key']} notin ({values})",
                      "Exists": expr["key"], "DoesNotExist": f"!{expr['key']}"}.get(op, expr["key"]))
    return ",".join(parts) or "<none>"


CELLS: dict[str, Callable[[dict, datetime], list]] = {
    "Pod": _pod_cells,
    "Node": _node_cells,
    "Event": _event_cells,
    "RuntimeClass": lambda o, now: [o["metadata"]["name"], o.get("handler", ""),
                                    since(o["metadata"].get("creationTimestamp"), now)],
    "Namespace": lambda o, now: [o["metadata"]["name"], (o.get("status") or {}).get("phase", ""),
                                 since(o["metadata"].get("creationTimestamp"), now)],
    "NetworkPolicy": lambda o, now: [o["metadata"]["name"],
                                     format_label_selector((o.get("spec") or {}).get("podSelector")),
                                     since(o["metadata"].get("creationTimestamp"), now)],
}


def row(resource: Resource, body: dict, include: str, now: datetime, version: str | None = None) -> dict:
    """One Table row; `include` is the includeObject parameter: Metadata (default), Object, None.
    The plain rendering: the server answers from cached parts (`row_parts`, `encode_rows`) and
    tests hold those to exactly `encode(row(...))`."""
    result: dict = {"cells": CELLS[resource.kind](body, now)}
    if include == "Object":
        result["object"] = {"kind": resource.kind, "apiVersion": resource.api_version(version), **body}
    elif include != "None":
        result["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                            "metadata": body["metadata"]}
    return result


def table(resource: Resource, rows: list[dict], metadata: dict, columns: bool = True) -> dict:
    result: dict = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}
    if columns:
        result["columnDefinitions"] = COLUMNS[resource.kind]
    result["rows"] = rows
    return result


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


# -- cached rendering ------------------------------------------------------------------------
#
# `row` above renders a row from scratch on every request, which costs tens of microseconds a row
# (150,000 pods: seconds a list). The rendering below produces the same bytes from per-object
# parts that do not depend on the time: the cells encoded once, cut where a time-dependent text
# goes (AGE, the "(5m ago)" of RESTARTS, an event's LAST SEEN / FIRST SEEN), plus the moments those
# texts are measured from; a request only fills in the ages. The store keeps the parts of each
# object while it is unchanged (ObjectStore.row_parts); Object rows reuse the store's encoded
# bytes of the object.

_encode = msgspec.json.Encoder().encode
_NONCE = secrets.token_hex(8)
# what since() returns while the parts are built: a string no object contains (NUL + a random
# nonce); msgspec encodes the NULs as \u0000, which is where the encoded cells are cut
_MARK = re.compile(rb"\\u0000" + _NONCE.encode() + rb"#(\d+)\\u0000")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_PARTIAL_HEAD = b',"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":'


def _micros(moment: datetime) -> int:
    """Exact microseconds since the epoch: differences of these, divided by 10**6, are what
    `timedelta.total_seconds()` gives for the difference of the datetimes."""
    return (moment - _EPOCH) // _MICROSECOND


class Deferred:
    """Stands in for `now` while the time-independent parts of a row are built: `since` records
    the moment and returns a placeholder."""

    __slots__ = ("moments",)

    def __init__(self) -> None:
        self.moments: list[int] = []

    def defer(self, moment: datetime) -> str:
        self.moments.append(_micros(moment))
        return f"\x00{_NONCE}#{len(self.moments) - 1}\x00"


class RowParts:
    """One object's Table row without its ages: `frags` are encoded bytes (the first starts with
    `{"cells":`, the last ends the cell list) with an age between each two, the age of
    `moments[slots[i]]` between frags[i] and frags[i+1]. `meta` caches the encoded metadata."""

    __slots__ = ("frags", "slots", "moments", "meta")

    def __init__(self, frags: tuple[bytes, ...], slots: tuple[int, ...], moments: tuple[int, ...]):
        self.frags, self.slots, self.moments = frags, slots, moments
        self.meta: bytes | None = None


def row_parts(resource: Resource, body: dict) -> RowParts | None:
    """The time-independent parts of a row (None: the cells cannot be cut, render with `row`)."""
    deferred = Deferred()
    cells = b'{"cells":' + _encode(CELLS[resource.kind](body, deferred))
    pieces = _MARK.split(cells)
    slots = tuple(int(i) for i in pieces[1::2])
    if any(slot >= len(deferred.moments) for slot in slots):
        return None
    return RowParts(tuple(pieces[0::2]), slots, tuple(deferred.moments))


def encode_rows(resource: Resource, items: Iterable[tuple[str, dict]],
                parts: Iterable[RowParts | None], include: str, now: datetime,
                version: str | None, encoded: Callable[[str, dict], bytes]) -> bytes:
    """The rows of a Table, comma-separated, byte for byte `encode(row(...))` for each item.
    `encoded(key, body)` gives the JSON bytes of an object (for includeObject=Object)."""
    now_us = _micros(now)
    ages: dict[int, bytes] = {}
    head = b',"object":{"kind":"%s","apiVersion":"%s",' % (
        resource.kind.encode(), resource.api_version(version).encode())
    out: list[bytes] = []
    append = out.append
    for (key, body), part in zip(items, parts):
        if out:
            append(b",")
        if part is None:
            append(_encode(row(resource, body, include, now, version)))
            continue
        frags = part.frags
        append(frags[0])
        if len(frags) > 1:
            moments = part.moments
            for slot, frag in zip(part.slots, frags[1:]):
                moment = moments[slot]
                age = ages.get(moment)
                if age is None:
                    age = ages[moment] = human_duration((now_us - moment) / 1_000_000).encode()
                append(age)
                append(frag)
        if include == "Object":
            data = encoded(key, body)
            if len(data) > 2:  # {"kind":..,"apiVersion":..,<the object's fields>}
                append(head)
                append(memoryview(data)[1:])
                append(b"}")
            else:
                append(head[:-1] + b"}}")
        elif include != "None":
            meta = part.meta
            if meta is None:
                meta = part.meta = _encode(body["metadata"])
            append(_PARTIAL_HEAD)
            append(meta)
            append(b"}}")
        else:
            append(b"}")
    return b"".join(out)


def encode_table(resource: Resource, rows: bytes, metadata: dict, table_version: str,
                 columns: bool = True) -> bytes:
    """A Table document around encoded rows: `encode(table(...))` with apiVersion
    meta.k8s.io/<table_version>."""
    head = {"kind": "Table", "apiVersion": f"meta.k8s.io/{table_version}", "metadata": metadata}
    if columns:
        head["columnDefinitions"] = COLUMNS[resource.kind]
    return _encode(head)[:-1] + b',"rows":[' + rows + b"]}"
