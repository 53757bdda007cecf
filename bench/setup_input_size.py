"""How long `setup containerd` plans a config of many small tables, by size: the numbers behind
MAX_CONFIG_BYTES (kataview/setup/toml_edit.py).

    python bench/setup_input_size.py [--sizes 16384,65536,262144] [--beyond]

Each size runs in its own process (peak RSS is per process). --beyond adds 1 MiB, past the
limit (it parses only because the bench calls the planner below the guard's check).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

HEAD = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        '  runtime_type = "io.containerd.runc.v2"\n')


def config_of(size: int) -> str:
    parts, total, n = [HEAD], len(HEAD), 0
    while total < size:
        table = f'[plugins."x{n}"]\n  a = {n}\n'
        parts.append(table)
        total += len(table)
        n += 1
    return "".join(parts)


def child(size: int) -> None:
    from kataview.setup import toml_edit
    from kataview.setup.containerd.patch import plan_containerd_patch

    toml_edit.MAX_CONFIG_BYTES = max(toml_edit.MAX_CONFIG_BYTES, size + 1024)
    text = config_of(size)
    start = time.monotonic()
    plan_containerd_patch(text)
    seconds = time.monotonic() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {size // 1024} KiB | {text.count('[plugins.')} | {seconds:.1f} | {rss:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="16384,65536,262144")
    parser.add_argument("--beyond", action="store_true")
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    sizes = [int(s) for s in args.sizes.split(",")] + ([1 << 20] if args.beyond else [])
    print("| size | tables | plan s | peak RSS MiB |\n|---:|---:|---:|---:|")
    for size in sizes:
        subprocess.run([sys.executable, __file__, "--child", str(size)], check=True)


if __name__ == "__main__":
    main()
