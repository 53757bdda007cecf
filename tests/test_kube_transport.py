"""The transport over real HTTPS to the API server double: the read-only guard, typed errors,
watch streaming, the writer, and an unreachable server failing fast with a clear message."""

from __future__ import annotations

import asyncio
import socket
import time
from contextlib import aclosing

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.errors import (Forbidden, KubeTLSError, KubeUnreachable, NotFound,
                                  ReadOnlyViolation, ServerError, TooManyRequests,
                                  Unauthorized)
from kataview.kube.transport import resource_of
from kataview.kube.writer import ClusterWriter

NODE = {"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "worker-1", "labels": {"kubernetes.io/os": "linux"}}}
KATA = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
        "metadata": {"name": "kata"}, "handler": "kata"}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


@pytest.fixture
async def api():
    async with ApiServerDouble([NODE]) as server:
        yield server


async def open_connection(api, tmp_path, *, read_only=True, token=None, timeout=10.0):
    path = api.write_kubeconfig(tmp_path / "kubeconfig", user_token=token)
    return await connect(ConnectionSettings(str(path), None, connect_timeout=timeout,
                                            read_only=read_only))


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "post", "HEAD"])
async def test_read_only_refuses_every_verb_but_get_before_sending(api, tmp_path, method):
    async with await open_connection(api, tmp_path) as conn:
        with pytest.raises(ReadOnlyViolation) as caught:
            await conn.transport.request(method, "/api/v1/nodes/worker-1", {"x": 1})
        assert "read-only" in str(caught.value) and "nothing was sent" in str(caught.value)
    assert api.requests == []  # no connection was made at all


async def test_writer_is_refused_by_a_read_only_transport(api, tmp_path):
    async with await open_connection(api, tmp_path) as conn:
        writer = ClusterWriter(conn.transport)
        for call in (writer.create_runtime_class(KATA),
                     writer.patch_node_labels("worker-1", {"katacontainers.io/kata-runtime": "true"}),
                     writer.set_node_taints("worker-1", [{"key": "untrusted", "effect": "NoSchedule"}]),
                     writer.delete_runtime_class("kata")):
            with pytest.raises(ReadOnlyViolation):
                await call
        # reads still work on the same transport
        assert b"worker-1" in await conn.transport.get_json_bytes("/api/v1/nodes")
    assert [(r.method, r.path) for r in api.requests] == [("GET", "/api/v1/nodes")]
    assert api.store.get("RuntimeClass", None, "kata") is None
    assert api.store.get("Node", None, "worker-1")["metadata"]["labels"] == NODE["metadata"]["labels"]


async def test_writer_changes_the_cluster_when_read_write(api, tmp_path):
    async with await open_connection(api, tmp_path, read_only=False) as conn:
        writer = ClusterWriter(conn.transport)
        created = await writer.create_runtime_class(KATA)
        assert created["metadata"]["name"] == "kata"
        node = await writer.patch_node_labels("worker-1", {"katacontainers.io/kata-runtime": "true",
                                                           "kubernetes.io/os": None})
        assert node["metadata"]["labels"] == {"katacontainers.io/kata-runtime": "true"}
        node = await writer.set_node_taints("worker-1", [{"key": "untrusted", "value": "true",
                                                          "effect": "NoSchedule"}],
                                            node["metadata"]["resourceVersion"])
        assert node["spec"]["taints"] == [{"key": "untrusted", "value": "true",
                                           "effect": "NoSchedule"}]
        await writer.delete_runtime_class("kata")
        with pytest.raises(NotFound):
            await conn.transport.get_json_bytes("/apis/node.k8s.io/v1/runtimeclasses/kata")
    verbs = [(r.method, r.verb) for r in api.requests]
    assert ("POST", "create") in verbs and ("PATCH", "patch") in verbs
    assert ("DELETE", "delete") in verbs


async def test_dry_run_writer_sends_dry_run(api, tmp_path):
    async with await open_connection(api, tmp_path, read_only=False) as conn:
        await ClusterWriter(conn.transport, dry_run=True).create_runtime_class(KATA)
        with pytest.raises(NotFound):
            await conn.transport.get_json_bytes("/apis/node.k8s.io/v1/runtimeclasses/kata")
    assert api.requests[0].query["dryRun"] == "All"


