"""Bench-only pod loader: the generated pods written straight into etcd (bench/peers.py).

Through the API a pod costs the apiserver ~6.5 ms of CPU (create + status PATCH: decode,
admission, defaulting, managedFields, encode; measured: 19 s for 3,000 pods on an idle
machine), so 2 cores top out near 100-150 pods/s whatever the client does. Here the pods
are stored as the apiserver itself would store them, with the apiserver started with
`--storage-media-type=application/json`: key `/registry/pods/<ns>/<name>`, value the pod as
the generator made it (its uid and creationTimestamp kept, status included, every default
already set), plus what the API path adds: `generation: 1` and the two managedFields entries
of a client that POSTs the pod and merge-PATCHes /status (manager "Python", as aiohttp's
User-Agent makes it). They go in through etcd's gRPC-gateway (`POST /v3/kv/txn`, plain HTTP
on its loopback client port) as txns of `OPS_PER_TXN` puts; the apiserver's watch on etcd
brings them into its watch cache. `verify` checks that the apiserver serves them (count, a
GET equal to the generated pod, a watch event after a PATCH).
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
import urllib.request

import aiohttp
import msgspec

OPS_PER_TXN = 128  # etcd's default --max-txn-ops
TXN_BYTES = 1_000_000  # under etcd's default --max-request-bytes (1.5 MiB)
# Lists that server-side field tracking keys by these fields (k:{...}); every other list in
# a pod is atomic (one leaf). From Kubernetes' PodSpec/PodStatus list-map-keys.
LIST_KEYS = {"/metadata/ownerReferences": ("uid",), "/spec/containers": ("name",),
             "/spec/initContainers": ("name",), "/spec/ephemeralContainers": ("name",),
             "/spec/containers[]/volumeMounts": ("mountPath",),
             "/spec/initContainers[]/volumeMounts": ("mountPath",),
             "/spec/containers[]/ports": ("containerPort", "protocol"),
             "/spec/containers[]/env": ("name",), "/spec/volumes": ("name",),
             "/spec/imagePullSecrets": ("name",), "/status/conditions": ("type",),
             "/status/podIPs": ("ip",)}
# Fields with children that the apiserver's field sets list without their own "." entry
# (compared with what kube-apiserver v1.37.2 writes for the generated pods: peers_etcd test).
# Values tracked as one leaf: an OwnerReference (structType=atomic), nodeSelector (mapType=atomic)
ATOMIC = {"/metadata/ownerReferences[]", "/spec/nodeSelector"}
NO_SELF_ENTRY = {"/metadata", "/spec", "/status", "/spec/containers", "/spec/initContainers"}
SERVER_SET = ("resourceVersion", "managedFields", "generation", "selfLink")
NOT_TRACKED = ("name", "namespace", "uid", "creationTimestamp")


def field_set(value, path: str = "") -> dict:
    """The FieldsV1 form of the fields `value` sets, as structured-merge-diff writes it."""
    if isinstance(value, dict) and path not in ATOMIC:
        members = {f"f:{key}": field_set(child, f"{path}/{key}") for key, child in value.items()}
    elif isinstance(value, list) and path in LIST_KEYS:
        keys = LIST_KEYS[path]
        members = {"k:" + json.dumps({k: item[k] for k in sorted(keys) if k in item},
                                     separators=(",", ":")):
                   field_set(item, path + "[]") for item in value}
    else:
        return {}
    if members and path and path not in NO_SELF_ENTRY:
        members = {".": {}, **members}
    return dict(sorted(members.items()))


def managed_fields(pod: dict, when: str) -> list[dict]:
    """What a POST of the pod (without status) and a merge-PATCH of its /status record."""
    meta = {k: v for k, v in pod["metadata"].items() if k not in NOT_TRACKED + SERVER_SET}
    created = field_set({"metadata": meta, "spec": pod.get("spec", {})})
    entries = [{"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": created,
                "manager": "Python", "operation": "Update", "time": when}]
    # an Update owns what it changed: the create left status at phase Pending and the
    # qosClass the apiserver computes, so a PATCH that repeats those does not own them
    created_status = {"phase": "Pending", "qosClass": pod.get("status", {}).get("qosClass")}
    changed = {k: v for k, v in (pod.get("status") or {}).items() if created_status.get(k) != v}
    if changed:
        entries.append({"apiVersion": "v1", "fieldsType": "FieldsV1",
                        "fieldsV1": field_set({"status": changed}), "manager": "Python",
                        "operation": "Update", "subresource": "status", "time": when})
    return entries


def stored_pod(pod: dict) -> dict:
    """The pod as the apiserver stores it after create + status patch (JSON storage)."""
    meta = {k: v for k, v in pod["metadata"].items() if k not in SERVER_SET}
    meta["generation"] = 1
    meta["managedFields"] = managed_fields(pod, meta["creationTimestamp"])
    out = {"kind": "Pod", "apiVersion": "v1", "metadata": dict(sorted(meta.items())),
           "spec": pod.get("spec", {})}
    if pod.get("status"):
        out["status"] = pod["status"]
    return out


def pod_key(pod: dict) -> str:
    return f"/registry/pods/{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def txn_bodies(pods: list[dict], ops: int = OPS_PER_TXN, max_bytes: int = TXN_BYTES):
    encode = msgspec.json.Encoder().encode
    puts: list[dict] = []
    size = 0
    for pod in pods:
        value = _b64(encode(stored_pod(pod)))
        if puts and (len(puts) == ops or size + len(value) > max_bytes):
            yield encode({"success": puts})
            puts, size = [], 0
        puts.append({"requestPut": {"key": _b64(pod_key(pod).encode()), "value": value}})
        size += len(value) + 200
    if puts:
        yield encode({"success": puts})


async def _put_all(etcd_url: str, pods: list[dict], concurrency: int) -> int:
    bodies = txn_bodies(pods)
    sent = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal sent
            for body in bodies:
                async with session.post(f"{etcd_url}/v3/kv/txn", data=body,
                                        headers={"Content-Type": "application/json"}) as response:
                    answer = await response.read()
                    if response.status != 200 or b'"succeeded":true' not in answer:
                        raise RuntimeError(f"etcd txn: {response.status} {answer[:300]!r}")
                sent += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


def put_pods(etcd_url: str, pods: list[dict], concurrency: int = 4) -> dict:
    started = time.monotonic()
    txns = asyncio.run(_put_all(etcd_url, pods, concurrency))
    return {"txns": txns, "ops_per_txn": OPS_PER_TXN, "put_s": round(time.monotonic() - started, 2)}


def _api(server, method: str, path: str, body: dict | None = None,
         content_type: str = "application/json"):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {server.token}", "Accept": "application/json",
               "Content-Type": content_type}
    request = urllib.request.Request(server.url + path, data, headers, method=method)
    return urllib.request.urlopen(request, timeout=600, context=server.ssl_context())


def served_count(server) -> int:
    """Pods the apiserver lists (a consistent list of one item: it waits for its cache to
    reach etcd's revision; remainingItemCount gives the rest)."""
    with _api(server, "GET", "/api/v1/pods?limit=1") as response:
        page = json.loads(response.read())
    return len(page["items"]) + int(page["metadata"].get("remainingItemCount") or 0)


def without_server_fields(pod: dict) -> dict:
    meta = {k: v for k, v in pod["metadata"].items() if k not in SERVER_SET}
    return {**{k: v for k, v in pod.items() if k not in ("metadata", "kind", "apiVersion")},
            "metadata": meta}


def wait_served(server, expected: int, timeout: float = 600) -> int:
    """Until the apiserver lists `expected` pods: its watch cache takes the puts in from its
    etcd watch a while after etcd has them (a list of limit=1 right after the last txn said
    9,994 of 10,000)."""
    deadline = time.monotonic() + timeout
    while True:
        count = served_count(server)
        if count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.5)


