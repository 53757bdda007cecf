"""The floor under `kataview report`: the same paginated pages fetched with kataview's own
transport (aiohttp, TLS, bearer token) but not decoded, then the same bytes decoded alone.

    python bench/floor.py KUBECONFIG        prints one JSON line:
    {"fetch_s": ..., "decode_s": ..., "bytes": ..., "pages": ..., "pods": ...}

Run as its own process (bench/run.py does) so that its memory and start-up do not mix with
anything else. Start-up (imports, kubeconfig) is not counted: the floor is the work itself.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time

from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.decode import KINDS, decode_list
from kataview.kube.informer import field_selector_for, resource_paths

PAGE = 500


async def fetch_pages(kubeconfig: str) -> tuple[float, dict[str, list[bytes]]]:
    connection = await connect(ConnectionSettings(kubeconfig=kubeconfig, read_only=True))
    transport = connection.transport
    try:
        await transport.get_json_bytes("/version")  # connect + TLS handshake outside the clock

        async def one(kind: str) -> list[bytes]:
            path, selector = resource_paths(kind)[0], field_selector_for(kind)
            pages, token = [], ""
            while True:
                query: dict[str, str | int] = {"limit": PAGE}
                if selector:
                    query["fieldSelector"] = selector
                if token:
                    query["continue"] = token
                data = await transport.get_json_bytes(path, query)
                pages.append(data)
                # the continue token without decoding the page: it sits in the list metadata,
                # before "items"
                head = data[:data.find(b'"items"')] if b'"items"' in data else data
                token = json.loads(head.rstrip(b",") + b"}").get("metadata", {}).get("continue", "")
                if not token:
                    return pages

        started = time.perf_counter()
        results = await asyncio.gather(*(one(kind) for kind in KINDS))
        elapsed = time.perf_counter() - started
        return elapsed, dict(zip(KINDS, results))
    finally:
        await connection.close()


def decode_all(pages: dict[str, list[bytes]]) -> tuple[float, int]:
    gc.collect()
    started = time.perf_counter()
    pods = 0
    gc.disable()
    try:
        for kind, bodies in pages.items():
            for body in bodies:
                decoded = decode_list(kind, body)
                if kind == "pods":
                    pods += len(decoded.items)
    finally:
        gc.enable()
    return time.perf_counter() - started, pods


def main(kubeconfig: str) -> None:
    fetch_s, pages = asyncio.run(fetch_pages(kubeconfig))
    decode_s, pods = decode_all(pages)
    print(json.dumps({"fetch_s": fetch_s, "decode_s": decode_s, "pods": pods,
                      "pages": sum(len(p) for p in pages.values()),
                      "bytes": sum(len(b) for p in pages.values() for b in p)}))


if __name__ == "__main__":
    main(sys.argv[1])
