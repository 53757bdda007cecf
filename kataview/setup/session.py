"""The guided setup's backend for one operator session (no UI): the nodes, preflight over
SSH, and the steps for the chosen node, wired to an SSH executor and the cluster.

    session = GuidedSession(pool, transport, read_only=...)   # the screen builds it from Settings
    report = await session.preflight(node)
    guided = await session.start(node, report)                  # Guided: ctx + steps
    for step in guided.steps: ... step.check() / plan() / apply() / undo()
    await guided.undo_all(); await session.close()

The transcript of every action goes to `$XDG_STATE_HOME/kataview/setup/<node>.jsonl`
(appended, so an undo in a later session finds what an earlier one did).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from kataview.hosts.ssh import SSHPool
from kataview.kube.transport import KubeTransport
from kataview.model import xdg
from kataview.model.records import Node
from kataview.setup.guidance import install_guidance
from kataview.setup.preflight import PreflightReport, run_preflight
from kataview.setup.ssh_executor import SSHExecutor
from kataview.setup.steps.base import SetupContext, Step, StepResult
from kataview.setup.steps.kube import IsolateNamespace, SetupFlow
from kataview.setup.steps.smoke import SmokeTest, vm_kernel_probe
from kataview.setup.transcript import Transcript

__all__ = ["Guided", "GuidedSession", "containerd_version_for", "transcript_path"]


def containerd_version_for(node: Node, report: PreflightReport | None) -> str | None:
    """The node's containerd version: what kubelet reports (status.nodeInfo, also right for
    k3s and rke2's embedded containerd), else `containerd --version` from the preflight on a
    plain containerd node (for k3s & co. that command gives the distribution's own version)."""
    name, version = node.container_runtime
    if name is not None:
        return version if name == "containerd" else None
    if report is not None and report.distribution == "containerd" and report.runtime_version:
        return report.runtime_version
    return None


def transcript_path(node: str, state_dir: Path | None = None) -> Path:
    """`$XDG_STATE_HOME/kataview/setup/<node>.jsonl` (kataview.model.xdg), or under `state_dir`."""
    if state_dir is None:
        state_dir = xdg.state_dir(os.environ)
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in node)
    return state_dir / "setup" / f"{safe}.jsonl"


@dataclass
class Guided:
    """The chosen node's context and its steps, in order."""

    ctx: SetupContext
    flow: SetupFlow
    steps: list[Step]
    report: PreflightReport | None = None
    guidance: list[tuple[str, str]] = field(default_factory=list)

    async def undo_all(self) -> list[StepResult]:
        """Undo the smoke test and the NetworkPolicy, then everything SetupFlow did."""
        extra = [step for step in self.steps if step not in self.flow.steps]
        results = [await step.undo() for step in reversed(extra)]
        return results + await self.flow.undo_all()


@dataclass
class GuidedSession:
    pool: SSHPool
    transport: KubeTransport | None
    read_only: bool = False
    state_dir: Path | None = None
    handler: str = "kata"
    runtime_class_name: str | None = None
    restart_command: Sequence[str] | None = None  # None: the one the distribution uses
    cri_socket: str | None = None  # None: the distribution's socket
    config_path: str | None = None  # None: what the preflight found
    restart_timeout: float = 60.0
    smoke_timeout: float = 120.0
    network_policy: bool = True
    clock: Callable[[], Any] | None = None
    owned: list[Any] = field(default_factory=list)  # closed with the session
    executors: list[SSHExecutor] = field(default_factory=list)

    async def preflight(self, node: Node) -> PreflightReport:
        return await run_preflight(self.pool, node)

    async def start(self, node: Node, report: PreflightReport | None = None) -> Guided:
        layout = report.layout if report is not None else None
        restart = tuple(self.restart_command or (layout.restart if layout else ("systemctl", "restart", "containerd")))
        executor = await SSHExecutor.open(self.pool, node, read_only=self.read_only, restart_command=restart)
        self.executors.append(executor)
        socket = self.cri_socket or (layout.socket if layout else "/run/containerd/containerd.sock")
        config = self.config_path or (report.config_path if report and report.config_path else None)
        ctx = SetupContext(
            executor=executor, transcript=Transcript(transcript_path(node.name, self.state_dir), clock=self.clock),
            runtime=layout.runtime if layout else "containerd",
            config_path=config or "/etc/containerd/config.toml", handler=self.handler,
            restart_command=restart, restart_timeout=self.restart_timeout, cri_socket=socket,
            status_source=executor.status_source(socket), node=node.name, transport=self.transport,
            runtime_class_name=self.runtime_class_name, read_only=self.read_only,
            containerd_version=containerd_version_for(node, report))
        flow = SetupFlow(ctx, kubernetes=self.transport is not None)
        steps = list(flow.steps)
        if self.transport is not None:
            steps.append(SmokeTest(ctx, timeout=self.smoke_timeout, probe=vm_kernel_probe(self.pool, node)))
            if self.network_policy:
                steps.append(IsolateNamespace(ctx))
        ctx.transcript.record("session", "start", "ok", f"guided setup of {node.name}",
                              read_only=self.read_only, config=ctx.config_path, restart=list(restart))
        return Guided(ctx, flow, steps, report, install_guidance(report) if report else [])

    async def close(self) -> None:
        for executor in self.executors:
            await executor.close()
        await self.pool.close()
        for item in self.owned:
            await item.close()