def verify(server, pods: list[dict], seed: int = 17) -> dict:
    """The apiserver serves exactly these pods: as many as written, one GET equal to the
    generated pod (but resourceVersion/managedFields/generation), and a watch that sees a
    PATCH of it. Raises on any difference."""
    count = wait_served(server, len(pods))
    if count != len(pods):
        raise RuntimeError(f"apiserver lists {count} pods, {len(pods)} were written")
    pod = random.Random(seed).choice(pods)
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    with _api(server, "GET", f"/api/v1/namespaces/{ns}/pods/{name}") as response:
        served = json.loads(response.read())
    if without_server_fields(served) != without_server_fields(pod):
        raise RuntimeError(f"GET {ns}/{name} differs from the pod written")
    version = served["metadata"]["resourceVersion"]
    watch = _api(server, "GET", f"/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion={version}"
                 f"&fieldSelector=metadata.name%3D{name}")
    with watch:
        with _api(server, "PATCH", f"/api/v1/namespaces/{ns}/pods/{name}",
                  {"metadata": {"labels": {"peers-verify": "1"}}}, "application/merge-patch+json"):
            pass
        event = json.loads(watch.readline())
    labels = event["object"]["metadata"].get("labels") or {}
    if event["type"] != "MODIFIED" or labels.get("peers-verify") != "1":
        raise RuntimeError(f"watch of {ns}/{name} after a PATCH: {event['type']} {labels}")
    return {"listed": count, "get": f"{ns}/{name}", "watch_event": event["type"]}
