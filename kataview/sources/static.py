"""Fixed snapshots: `StaticSource` (tests, screenshots) and the demo scenario as one
ClusterSnapshot (raw objects -> records)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from kataview.model.records import ClusterSnapshot, WatchState
from kataview.sources.base import PodReader, Publish, SourceInfo

KIND_TO_RESOURCE = {"Node": "nodes", "RuntimeClass": "runtimeclasses", "Pod": "pods", "Event": "events",
                    "NetworkPolicy": "networkpolicies"}


def snapshot_from_objects(objects: list[dict], taken_at: datetime | None = None) -> ClusterSnapshot:
    from kataview.kube.decode import record_from_dict

    nodes, classes, pods, events, policies = {}, {}, {}, [], []
    for obj in objects:
        resource = KIND_TO_RESOURCE.get(obj.get("kind", ""))
        if resource is None:
            continue
        record = record_from_dict(resource, obj)
        if resource == "nodes":
            nodes[record.name] = record
        elif resource == "runtimeclasses":
            classes[record.name] = record
        elif resource == "pods":
            pods[record.uid or f"{record.namespace}/{record.name}"] = record
        elif resource == "events":
            events.append(record)
        else:
            policies.append(record)
    return ClusterSnapshot(nodes=nodes, runtime_classes=classes, pods=pods, events=tuple(events),
                           network_policies=tuple(policies), taken_at=taken_at)


def classic_demo_snapshot(now: datetime) -> ClusterSnapshot:
    from kataview.demo.scenario import classic_objects

    return snapshot_from_objects(classic_objects(now), taken_at=now)


def classic_demo_reader(now: datetime, follow_interval: float = 3600.0) -> PodReader:
    """A PodReader over the demo scenario's objects: the pods and log text the API server
    double serves (a followed log stays quiet for follow_interval seconds: steady screenshots)."""
    from kataview.demo.pod_reads import ObjectsPodReader
    from kataview.demo.scenario import classic_objects

    return ObjectsPodReader(classic_objects(now), follow_interval=follow_interval, now=now)


class StaticSource:
    """A fixed snapshot (tests, screenshots); `push` sends later ones, as a watch would."""

    def __init__(self, snapshot: ClusterSnapshot, state: WatchState | None = None,
                 info: SourceInfo | None = None, reader: PodReader | None = None) -> None:
        self.info = info or SourceInfo(context="static", server="https://127.0.0.1:6443")
        self.reader = reader
        self._queue: asyncio.Queue[tuple[ClusterSnapshot, WatchState]] = asyncio.Queue()
        self._queue.put_nowait((snapshot, state or WatchState(phase="live", synced=5, total=5)))

    def push(self, snapshot: ClusterSnapshot, state: WatchState | None = None) -> None:
        self._queue.put_nowait((snapshot, state or WatchState(phase="live", synced=5, total=5)))

    def pod_reader(self) -> PodReader | None:
        return self.reader

    async def run(self, publish: Publish) -> None:
        while True:
            snapshot, state = await self._queue.get()
            publish(snapshot, state)
