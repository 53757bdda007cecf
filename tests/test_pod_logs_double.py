"""The double's pod log endpoint (GET /api/v1/namespaces/NS/pods/NAME/log), read through
kataview's own transport (read-only, as the TUI runs) and KubePodReader."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timezone

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.scenario import classic_objects
from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.errors import ApiError
from kataview.kube.pod_reads import KubePodReader
from kataview.sources.base import LogRequest

NOW = datetime(2025, 1, 15, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
async def reader(tmp_path):
    server = ApiServerDouble(classic_objects(NOW))
    server.clock = lambda: NOW
    server.log_follow_interval = 0.2
    async with server:
        path = server.write_kubeconfig(tmp_path / "kubeconfig")
        connection = await connect(ConnectionSettings(str(path), None, read_only=True))
        try:
            yield server, KubePodReader(connection.transport)
        finally:
            await connection.close()


def pod_named(server, prefix: str, restarted: bool = False) -> dict:
    for obj in classic_objects(NOW):
        if obj.get("kind") == "Pod" and obj["metadata"]["name"].startswith(prefix):
            statuses = obj["status"].get("containerStatuses") or []
            if not restarted or any(s.get("restartCount") for s in statuses):
                return obj
    raise AssertionError(prefix)


async def read(reader, pod: dict, **options) -> list[str]:
    meta = pod["metadata"]
    return [line async for line in reader.pod_log(meta["namespace"], meta["name"], LogRequest(**options))]


async def test_several_containers_need_a_name_as_the_real_server_says(reader):
    server, pods = reader
    pod = pod_named(server, "nginx-trusted")
    with pytest.raises(ApiError) as raised:
        await read(pods, pod)
    assert raised.value.status == 400
    assert f"a container name must be specified for pod {pod['metadata']['name']}, choose one of: [curl nginx]" \
        in str(raised.value)
    with pytest.raises(ApiError, match="container nope is not valid for pod"):
        await read(pods, pod, container="nope")
    lines = await read(pods, pod, container="nginx")
    assert lines[0].startswith("/docker-entrypoint.sh") and "GET " in lines[-1]


async def test_tail_lines_limit_bytes_and_previous(reader):
    server, pods = reader
    pod = pod_named(server, "nginx-kata-qemu", restarted=True)
    full = await read(pods, pod, container="nginx")
    assert await read(pods, pod, container="nginx", tail_lines=2) == full[-2:]
    limited = await read(pods, pod, container="nginx", limit_bytes=20)
    assert "".join(limited) == ("\n".join(full) + "\n")[:20].rstrip("\n")
    previous = await read(pods, pod, container="curl", previous=True)
    assert any("exiting with status 1" in line for line in previous)
    with pytest.raises(ApiError, match='previous terminated container "nginx" in pod'):
        await read(pods, pod, container="nginx", previous=True)
    assert [r.resource for r in server.requests if r.path.endswith("/log")] == ["pods/log"] * 5


async def test_follow_keeps_the_stream_open_and_adds_lines(reader):
    server, pods = reader
    pod = pod_named(server, "gvisor-sandbox")  # one container: no name needed
    meta = pod["metadata"]
    seen: list[str] = []
    stream = pods.pod_log(meta["namespace"], meta["name"], LogRequest(follow=True, tail_lines=1))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            async with contextlib.aclosing(stream):
                async for line in stream:
                    seen.append(line)
                    if len(seen) == 3:
                        break
    assert len(seen) == 3 and "/healthz" in seen[2]
    assert server.requests[-1].query == {"follow": "true", "tailLines": "1"}


async def test_pod_object_is_the_served_pod(reader):
    server, pods = reader
    pod = pod_named(server, "legacy-sandbox")
    served = await pods.pod_object("legacy", "legacy-sandbox")
    assert served["metadata"]["uid"] == pod["metadata"]["uid"]
    assert served["metadata"]["resourceVersion"]
