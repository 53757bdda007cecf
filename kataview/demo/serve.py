"""`kataview demo --serve`: the whole demo on loopback (kataview.demo.session: the API server
double and the SSH node that answers for every demo node) until Ctrl-C, SIGTERM or SIGHUP.
Prints, and writes beside the kubeconfig, an ssh config mapping each node name to it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from typing import TYPE_CHECKING

from kataview.model.exit_codes import Exit
from kataview.model.xdg import runtime_dir

if TYPE_CHECKING:
    from .session import RunningDemo


def serve_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """The options of `kataview demo --serve`; the CLI's `demo` command takes them as a parent
    parser (add_help=False), so `kataview demo --help` lists them."""
    parser = argparse.ArgumentParser(prog="kataview demo --serve", add_help=add_help,
                                     description="Serve the demo cluster's Kubernetes API on loopback.")
    parser.add_argument("--serve", action="store_true",
                        help="serve the cluster's API on 127.0.0.1 and print a kubeconfig for it "
                             "(instead of the dashboard)")
    parser.add_argument("--nodes", type=int, metavar="N", help="generate a cluster with N nodes")
    parser.add_argument("--pods", type=int, metavar="N", help="generate a cluster with N pods")
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, metavar="N", help="TCP port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--kubeconfig-out", type=Path, metavar="F", help="where to write the kubeconfig")
    parser.add_argument("--plain-http", action="store_true", help="serve HTTP instead of HTTPS")
    return parser


def default_kubeconfig_path() -> Path:
    """Under $XDG_RUNTIME_DIR, else a private temp dir; never ~/.kube."""
    runtime = runtime_dir(os.environ)
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        base = Path(runtime) / "kataview"
        base.mkdir(mode=0o700, exist_ok=True)
    else:
        base = Path(tempfile.mkdtemp(prefix="kataview-demo-"))
    return base / f"demo-kubeconfig-{os.getpid()}.yaml"


def ssh_directory_for(kubeconfig: Path) -> Path:
    """The SSH node's client files live beside the kubeconfig: ``<name>-ssh/``."""
    return kubeconfig.with_name(f"{kubeconfig.stem}-ssh")


def _refuse(path: Path) -> bool:
    kube_dir = (Path.home() / ".kube").resolve()
    resolved = path.expanduser().resolve()
    return resolved == kube_dir or kube_dir in resolved.parents


def serve_main(argv: Sequence[str] | None = None) -> int:
    # here, not at the top: every `kataview` command builds serve_parser for `demo --help`,
    # and the API server double's imports (aiohttp, asyncssh, cryptography) cost ~0.5 s
    from .generator import generated_objects
    from .scenario import classic_objects

    args = serve_parser().parse_args(list(argv) if argv is not None else None)
    if args.kubeconfig_out is not None and _refuse(args.kubeconfig_out):
        print("kataview demo: refusing to write a kubeconfig under ~/.kube", file=sys.stderr)
        return Exit.USAGE
    if args.nodes is not None or args.pods is not None:
        objects = generated_objects(args.nodes or 3, args.pods or 0, seed=args.seed)
    else:
        objects = classic_objects()
    try:
        return asyncio.run(_serve(args, objects))
    except KeyboardInterrupt:  # before the signal handlers are in place
        return Exit.INTERRUPTED


# how each stop signal ends the server, as a shell reports it: kill (TERM) is the normal stop
STOP_SIGNALS = {signal.SIGINT: Exit.INTERRUPTED, signal.SIGHUP: Exit.HANGUP, signal.SIGTERM: Exit.OK}


async def _serve(args: argparse.Namespace, objects: list[dict]) -> int:
    from .session import running_demo

    stop = asyncio.Event()
    stopped_by: list[signal.Signals] = []
    loop = asyncio.get_running_loop()
    # Ctrl-C, kill, and a closed terminal all stop it the same way: the files go (the
    # kubeconfig holds a bearer token, the ssh directory a private key)
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, lambda signum=signum: (stopped_by.append(signum), stop.set()))
    path = args.kubeconfig_out or default_kubeconfig_path()
    ssh_dir = ssh_directory_for(path)
    try:
        async with running_demo(objects, path, ssh_directory=ssh_dir, tls=not args.plain_http,
                                port=args.port) as demo:
            _announce(demo, path)
            await stop.wait()
    finally:
        for name in ("ssh_config", "known_hosts", "id_ed25519"):
            with contextlib.suppress(OSError):
                (ssh_dir / name).unlink()
        with contextlib.suppress(OSError):
            ssh_dir.rmdir()
        if args.kubeconfig_out is None:
            with contextlib.suppress(OSError):
                path.unlink()
            if path.parent.name.startswith("kataview-demo-"):  # our mkdtemp
                with contextlib.suppress(OSError):
                    path.parent.rmdir()
    return STOP_SIGNALS[stopped_by[0]] if stopped_by else Exit.OK


def _announce(demo: RunningDemo, path: Path) -> None:
    store, node = demo.api.store, demo.ssh_node
    print(f"kataview demo API server at {demo.api.url} ({store.count('Node')} nodes, "
          f"{store.count('Pod')} pods)")
    print(f"kubeconfig: {path}")
    print(f"  export KUBECONFIG={path}")
    print(f"ssh config: {demo.ssh_config}")
    print(f"  every node's SSH is 127.0.0.1:{node.port} (Host blocks by node name, known_hosts "
          f"and key beside it)")
    print(f"  kataview --kubeconfig {path} --ssh-config {demo.ssh_config} vm NAMESPACE/POD")
    print("Ctrl-C to stop.", flush=True)


if __name__ == "__main__":
    sys.exit(serve_main())
