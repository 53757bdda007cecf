"""Every Kata VM on a node, in one round trip: ``ps`` plus ``crictl pods`` for each Kata pod
the cluster places on the node, so each VM is shown with its pod (the node detail's list)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from kataview.hosts import commands as cmd
from kataview.hosts.discovery import ProcessTable, sandbox_from_crictl, summaries
from kataview.hosts.errors import NodeError
from kataview.model.vm import VMSummary


@dataclass(frozen=True)
class NodeVM:
    vm: VMSummary
    pod: Any | None  # the Pod whose sandbox this is, when the cluster knows it


async def gather_node_vms(gatherer: Any, node: Any, pods: Iterable[Any]) -> list[NodeVM]:
    """One round trip: ``ps`` and ``crictl pods`` for each of ``pods`` (the node's Kata pods)."""
    asked: list[tuple[Any, Any]] = []
    for pod in pods:
        try:
            asked.append((pod, cmd.CrictlPods(pod.name, pod.namespace)))
        except ValueError:
            continue
    commands = [cmd.Ps(), *(command for _, command in asked)]
    results = await gatherer.pool.run(node, commands, [False] + [True] * len(asked))
    if not results or results[0].exit_code != 0:
        reason = (results[0].stderr.strip().splitlines() or ["no output"])[0] if results else "no output"
        raise NodeError(node.name, f"ps failed on {node.name}: {reason}")
    by_sandbox: dict[str, Any] = {}
    for (pod, _), result in zip(asked, results[1:]):
        sandbox = sandbox_from_crictl(result.stdout, pod) if result.exit_code == 0 else None
        if sandbox is not None:
            by_sandbox[sandbox.id] = pod
    vms = summaries(ProcessTable.parse(results[0].stdout), node.name)
    return [NodeVM(vm, by_sandbox.get(vm.sandbox_id or "")) for vm in vms]
