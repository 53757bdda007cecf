"""The pod screens' GETs: one pod as served, and its container log (the pods/log
subresource; a GET, so the read-only guard lets it through). kataview.sources.base.PodReader."""

from __future__ import annotations

import contextlib
import json
from typing import Any, AsyncIterator
from urllib.parse import quote

from .transport import KubeTransport


def pod_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(name, safe='')}"


def log_query(request: Any) -> dict[str, str]:
    """PodLogOptions as query parameters (request: a kataview.sources.base.LogRequest)."""
    query: dict[str, str] = {}
    if request.container:
        query["container"] = request.container
    if request.follow:
        query["follow"] = "true"
    if request.previous:
        query["previous"] = "true"
    if request.tail_lines is not None:
        query["tailLines"] = str(request.tail_lines)
    if request.limit_bytes is not None:
        query["limitBytes"] = str(request.limit_bytes)
    return query


class KubePodReader:
    def __init__(self, transport: KubeTransport) -> None:
        self.transport = transport

    async def pod_object(self, namespace: str, name: str) -> dict:
        return json.loads(await self.transport.get_json_bytes(pod_path(namespace, name)))

    async def pod_log(self, namespace: str, name: str, request: Any) -> AsyncIterator[str]:
        # A followed log may stay quiet for long: no idle timeout then.
        lines = self.transport.stream_lines(pod_path(namespace, name) + "/log", log_query(request),
                                            idle_timeout=None if request.follow else self.transport.read_timeout)
        async with contextlib.aclosing(lines):
            async for line in lines:
                yield line.decode("utf-8", "replace").rstrip("\r")