async def test_errors_are_typed(api, tmp_path):
    async with await open_connection(api, tmp_path) as conn:
        get = conn.transport.get_json_bytes
        with pytest.raises(NotFound):
            await get("/api/v1/nodes/ghost")
        api.rbac.deny("pods", "list")
        with pytest.raises(Forbidden) as forbidden:
            await get("/api/v1/pods")
        assert forbidden.value.resource == "pods" and forbidden.value.status == 403
        assert "forbidden" in str(forbidden.value)
        api.faults.throttle("nodes", retry_after=3)
        with pytest.raises(TooManyRequests) as throttled:
            await get("/api/v1/nodes")
        assert throttled.value.retry_after == 3
        api.faults.error("nodes", status=503)
        with pytest.raises(ServerError) as failed:
            await get("/api/v1/nodes")
        assert failed.value.status == 503


async def test_wrong_token_is_unauthorized(api, tmp_path):
    async with await open_connection(api, tmp_path, token="not-a-token") as conn:
        with pytest.raises(Unauthorized) as caught:
            await conn.transport.get_json_bytes("/api/v1/nodes")
        assert caught.value.status == 401
        # whose credentials, and of which kind, from the kubeconfig (never the token itself)
        assert 'refused the credentials of user "kataview-demo-user" (bearer token)' \
            in str(caught.value)
        assert "not-a-token" not in str(caught.value)


async def test_stream_lines_yields_watch_events(api, tmp_path):
    async with await open_connection(api, tmp_path) as conn:
        lines = conn.transport.stream_lines(
            "/api/v1/nodes", {"watch": "true", "resourceVersion": "0", "timeoutSeconds": 1})
        async with aclosing(lines) as stream:
            first = await anext(stream)
        assert b'"ADDED"' in first and b"worker-1" in first
        # a watch that times out on the server ends the iterator cleanly
        started = time.monotonic()
        seen = [line async for line in conn.transport.stream_lines(
            "/api/v1/nodes", {"watch": "true", "resourceVersion": "0", "timeoutSeconds": 1})]
        assert len(seen) >= 1 and time.monotonic() - started < 5


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_server_fails_fast_with_the_url(api, tmp_path):
    port = closed_port()
    path = tmp_path / "dead.yaml"
    text = api.write_kubeconfig(tmp_path / "kc").read_text().replace(api.url,
                                                                      f"https://127.0.0.1:{port}")
    path.write_text(text)
    async with await connect(ConnectionSettings(str(path), None, connect_timeout=2.0)) as conn:
        started = time.monotonic()
        with pytest.raises(KubeUnreachable) as caught:
            await conn.transport.get_json_bytes("/api/v1/nodes")
        assert time.monotonic() - started < 2.0
    assert f"https://127.0.0.1:{port}" in str(caught.value)
    assert str(caught.value).startswith("cannot reach") and "Connection refused" in str(caught.value)


async def test_silent_server_fails_within_the_connect_timeout(api, tmp_path):
    # accepts TCP (the kernel does) but never answers the TLS handshake
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        path = tmp_path / "silent.yaml"
        path.write_text(api.write_kubeconfig(tmp_path / "kc").read_text().replace(
            api.url, f"https://127.0.0.1:{port}"))
        async with await connect(ConnectionSettings(str(path), None,
                                                    connect_timeout=0.5)) as conn:
            started = time.monotonic()
            with pytest.raises(KubeUnreachable) as caught:
                await conn.transport.get_json_bytes("/api/v1/nodes")
            elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 2.0
    assert f"127.0.0.1:{port}" in str(caught.value) and "0.5 s" in str(caught.value)


async def test_unknown_certificate_authority_is_a_tls_error(tmp_path):
    async with ApiServerDouble() as first, ApiServerDouble() as second:
        text = first.write_kubeconfig(tmp_path / "kc").read_text()
        (tmp_path / "mixed.yaml").write_text(text.replace(first.url, second.url))
        async with await connect(ConnectionSettings(str(tmp_path / "mixed.yaml"), None)) as conn:
            with pytest.raises(KubeTLSError) as caught:
                await conn.transport.get_json_bytes("/api/v1/nodes")
    assert second.url in str(caught.value) and "certificate" in str(caught.value).lower()


def test_resource_of_paths():
    assert resource_of("/api/v1/pods") == "pods"
    assert resource_of("/api/v1/namespaces/kube-system/pods/p1") == "pods"
    assert resource_of("/apis/node.k8s.io/v1/runtimeclasses/kata") == "runtimeclasses"
    assert resource_of("/api/v1/namespaces/kube-system") == "namespaces"
    assert resource_of("/api/v1/nodes?limit=1") == "nodes"


async def test_concurrent_requests_share_one_session(api, tmp_path):
    async with await open_connection(api, tmp_path) as conn:
        bodies = await asyncio.gather(*(conn.transport.get_json_bytes("/api/v1/nodes")
                                        for _ in range(20)))
    assert all(b"worker-1" in body for body in bodies)
