"""DemoMotion: a few deterministic changes in the first seconds so the demo visibly moves.

  t=0.0  a new kata pod appears Pending        (ADDED)
  t=1.0  it is scheduled: ContainerCreating    (MODIFIED)
  t=1.5  a pod's restartCount goes up by one   (MODIFIED)
  t=2.0  the stuck pod's event count goes up   (MODIFIED, new lastTimestamp)
  t=3.0  the new pod is Running                (MODIFIED)

Steps whose objects are missing (e.g. in a generated cluster) are skipped.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime, timedelta, timezone
from typing import Protocol

from .objects import Ids, ts
from .pods import pod
from .store import ObjectStore


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


NEW_POD = "nginx-untrusted-5b7c9f8d6c-demo1"


class DemoMotion:
    def __init__(self, seed: int = 7):
        self.ids = Ids(seed)
        self.done: list[str] = []  # names of the steps applied, in order

    async def run(self, store: ObjectStore, clock: Clock | None = None) -> None:
        clock = clock or RealClock()
        steps = ((0.0, self.new_pod_pending), (1.0, self.new_pod_creating),
                 (0.5, self.restart_one), (0.5, self.bump_stuck_event),
                 (1.0, self.new_pod_running))
        for delay, step in steps:
            await clock.sleep(delay)
            if step(store, clock.now()):
                self.done.append(step.__name__)

    def _new_pod(self, store: ObjectStore, now: datetime, state: str) -> dict | None:
        rc = store.get("RuntimeClass", None, "kata")
        node = store.get("Node", None, "k8s-worker-untrusted")
        if rc is None or node is None:
            return None
        host_ip = node["status"]["addresses"][0]["address"]
        created = store.get("Pod", "untrusted", NEW_POD)
        created_at = created["metadata"]["creationTimestamp"] if created else ts(now)
        obj = pod(Ids(11), NEW_POD, "untrusted", node["metadata"]["name"], created_at,
                  runtime_class=rc, owner=("ReplicaSet", "nginx-untrusted-5b7c9f8d6c",
                                           self.ids.uid()),
                  generate_name="nginx-untrusted-5b7c9f8d6c-", state=state,
                  labels={"app": "nginx-untrusted", "pod-template-hash": "5b7c9f8d6c"},
                  pod_ip="10.244.2.99", host_ip=host_ip, started=ts(now))
        return obj

    def new_pod_pending(self, store: ObjectStore, now: datetime) -> bool:
        obj = self._new_pod(store, now, "Pending")
        if obj is None:
            return False
        obj["spec"].pop("nodeName", None)
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        store.apply(obj)
        return True

    def new_pod_creating(self, store: ObjectStore, now: datetime) -> bool:
        obj = self._new_pod(store, now, "ContainerCreating")
        return obj is not None and bool(store.apply(obj))

    def new_pod_running(self, store: ObjectStore, now: datetime) -> bool:
        obj = self._new_pod(store, now, "Running")
        return obj is not None and bool(store.apply(obj))

    def restart_one(self, store: ObjectStore, now: datetime) -> bool:
        for obj in store.list("Pod", "sandboxed"):
            statuses = obj.get("status", {}).get("containerStatuses") or []
            if statuses and statuses[0].get("restartCount", 0) > 0:
                first = statuses[0]
                first["restartCount"] += 1
                first["lastState"] = {"terminated": {
                    "exitCode": 137, "reason": "Error", "startedAt": first["state"].get(
                        "running", {}).get("startedAt", ts(now)), "finishedAt": ts(now),
                    "containerID": first.get("containerID", "")}}
                first["state"] = {"running": {"startedAt": ts(now + timedelta(seconds=1))}}
                first["containerID"] = f"containerd://{self.ids.hex()}"
                store.apply(obj)
                return True
        return False

    def bump_stuck_event(self, store: ObjectStore, now: datetime) -> bool:
        for obj in store.list("Event"):
            if obj.get("reason") == "FailedCreatePodSandBox":
                updated = copy.deepcopy(obj)
                updated["count"] = obj.get("count", 1) + 1
                updated["lastTimestamp"] = ts(now)
                store.apply(updated)
                return True
        return False
