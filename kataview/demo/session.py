"""The demo cluster's one lifecycle: the API server double, its kubeconfig, the SSH node that
answers for every demo node, and DemoMotion; then all of it stopped, in reverse.

`kataview --demo` (kataview.sources.live.demo_cluster) and `kataview demo --serve` (serve.py) both
run it. Everything listens on 127.0.0.1 only, and the ssh config written maps every node
name to the SSH node there: the scenario's node addresses (192.168.122.x) are never dialed.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

from .apiserver import ApiServerDouble
from .motion import DemoMotion
from .sshnode import DemoSSHNode

DEMO_CONTEXT = "kataview-demo"


@dataclass
class RunningDemo:
    api: ApiServerDouble
    kubeconfig: Path
    ssh_node: DemoSSHNode | None = None
    ssh_config: Path | None = None
    # SSHOptions overrides pointing at the SSH node (client key, known_hosts, ssh config)
    ssh_overrides: dict[str, Any] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def running_demo(objects: list[dict], kubeconfig: Path, *, ssh_directory: Path | None = None,
                       port: int = 0, tls: bool = True, motion: bool = True,
                       context: str = DEMO_CONTEXT) -> AsyncIterator[RunningDemo]:
    """Serve ``objects``; write the kubeconfig and, with ``ssh_directory``, the SSH node's
    client files there (see DemoSSHNode.write_client_files). The caller removes the files."""
    api = ApiServerDouble(objects, tls=tls, port=port)
    demo = RunningDemo(api, kubeconfig)
    mover = None
    try:
        await api.start()
        api.write_kubeconfig(kubeconfig, context=context)
        if ssh_directory is not None:
            demo.ssh_node = DemoSSHNode(api.store.list)
            await demo.ssh_node.start()
            demo.ssh_overrides = demo.ssh_node.write_client_files(ssh_directory)
            demo.ssh_config = Path(demo.ssh_overrides["config_files"][0])
        if motion:
            mover = asyncio.create_task(DemoMotion().run(api.store), name="demo-motion")
        yield demo
    finally:
        if mover is not None:
            mover.cancel()
            await asyncio.gather(mover, return_exceptions=True)
        if demo.ssh_node is not None:
            await demo.ssh_node.stop()
        await api.stop()
