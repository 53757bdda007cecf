"""`make cluster`: a real kube-apiserver + etcd on loopback with kataview's demo scenario in it.

    .venv/bin/python -m realparts.cluster [--nodes N --pods N] [--audit]

Builds kube-apiserver and etcd first (realparts/build: cached, so a warm machine builds nothing),
starts them in a temp directory, loads the classic scenario (or a generated one) through the
API, prints the admin kubeconfig, and runs until Ctrl-C, SIGTERM or SIGHUP, then stops both
processes by PID and removes the directory. Needs Go for the first build; `make demo` does not.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from .controlplane import Binaries, ControlPlaneError, start_control_plane
from .parts import HERE, locate
from .scenario_load import LoadError, load_scenario

BULK_FROM_PODS = 2000  # above this, lift the apiserver's in-flight limits while loading


class Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGHUP (Ctrl-C raises KeyboardInterrupt)."""


def _raise_stop(signum: int, _frame) -> None:
    raise Stop(signal.Signals(signum).name)


def wait_for_parent(parent: int) -> None:
    """Until a signal, or until the parent (make) is gone: make does not pass on a SIGTERM or
    SIGHUP sent to make alone, and the cluster must not outlive it."""
    while os.getppid() == parent:
        time.sleep(1)
    raise Stop("parent exited")


def build() -> Binaries:
    """The cached binaries for the current go.mod/go.sum/flags, built first if missing."""
    etcd, apiserver = locate("etcd"), locate("kube-apiserver")
    if etcd is None or apiserver is None:
        subprocess.run([sys.executable, str(HERE / "build"), "kube-apiserver", "etcd"], check=True)
        etcd, apiserver = locate("etcd"), locate("kube-apiserver")
    else:
        print(f"cached: {apiserver}, {etcd}")
    if etcd is None or apiserver is None:
        raise SystemExit("realparts/build finished but a binary is missing from the cache")
    return Binaries(etcd=etcd, kube_apiserver=apiserver)


def scenario_objects(nodes: int | None, pods: int | None) -> list[dict] | None:
    if nodes is None and pods is None:
        return None  # the classic scenario
    from kataview.demo.scenario import generated_objects
    return generated_objects(nodes or 10, pods or 0)


def usage(plane, loaded) -> str:
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(loaded.report.counts.items()))
    config = plane.kubeconfig
    return (f"\nkube-apiserver v1.37.2 at {plane.url} (etcd {plane.etcd_url})\n"
            f"loaded {counts} in {loaded.report.total_seconds:.1f} s\n"
            f"nodes are on {', '.join(list(loaded.addresses.values())[:3])}...; "
            f"their kubelet port {loaded.kubelet_port} is served by nobody (logs/exec fail)\n\n"
            f"kubeconfig (admin): {config}\n"
            f"  export KUBECONFIG={config}\n"
            f"  kubectl --kubeconfig {config} --cache-dir {plane.directory}/kubectl-cache get nodes -o wide\n"
            f"  .venv/bin/kataview --kubeconfig {config}\n"
            f"  .venv/bin/kataview --kubeconfig {config} report\n"
            f"limited users (no rights until RBAC binds them): "
            f"{', '.join(str(plane.kubeconfig_for(u)) for u in plane.tokens if u != 'admin')}\n"
            f"logs: {plane.directory}/kube-apiserver.log, etcd.log\n"
            f"pids: " + ", ".join(f"{name} {p.pid}" for name, p in plane.processes.items()) + "\n\n"
            "Ctrl-C stops the cluster and removes its directory.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, help="a generated scenario with N nodes instead of the classic one")
    parser.add_argument("--pods", type=int, help="a generated scenario with N pods")
    parser.add_argument("--audit", action="store_true", help="audit every request to <dir>/audit.log")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight while loading")
    args = parser.parse_args(argv)
    parent = os.getppid()
    binaries = build()
    # a background job of a non-interactive shell starts with SIGINT ignored, and Python then
    # keeps it ignored: Ctrl-C (or kill -INT) must stop the cluster all the same
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stop)
    objects = scenario_objects(args.nodes, args.pods)
    bulk = (args.pods or 0) > BULK_FROM_PODS
    try:
        with start_control_plane(binaries, audit=args.audit, bulk=bulk,
                                 quota_bytes=8 * 2**30 if bulk else None) as plane:
            loaded = load_scenario(plane, objects, concurrency=args.concurrency)
            print(usage(plane, loaded), flush=True)
            wait_for_parent(parent)
    except (KeyboardInterrupt, Stop) as reason:
        print(f"\nstopping ({reason or 'Ctrl-C'}): kube-apiserver and etcd ended, directory removed")
        return 0
    except (ControlPlaneError, LoadError) as error:
        print(f"make cluster: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
