"""Watch faults: request rate and time to converge of one pods informer, default settings.

    python bench/watch_faults.py                 # every fault; the black hole takes ~5 min
    python bench/watch_faults.py empty junk      # some of them

For each fault, against the API server double on loopback: the informer lists and watches;
the fault is switched on; the requests it sends during `--window` seconds give the rate;
then a pod is added and (except for the black hole, which stays on) the fault is switched
off, and the time until the pod is in the informer's store is the time to converge (capped
at `--cap` seconds: "never" past it). Faults: empty (every watch answered 200 and ended at
once), junk (200, a few lines that are no watch events, end), retry0 (every request 429 with
Retry-After: 0), retryday (one 429 with Retry-After: 86400), blackhole (every watch
accepted, then silent).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kataview.demo.apiserver import ApiServerDouble  # noqa: E402
from kataview.kube.connection import ConnectionSettings, connect  # noqa: E402
from kataview.kube.informer import Informer  # noqa: E402

FAULTS = ("empty", "junk", "retry0", "retryday", "blackhole")


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"phase": "Running"}}


def switch(api: ApiServerDouble, fault: str, on: bool) -> None:
    if fault in ("empty", "junk", "blackhole"):
        api.faults.watch_body("pods", ({"blackhole": "silent"}.get(fault, fault)) if on else None)
    elif fault == "retry0":
        if on:
            api.faults.throttle("pods", retry_after=0, times=10**9)
        else:
            api.faults.clear()
    elif fault == "retryday" and on:
        api.faults.throttle("pods", retry_after=86400, times=1)


async def measure(fault: str, window: float, cap: float) -> tuple[float, float | None]:
    async with ApiServerDouble([pod(f"p{i}") for i in range(10)]) as api:
        kubeconfig = api.write_kubeconfig(Path(tempfile.mkdtemp()) / "kubeconfig")
        async with await connect(ConnectionSettings(str(kubeconfig), None)) as connection:
            informer = Informer("pods", "/api/v1/pods", connection.transport)
            task = asyncio.create_task(informer.run())
            while not informer.watches:
                await asyncio.sleep(0.05)
            switch(api, fault, True)
            api.faults.drop_watches()  # the open watch is healthy: the next ones meet the fault
            before = len(api.requests)
            await asyncio.sleep(window)
            rate = (len(api.requests) - before) / window
            uid = api.store.apply(pod("newcomer"))["metadata"]["uid"]
            if fault != "blackhole":
                switch(api, fault, False)
            started = time.monotonic()
            converged = None
            while time.monotonic() - started < cap:
                if uid in informer.store:
                    converged = time.monotonic() - started
                    break
                await asyncio.sleep(0.05)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return rate, converged


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("faults", nargs="*", default=list(FAULTS))
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--cap", type=float, default=400.0)
    args = parser.parse_args()
    for fault in args.faults:
        rate, converged = await measure(fault, args.window, args.cap)
        took = f"{converged:.1f} s" if converged is not None else f"never (> {args.cap:g} s)"
        print(f"{fault:10} {rate:8.1f} requests/s   converged after {took}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
