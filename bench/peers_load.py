"""Fill the real control plane fast, and churn its pods at a steady rate (bench/peers.py).

Population: RuntimeClasses, namespaces and nodes go in through realparts.scenario_load (its
order and node fix-ups); the pods, the bulk, are split over several worker processes, each
with its own keep-alive aiohttp pool, no client-side rate limit (the apiserver runs with its
in-flight limits off). A pod takes two requests (create, then merge-PATCH /status: the
apiserver resets status on create); a worker keeps `concurrency` pods in flight, so the
status patches of one pod overlap the creates of the next ones. Kubernetes has no batch
write, so "batched" means pipelined here.

Churn: one process PATCHes pod labels at a fixed rate (each patch is one MODIFIED watch event
for every watcher), scheduled by the clock, not by the answers.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import ssl
import time
from dataclasses import dataclass

import aiohttp
import msgspec

import peers_etcd

from realparts.scenario_load import loopback_scenario, load_objects, LoadReport

MERGE_PATCH = "application/merge-patch+json"
SERVER_MADE = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    ca_path: str

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_path)

    def session(self, concurrency: int) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=concurrency, ssl=self.ssl_context())
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        return aiohttp.ClientSession(connector=connector, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=None, sock_read=120))


def pod_create_body(pod: dict) -> dict:
    body = {key: value for key, value in pod.items() if key != "status"}
    body["apiVersion"] = "v1"
    body["metadata"] = {k: v for k, v in pod["metadata"].items() if k not in SERVER_MADE}
    return body


async def _send(session, method: str, url: str, body: dict, content_type: str) -> None:
    async with session.request(method, url, data=msgspec.json.encode(body),
                               headers={"Content-Type": content_type}) as response:
        payload = await response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {url}: {response.status} {payload[:300]!r}")


async def _create_pods(server: Server, pods: list[dict], concurrency: int) -> None:
    pending = iter(pods)
    async with server.session(concurrency) as session:
        async def worker() -> None:
            for pod in pending:
                ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
                base = f"{server.url}/api/v1/namespaces/{ns}/pods"
                await _send(session, "POST", base, pod_create_body(pod), "application/json")
                if pod.get("status"):
                    await _send(session, "PATCH", f"{base}/{name}/status", {"status": pod["status"]},
                                MERGE_PATCH)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(pods)))))


def _pod_worker(server: Server, pods: list[dict], concurrency: int) -> None:
    asyncio.run(_create_pods(server, pods, concurrency))


def populate(server: Server, objects: list[dict], kubelet_port: int, workers: int = 3,
             concurrency: int = 32, etcd_url: str = "") -> dict:
    """Load `objects` (a generated scenario); seconds per phase and requests. With `etcd_url`
    the pods are written into etcd directly (bench/peers_etcd.py) and then verified."""
    moved, _ = loopback_scenario(objects, kubelet_port)
    pods = [obj for obj in moved if obj["kind"] == "Pod"]
    rest = [obj for obj in moved if obj["kind"] != "Pod"]
    started = time.monotonic()
    report: LoadReport = asyncio.run(load_objects(server.url, server.token, server.ssl_context(),
                                                  rest, concurrency=concurrency))
    others_s = time.monotonic() - started
    if etcd_url:
        return _populate_etcd(server, etcd_url, pods, report, started, others_s)
    shards = [pods[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("fork")  # the shards are inherited, not pickled
    processes = [context.Process(target=_pod_worker, args=(server, shard, concurrency))
                 for shard in shards if shard]
    pods_started = time.monotonic()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"pod workers failed: exit codes {failed}")
    pods_s = time.monotonic() - pods_started
    return {"method": "api", "objects_s": round(others_s, 2), "pods_s": round(pods_s, 2),
            "total_s": round(time.monotonic() - started, 2), "pods": len(pods),
            "requests": report.requests + sum(1 + bool(p.get("status")) for p in pods),
            "workers": len(processes), "concurrency_per_worker": concurrency,
            "pods_per_s": round(len(pods) / pods_s, 1) if pods_s else None}


def _populate_etcd(server: Server, etcd_url: str, pods: list[dict], report: LoadReport,
                   started: float, others_s: float) -> dict:
    pods_started = time.monotonic()
    written = peers_etcd.put_pods(etcd_url, pods)
    served_s = time.monotonic()
    verified = peers_etcd.verify(server, pods)  # its list waits for the watch cache to catch up
    pods_s = time.monotonic() - pods_started
    return {"method": "etcd", "objects_s": round(others_s, 2), "pods_s": round(pods_s, 2),
            "etcd_put_s": written["put_s"], "served_wait_s": round(time.monotonic() - served_s, 2),
            "txns": written["txns"], "ops_per_txn": written["ops_per_txn"], "verified": verified,
            "total_s": round(time.monotonic() - started, 2), "pods": len(pods),
            "requests": report.requests, "pods_per_s": round(len(pods) / pods_s, 1) if pods_s else None}


async def _churn(server: Server, targets: list[tuple[str, str]], rate: float, seconds: float) -> dict:
    sent = failed = 0
    late_max = 0.0
    tasks: set[asyncio.Task] = set()
    async with server.session(32) as session:
        async def patch(ns: str, name: str, tick: int) -> None:
            nonlocal failed
            try:
                await _send(session, "PATCH", f"{server.url}/api/v1/namespaces/{ns}/pods/{name}",
                            {"metadata": {"labels": {"peers-churn": str(tick)}}}, MERGE_PATCH)
            except (RuntimeError, aiohttp.ClientError, asyncio.TimeoutError):
                failed += 1

        started = time.monotonic()
        total = int(rate * seconds)
        for tick in range(total):
            due = started + tick / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            late_max = max(late_max, -delay)
            ns, name = targets[tick % len(targets)]
            task = asyncio.create_task(patch(ns, name, tick))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    return {"sent": sent, "failed": failed, "seconds": round(elapsed, 2),
            "rate": round(sent / elapsed, 1), "late_max_s": round(late_max, 3)}


def _churn_main(server: Server, targets, rate: float, seconds: float, answer) -> None:
    answer.send(asyncio.run(_churn(server, targets, rate, seconds)))


class Churner:
    """A process patching pod labels at `rate` per second for `seconds`."""

    def __init__(self, server: Server, targets: list[tuple[str, str]], rate: float, seconds: float):
        context = multiprocessing.get_context("fork")
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_churn_main, args=(server, targets, rate, seconds, send))

    def start(self) -> None:
        self.process.start()

    def result(self, timeout: float) -> dict:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
            return {"error": "churner did not finish"}
        return self.receive.recv() if self.receive.poll() else {"error": f"exit {self.process.exitcode}"}
