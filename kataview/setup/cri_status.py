"""Ask a CRI runtime what it actually loaded: the `Status` call, without crictl or stubs.

crictl is not packaged on the machines kataview targets, and generated gRPC stubs would pull in
grpcio-tools and the whole CRI .proto tree for one call. The call is tiny: `Status` with
`verbose: true` is the two bytes `08 01`; the answer is decoded here by hand (protobuf wire
format: varints and length-delimited fields are all it uses). Messages, from cri-api v1:

    StatusResponse  { RuntimeStatus status = 1; map<string,string> info = 2;
                      repeated RuntimeHandler runtime_handlers = 3; }
    RuntimeStatus   { repeated RuntimeCondition conditions = 1; }
    RuntimeCondition{ string type = 1; bool status = 2; string reason = 3; string message = 4; }
    RuntimeHandler  { string name = 1; RuntimeHandlerFeatures features = 2; }

containerd puts its effective CRI config as JSON in `info["config"]`; its
`["containerd"]["runtimes"]` is the handler table containerd really uses (`crictl info`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import grpc

STATUS_METHODS = ("/runtime.v1.RuntimeService/Status", "/runtime.v1alpha2.RuntimeService/Status")
VERBOSE_REQUEST = b"\x08\x01"  # StatusRequest{verbose: true}

__all__ = ["CriStatus", "CriStatusError", "RuntimeCondition", "cri_runtime_handlers",
           "cri_status", "cri_status_sync", "decode_status_response", "iter_fields"]


class CriStatusError(Exception):
    """The runtime could not be asked, or answered something that is not a Status response."""


class WireError(CriStatusError):
    """The bytes are not valid protobuf wire format."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes")


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value): varints as int, length-delimited as bytes.

    Fixed 32/64-bit fields are returned as little-endian ints; groups are refused.
    """
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise WireError(f"field {number}: length {size} runs past the end")
            yield number, wire, data[pos:pos + size]
            pos += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(data):
                raise WireError(f"field {number}: truncated fixed{width * 8}")
            yield number, wire, int.from_bytes(data[pos:pos + width], "little")
            pos += width
        else:
            raise WireError(f"field {number}: unsupported wire type {wire}")


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise WireError("expected a length-delimited string")
    return value.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class RuntimeCondition:
    type: str  # RuntimeReady, NetworkReady
    status: bool
    reason: str = ""
    message: str = ""


def _condition(data: bytes) -> RuntimeCondition:
    values: dict[int, Any] = {}
    for number, _, value in iter_fields(data):
        values[number] = value
    return RuntimeCondition(_text(values.get(1, b"")), bool(values.get(2, 0)),
                            _text(values.get(3, b"")), _text(values.get(4, b"")))


def _map_entry(data: bytes) -> tuple[str, str]:
    key = value = b""
    for number, _, item in iter_fields(data):
        if number == 1:
            key = item
        elif number == 2:
            value = item
    return _text(key), _text(value)


def _handler_name(data: bytes) -> str:
    for number, _, value in iter_fields(data):
        if number == 1:
            return _text(value)
    return ""


@dataclass(frozen=True, slots=True)
class CriStatus:
    conditions: tuple[RuntimeCondition, ...]
    info: Mapping[str, str] = field(default_factory=dict)
    reported_handlers: tuple[str, ...] = ()  # field 3 (CRI >= 1.30 runtimes); () when absent

    def condition(self, kind: str) -> RuntimeCondition | None:
        return next((c for c in self.conditions if c.type == kind), None)

    @property
    def runtime_ready(self) -> bool:
        found = self.condition("RuntimeReady")
        return bool(found and found.status)

    @property
    def network_ready(self) -> bool:
        found = self.condition("NetworkReady")
        return bool(found and found.status)

    @property
    def config(self) -> dict[str, Any]:
        """containerd's effective CRI config (verbose info["config"]); {} when absent."""
        raw = self.info.get("config")
        if not raw:
            return {}
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise CriStatusError(f"info['config'] is not JSON: {exc}") from None
        return parsed if isinstance(parsed, dict) else {}

    @property
    def runtime_handlers(self) -> dict[str, dict]:
        """containerd: config.containerd.runtimes; else the handler names of field 3."""
        runtimes = self.config.get("containerd", {}).get("runtimes")
        if isinstance(runtimes, dict):
            return {name: dict(value) if isinstance(value, dict) else {} for name, value in runtimes.items()}
        return {name: {} for name in self.reported_handlers}


def decode_status_response(data: bytes) -> CriStatus:
    conditions: list[RuntimeCondition] = []
    info: dict[str, str] = {}
    handlers: list[str] = []
    for number, wire, value in iter_fields(data):
        if wire != 2:
            continue
        assert isinstance(value, bytes)
        if number == 1:
            conditions += [_condition(v) for n, w, v in iter_fields(value) if n == 1 and isinstance(v, bytes)]
        elif number == 2:
            key, text = _map_entry(value)
            info[key] = text
        elif number == 3:
            handlers.append(_handler_name(value))
    return CriStatus(tuple(conditions), info, tuple(handlers))


def _call(channel: grpc.Channel, method: str, timeout: float) -> bytes:
    stub = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    return stub(VERBOSE_REQUEST, timeout=timeout)


def cri_status_sync(socket_path: str, timeout: float = 5.0) -> CriStatus:
    """Status over `unix://socket_path`; v1, falling back to v1alpha2 (containerd 1.5)."""
    target = socket_path if socket_path.startswith("unix:") else f"unix://{socket_path}"
    with grpc.insecure_channel(target) as channel:
        last: grpc.RpcError | None = None
        for method in STATUS_METHODS:
            try:
                return decode_status_response(_call(channel, method, timeout))
            except grpc.RpcError as exc:
                last = exc
                if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                    break
        assert last is not None
        raise CriStatusError(_explain(socket_path, last)) from None


def _explain(socket_path: str, error: grpc.RpcError) -> str:
    code = error.code()
    detail = (error.details() or "").strip()
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"{socket_path}: the runtime does not answer (is it running? permission?): {detail}"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"{socket_path}: no answer within the timeout"
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return f"{socket_path}: no CRI RuntimeService here (is the CRI plugin disabled?): {detail}"
    return f"{socket_path}: CRI Status failed: {code.name}: {detail}"


async def cri_status(socket_path: str, timeout: float = 5.0) -> CriStatus:
    """`cri_status_sync` in a worker thread (grpcio's sync API keeps it loop-agnostic)."""
    return await asyncio.to_thread(cri_status_sync, socket_path, timeout)


async def cri_runtime_handlers(socket_path: str, timeout: float = 5.0) -> dict[str, dict]:
    """The runtime handlers the runtime loaded, by name, with their settings (containerd)."""
    return (await cri_status(socket_path, timeout)).runtime_handlers
