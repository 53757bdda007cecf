"""The demo API double (same ApiServerDouble and generator as `kataview demo --serve`) with a
control channel on stdin, for the UI burst and soak measurements of bench/run.py.

    python bench/serve_burst.py --nodes N --pods N --kubeconfig-out F

prints "ready <probe-uid>" once serving, then reads commands, one per line:

    burst RATE SECONDS   modify RATE pods a second (restartCount + 1, in 10 ms batches) for
                         SECONDS; every 100 ms the probe pod's first container gets
                         restartCount = seq, printed as "probe SEQ UNIX_TIME" when applied;
                         then "done APPLIED CPU_SECONDS"
    quit                 stop

Only loopback; the burst is bounded by SECONDS.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

from kataview.demo.apiserver import ApiServerDouble
from kataview.demo.generator import generated_objects
from kataview.demo.resources import BY_KIND


SLICE = 200  # events applied between two yields to the event loop


def _modified(body: dict, restarts: int | None) -> dict:
    """A fresh top-level dict (and status, containerStatuses, the changed status) sharing the
    rest with the stored body, which the store never mutates."""
    status = body.get("status") or {}
    statuses = list(status.get("containerStatuses") or [])
    if statuses:
        first = statuses[0]
        count = restarts if restarts is not None else first.get("restartCount", 0) + 1
        statuses[0] = {**first, "restartCount": count}
        if restarts is not None:
            statuses[1:] = [{**s, "restartCount": 0} for s in statuses[1:]]
    return {"kind": "Pod", "apiVersion": "v1", **body,
            "status": {**status, "containerStatuses": statuses}}


async def burst(api: ApiServerDouble, keys: list[str], probe: str, rate: float,
                seconds: float) -> None:
    store, pods = api.store, BY_KIND["Pod"]
    loop = asyncio.get_running_loop()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = loop.time()
    applied, seq, next_probe, index = 0, 0, start, 0
    while (now := loop.time()) - start < seconds:
        due = int((now - start) * rate) - applied
        for n in range(due):
            key = keys[index % len(keys)]
            index += 1
            body = store.body(pods, key)
            if body is not None:
                store.apply(_modified(body, None), owned=True)  # a fresh dict: no deep copy
            applied += 1
            if n % SLICE == SLICE - 1:
                await asyncio.sleep(0)  # behind schedule: let the watch streams write between slices
        if now >= next_probe:
            seq += 1
            store.apply(_modified(store.body(pods, probe), seq), owned=True)
            print(f"probe {seq} {time.time():.6f}", flush=True)
            next_probe += 0.1
        await asyncio.sleep(0.01)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(f"done {applied} {cpu:.3f}", flush=True)


async def serve(args: argparse.Namespace) -> None:
    api = ApiServerDouble(generated_objects(args.nodes, args.pods), tls=True,
                          history=max(2000, int(args.history)))
    await api.start()
    api.write_kubeconfig(args.kubeconfig_out)
    pods = BY_KIND["Pod"]
    keys = api.store.keys("Pod")
    probe = keys[0]
    print(f"ready {api.store.body(pods, probe)['metadata']['uid']}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := (await reader.readline()).decode().split():
            if line[0] == "burst":
                await burst(api, keys[1:], probe, float(line[1]), float(line[2]))
            elif line[0] == "quit":
                break
    finally:
        await api.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--pods", type=int, required=True)
    parser.add_argument("--kubeconfig-out", type=Path, required=True)
    parser.add_argument("--history", type=int, default=20_000)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
