"""The hand-written CRI Status client: wire decoding, and a real gRPC server on a unix socket
(grpcio's own server, answering bytes encoded here) so the client is tested without containerd.
The real containerd daemon is in test_setup_daemon_real.py."""

from __future__ import annotations

import json
from concurrent import futures

import grpc
import pytest

from kataview.setup.cri_status import (CriStatusError, WireError, cri_runtime_handlers, cri_status,
                                       cri_status_sync, decode_status_response, iter_fields)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: bytes | int | str) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def condition(kind: str, ok: bool, reason: str = "", message: str = "") -> bytes:
    body = field(1, kind) + (field(2, 1) if ok else b"")
    body += (field(3, reason) if reason else b"") + (field(4, message) if message else b"")
    return field(1, body)


CONFIG = {"containerd": {"runtimes": {"runc": {"runtimeType": "io.containerd.runc.v2"},
                                      "kata": {"runtimeType": "io.containerd.kata.v2"}}}}


def response(config: dict | None = CONFIG, handlers: tuple[str, ...] = ()) -> bytes:
    status = condition("RuntimeReady", True) + condition(
        "NetworkReady", False, "NetworkPluginNotReady", "cni plugin not initialized")
    data = field(1, status)
    if config is not None:
        data += field(2, field(1, "config") + field(2, json.dumps(config)))
    data += field(2, field(1, "lastCNILoadStatus") + field(2, "cni config load failed ☃"))
    for name in handlers:
        data += field(3, field(1, name) + field(2, field(1, 1)))
    return data


def test_decode_conditions_info_and_handlers():
    status = decode_status_response(response(handlers=("runc", "kata")))
    assert status.runtime_ready and not status.network_ready
    assert status.condition("NetworkReady").reason == "NetworkPluginNotReady"
    assert status.info["lastCNILoadStatus"].endswith("☃")
    assert status.runtime_handlers["kata"]["runtimeType"] == "io.containerd.kata.v2"
    assert status.reported_handlers == ("runc", "kata")


def test_without_config_falls_back_to_reported_handlers():
    assert decode_status_response(response(None, ("runc",))).runtime_handlers == {"runc": {}}


def test_wire_format_details():
    assert list(iter_fields(varint(1 << 3 | 1) + (7).to_bytes(8, "little"))) == [(1, 1, 7)]
    assert list(iter_fields(field(1, 300))) == [(1, 0, 300)]
    for bad in (b"\x0a\x05ab", b"\x08", b"\x0b", b"\x08" + b"\xff" * 11):
        with pytest.raises(WireError):
            list(iter_fields(bad))


@pytest.fixture
def fake_runtime(tmp_path):
    """grpcio's server on a unix socket, serving /runtime.v1.RuntimeService/Status."""
    seen: list[bytes] = []

    def status(request: bytes, context) -> bytes:
        seen.append(request)
        return response()

    handler = grpc.method_handlers_generic_handler("runtime.v1.RuntimeService", {
        "Status": grpc.unary_unary_rpc_method_handler(status)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    socket = tmp_path / "cri.sock"
    server.add_insecure_port(f"unix://{socket}")
    server.start()
    try:
        yield str(socket), seen
    finally:
        server.stop(grace=None).wait(5)


def test_sync_call_against_a_grpc_server(fake_runtime):
    socket, seen = fake_runtime
    status = cri_status_sync(socket, timeout=5)
    assert seen == [b"\x08\x01"] and sorted(status.runtime_handlers) == ["kata", "runc"]


async def test_async_api(fake_runtime):
    socket, _ = fake_runtime
    assert sorted(await cri_runtime_handlers(socket)) == ["kata", "runc"]
    assert (await cri_status(socket)).runtime_ready


def test_missing_socket_is_a_clear_error(tmp_path):
    with pytest.raises(CriStatusError, match="does not answer"):
        cri_status_sync(str(tmp_path / "none.sock"), timeout=2)


def test_unimplemented_service(tmp_path):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    socket = tmp_path / "empty.sock"
    server.add_insecure_port(f"unix://{socket}")
    server.start()
    try:
        with pytest.raises(CriStatusError, match="no CRI RuntimeService"):
            cri_status_sync(str(socket), timeout=2)
    finally:
        server.stop(grace=None).wait(5)
