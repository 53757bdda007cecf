"""Load a kataview demo scenario (classic_objects() or generated_objects()) into a real apiserver.

The objects go in through the API as a kubelet-less cluster needs them:
  1. RuntimeClasses first (RuntimeClass admission rejects a pod naming a missing one, and copies
     overhead.podFixed and scheduling into the pod; the scenario's pods already carry exactly that,
     which admission accepts). A pod naming a class the scenario lacks (classic: `kata-legacy`,
     "deleted after the pod was made") gets a temporary class with the pod's overhead, deleted
     again once the pods are in: the way such a pod comes about on a real cluster.
  2. Namespaces (the apiserver makes default, kube-system, kube-public, kube-node-lease itself).
  3. Nodes: create, then merge-PATCH /status (conditions, addresses, capacity, nodeInfo,
     runtimeHandlers, daemonEndpoints), then set spec.taints back to the scenario's (admission
     adds node.kubernetes.io/not-ready:NoSchedule to a new node; the node lifecycle controller,
     which does not run here, would lift it). Nothing ever marks them NotReady.
  4. Pods with spec.nodeName (no scheduler), then merge-PATCH /status.
  5. Events (involvedObject.uid rewritten to the uid the server gave the pod), then every other
     kind the scenario holds (NetworkPolicies).
Server-made fields differ from the scenario's: uid, resourceVersion, creationTimestamp,
managedFields (and generation). Everything else is as the double serves it, except addresses:

The apiserver itself dials a node's InternalIP at daemonEndpoints.kubeletEndpoint.Port for logs,
exec, port-forward and proxy. `loopback_scenario` therefore moves node i to 127.0.1.(i+1) (and on
into 127.0.2.x ... for large scenarios), rewrites pods' hostIP and host-network podIP with it, and
sets a kubelet port that nobody serves (or a stand-in of the test's own). Never load the
scenario's own 192.168.122.x / 10.x node addresses into a real server.

Requests run concurrently on one keep-alive connection pool (no client-side rate limit); for big
scenarios start the control plane with bulk=True (apiserver in-flight limits off).
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import ssl
import time
from dataclasses import dataclass, field
from typing import Iterable

import aiohttp
import msgspec

from kataview.demo.resources import BY_KIND, Resource

SERVER_MADE = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation",
               "selfLink")
FIRST_LOOPBACK_NODE = ipaddress.IPv4Address("127.0.1.0")
MERGE_PATCH = "application/merge-patch+json"
PHASE_ORDER = ("RuntimeClass", "Namespace", "Node", "Pod", "Event")


class LoadError(RuntimeError):
    pass


@dataclass
class LoadReport:
    counts: dict[str, int] = field(default_factory=dict)  # kind -> objects loaded
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> wall time
    requests: int = 0
    temporary_runtime_classes: list[str] = field(default_factory=list)
    pod_uids: dict[tuple[str, str], str] = field(default_factory=dict)  # (ns, name) -> server uid

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def loopback_address(index: int) -> str:
    """127.0.1.1 ... 127.0.1.254, 127.0.2.1 ...: no .0 or .255 host part."""
    address = FIRST_LOOPBACK_NODE + (index // 254) * 256 + index % 254 + 1
    if address not in ipaddress.IPv4Network("127.0.0.0/8"):
        raise ValueError(f"node {index} has no loopback address left")
    return str(address)


def loopback_scenario(objects: Iterable[dict], kubelet_port: int) -> tuple[list[dict], dict[str, str]]:
    """Copies of `objects` whose nodes (and pods' host addresses) are on 127.0.0.0/8 and whose
    kubelet endpoint is `kubelet_port`; also the map scenario address -> loopback address."""
    items = list(objects)
    moved: dict[str, str] = {}
    out = []
    for obj in items:
        if obj.get("kind") == "Node":
            obj = copy.deepcopy(obj)
            status = obj.setdefault("status", {})
            for entry in status.get("addresses", []):
                if entry.get("type") in ("InternalIP", "ExternalIP"):
                    moved.setdefault(entry["address"], loopback_address(len(moved)))
                    entry["address"] = moved[entry["address"]]
            status["daemonEndpoints"] = {"kubeletEndpoint": {"Port": kubelet_port}}
        out.append(obj)
    for index, obj in enumerate(out):
        status = obj.get("status") or {}
        if obj.get("kind") == "Pod" and (status.get("hostIP") in moved or status.get("podIP") in moved):
            out[index] = obj = copy.deepcopy(obj)
            _move_pod_addresses(obj["status"], moved)
    return out, moved


def _move_pod_addresses(status: dict, moved: dict[str, str]) -> None:
    for key, many in (("hostIP", "hostIPs"), ("podIP", "podIPs")):
        if status.get(key) in moved:
            status[key] = moved[status[key]]
            status[many] = [{"ip": moved.get(entry["ip"], entry["ip"])} for entry in status.get(many, [])]


def _path(resource: Resource, namespace: str | None, name: str | None = None) -> str:
    base = f"/apis/{resource.group}/{resource.versions[0]}" if resource.group else "/api/v1"
    where = f"/namespaces/{namespace}" if resource.namespaced else ""
    return f"{base}{where}/{resource.plural}" + (f"/{name}" if name else "")


def _for_create(obj: dict, resource: Resource) -> dict:
    body = {key: value for key, value in obj.items() if key != "status"}
    body["apiVersion"] = resource.api_version()
    body["metadata"] = {k: v for k, v in obj["metadata"].items() if k not in SERVER_MADE}
    return body


class _Loader:
    def __init__(self, session: aiohttp.ClientSession, url: str, report: LoadReport,
                 concurrency: int):
        self.session, self.url, self.report = session, url, report
        self.concurrency = concurrency
        self.encode = msgspec.json.Encoder().encode

    async def send(self, method: str, path: str, body: dict | None, *,
                   content_type: str = "application/json", tolerate: tuple[int, ...] = ()) -> dict:
        self.report.requests += 1
        data = None if body is None else self.encode(body)
        async with self.session.request(method, self.url + path, data=data,
                                        headers={"Content-Type": content_type}) as response:
            payload = await response.read()
            if response.status >= 400 and response.status not in tolerate:
                raise LoadError(f"{method} {path}: {response.status} {payload[:600].decode(errors='replace')}")
            return msgspec.json.decode(payload) if payload else {}

    async def create(self, obj: dict) -> dict:
        resource = BY_KIND[obj["kind"]]
        meta = obj["metadata"]
        namespace = meta.get("namespace") if resource.namespaced else None
        tolerate = (409,) if obj["kind"] == "Namespace" else ()  # the server's own namespaces
        made = await self.send("POST", _path(resource, namespace), _for_create(obj, resource),
                               tolerate=tolerate)
        if obj.get("status") and obj["kind"] in ("Node", "Pod"):
            made = await self.send("PATCH", _path(resource, namespace, meta["name"]) + "/status",
                                   {"status": obj["status"]}, content_type=MERGE_PATCH)
        if obj["kind"] == "Node":
            made = await self._untaint(obj, made)
        if obj["kind"] == "Pod":
            self.report.pod_uids[(namespace, meta["name"])] = made["metadata"]["uid"]
        return made

    async def _untaint(self, node: dict, made: dict) -> dict:
        """TaintNodesByCondition admission taints every new node not-ready:NoSchedule; the node
        lifecycle controller (not running here) lifts it once the node is Ready. Do its part."""
        wanted = node.get("spec", {}).get("taints")
        if (made.get("spec") or {}).get("taints") == wanted:
            return made
        return await self.send("PATCH", _path(BY_KIND["Node"], None, node["metadata"]["name"]),
                               {"spec": {"taints": wanted}}, content_type=MERGE_PATCH)

    async def phase(self, name: str, objects: list[dict]) -> None:
        if not objects:
            return
        started = time.monotonic()
        pending = iter(objects)

        async def worker() -> None:  # a fixed pool of workers: no task per object for 150k pods
            for obj in pending:
                await self.create(obj)

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(objects)))))
        self.report.seconds[name] = self.report.seconds.get(name, 0.0) + time.monotonic() - started
        for obj in objects:
            self.report.counts[obj["kind"]] = self.report.counts.get(obj["kind"], 0) + 1


def _temporary_classes(objects: list[dict], classes: set[str]) -> list[dict]:
    made: dict[str, dict] = {}
    for obj in objects:
        spec = obj.get("spec") or {}
        name = spec.get("runtimeClassName") if obj["kind"] == "Pod" else None
        if name and name not in classes and name not in made:
            made[name] = {"kind": "RuntimeClass", "apiVersion": "node.k8s.io/v1",
                          "metadata": {"name": name}, "handler": name}
            if spec.get("overhead"):
                made[name]["overhead"] = {"podFixed": spec["overhead"]}
    return list(made.values())


def _with_pod_uids(events: list[dict], uids: dict[tuple[str, str], str]) -> list[dict]:
    out = []
    for event in events:
        involved = event.get("involvedObject") or {}
        uid = uids.get((involved.get("namespace"), involved.get("name")))
        if involved.get("kind") == "Pod" and uid:
            event = {**event, "involvedObject": {**involved, "uid": uid}}
        out.append(event)
    return out


async def load_objects(url: str, token: str, context: ssl.SSLContext, objects: Iterable[dict], *,
                       concurrency: int = 32) -> LoadReport:
    """Create `objects` (already moved to loopback) in the order the module doc gives."""
    by_kind: dict[str, list[dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    report = LoadReport()
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=context)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as session:
        loader = _Loader(session, url, report, concurrency)
        classes = by_kind.get("RuntimeClass", [])
        temporary = _temporary_classes(by_kind.get("Pod", []), {c["metadata"]["name"] for c in classes})
        await loader.phase("RuntimeClass", classes + temporary)
        for kind in ("Namespace", "Node", "Pod"):
            await loader.phase(kind, by_kind.get(kind, []))
        for made in temporary:
            await loader.send("DELETE", _path(BY_KIND["RuntimeClass"], None, made["metadata"]["name"]), None)
            report.counts["RuntimeClass"] -= 1
        report.temporary_runtime_classes = [c["metadata"]["name"] for c in temporary]
        await loader.phase("Event", _with_pod_uids(by_kind.get("Event", []), report.pod_uids))
        for kind, items in by_kind.items():
            if kind not in PHASE_ORDER:
                await loader.phase(kind, items)
    return report


@dataclass
class LoadedScenario:
    objects: list[dict]  # as sent: node and host addresses already on loopback
    addresses: dict[str, str]  # scenario address -> loopback address
    kubelet_port: int
    report: LoadReport


def load_scenario(control_plane, objects: Iterable[dict] | None = None, *,
                  kubelet_port: int | None = None, concurrency: int = 32) -> LoadedScenario:
    """Load `objects` (default: the classic scenario) into a ControlPlane, moved to loopback."""
    from kataview.demo.scenario import classic_objects

    from .controlplane import free_port

    port = kubelet_port or free_port()  # free now; nobody of ours serves it
    moved, addresses = loopback_scenario(classic_objects() if objects is None else objects, port)
    report = asyncio.run(load_objects(control_plane.url, control_plane.admin_token,
                                      control_plane.ssl_context(), moved, concurrency=concurrency))
    return LoadedScenario(moved, addresses, port, report)
