"""A PodReader (kataview.sources) over the demo's objects in memory, for fixed snapshots
(screenshots, pilot tests): the same pods and the same log text as the API server double's
GET pods/NAME and pods/NAME/log, without a server."""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime, timedelta
from typing import Any, AsyncIterator

from . import pod_logs
from .reads import ApiError


class ReadRefused(Exception):
    """What the server would have answered instead (its Status message)."""


class ObjectsPodReader:
    def __init__(self, objects: list[dict], follow_interval: float = pod_logs.FOLLOW_INTERVAL,
                 now: datetime | None = None) -> None:
        self.pods = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
                     for o in objects if o.get("kind") == "Pod"}
        self.follow_interval = follow_interval
        self.now = now

    def _pod(self, namespace: str, name: str) -> dict:
        pod = self.pods.get((namespace, name))
        if pod is None:
            raise ReadRefused(f'pods "{name}" not found')
        return pod

    async def pod_object(self, namespace: str, name: str) -> dict:
        return copy.deepcopy(self._pod(namespace, name))

    async def pod_log(self, namespace: str, name: str, request: Any) -> AsyncIterator[str]:
        pod = self._pod(namespace, name)
        query = {"tailLines": request.tail_lines, "limitBytes": request.limit_bytes}
        try:
            container = pod_logs.pick_container(pod, request.container)
            lines = pod_logs.log_lines(pod, container, request.previous)
            body = pod_logs.cut(lines, {k: str(v) for k, v in query.items() if v is not None})
        except ApiError as error:
            raise ReadRefused(error.body.get("message", "")) from None
        for line in body.decode().splitlines():
            yield line
        index, moment = 0, self.now or datetime.now().astimezone()
        while request.follow and not request.previous:
            await asyncio.sleep(self.follow_interval)
            moment += timedelta(seconds=self.follow_interval)
            yield pod_logs.follow_line(pod, container, index, moment)
            index += 1
