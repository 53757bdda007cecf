"""The VM panel's data: one pod's VM detail, and every Kata VM on a node.

    pool = SSHPool(SSHOptions.from_settings(settings))
    gatherer = VMDetailGatherer(pool)
    detail = await gatherer.fetch(pod, node, snapshot)     # VMDetail, or a NodeError
    vms = await gatherer.list_vms(node)                    # [VMSummary]

Round trips on a warm connection: (1) ``ps`` + ``crictl pods`` + ``ctr c info``;
(2) ``/proc/<pid>/{cmdline,status,stat}`` + persist.json, while the shim's monitor socket
is asked for ``/metrics`` (short timeout) on a direct unix-socket channel.

QMP is never used: the Kata runtime holds the primary QMP socket, and a second client waits
until the first leaves (and would hold up the runtime while it is there).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import replace

from kataview.hosts import commands as cmd
from kataview.hosts.discovery import (Placement, ProcessTable, discovery_commands,
                                      first_container_id, locate, sandbox_from_crictl,
                                      sandbox_from_ctr, sandbox_from_processes, summaries)
from kataview.hosts.errors import NodeError, SandboxNotFound, VMGone
from kataview.hosts.hypervisor import parse_cmdline
from kataview.hosts.metrics import parse_metrics
from kataview.hosts.persist import PersistState, parse_persist
from kataview.hosts.ssh import NodeConnection, SSHPool
from kataview.model.quantity import cpu_millis, memory_bytes
from kataview.model.records import ClusterSnapshot, Node, Pod
from kataview.model.vm import GuestMetrics, Sandbox, VMDetail, VMSummary

CLOCK_TICKS = 100  # USER_HZ on every Linux architecture Kata runs on
CRICTL_MISSING = ("not found", "No such file")


async def find_sandbox(conn: NodeConnection, pod: Pod) -> tuple[Sandbox, ProcessTable]:
    """Round trip 1: the pod's sandbox id and the node's process table."""
    commands, root = discovery_commands(pod)
    results = await conn.run(commands, root)
    if not results or results[0].exit_code != 0:
        raise NodeError(conn.node, f"ps failed on {conn.node}: {_first_line(results, 0)}")
    table = ProcessTable.parse(results[0].stdout)
    crictl = results[1] if len(results) > 1 else None
    if crictl is not None and crictl.exit_code == 0:
        sandbox = sandbox_from_crictl(crictl.stdout, pod)
        if sandbox is not None:
            return sandbox, table
    why = _crictl_problem(crictl, pod)
    container_id = first_container_id(pod)
    if container_id:
        [ctr] = await conn.run([cmd.CtrContainerInfo(container_id)], True)
        sandbox = sandbox_from_ctr(ctr.stdout, pod) if ctr.exit_code == 0 else None
        if sandbox is not None:
            return _noted(sandbox, why), table
        why += "; ctr knows no sandbox for its containers"
    return sandbox_from_processes(table, pod, conn.node, why), table


def _crictl_problem(result: cmd.CommandResult | None, pod: Pod) -> str:
    if result is None:
        return "crictl was not asked"
    if result.exit_code == 0:
        return f"crictl lists no sandbox for {pod.key}"
    if any(text in result.stderr for text in CRICTL_MISSING) or result.exit_code == 127:
        return "crictl is not installed on the node"
    return f"crictl failed: {result.stderr.strip().splitlines()[-1:] or ['exit ' + str(result.exit_code)]}"


def _noted(sandbox: Sandbox, note: str) -> Sandbox:
    return replace(sandbox, notes=(*sandbox.notes, note))


async def read_facts(conn: NodeConnection, placement: Placement) -> dict:
    """Round trip 2 (plus the monitor socket): raw facts about a located VM."""
    pid = placement.vmm.pid if placement.vmm else None
    commands: list[cmd.Command] = []
    if pid is not None:
        commands += [cmd.ReadFile(f"/proc/{pid}/{name}") for name in ("cmdline", "status", "stat")]
    commands.append(cmd.ReadFile(f"/run/vc/sbs/{placement.sandbox_id}/persist.json"))
    root = [False] * (len(commands) - 1) + [True]
    results, guest = await asyncio.gather(conn.run(commands, root),
                                          guest_metrics(conn, placement.sandbox_id))
    facts: dict = {"guest": guest}
    if pid is not None:
        cmdline, status, stat = results[:3]
        if cmdline.exit_code != 0 or status.exit_code != 0:
            raise VMGone(conn.node, f"the hypervisor (PID {pid}) on {conn.node} exited while "
                                    "kataview was reading it")
        parsed = parse_cmdline(cmdline.stdout)
        if placement.cmdline and parsed.sandbox_id != placement.cmdline.sandbox_id:
            raise VMGone(conn.node, f"PID {pid} on {conn.node} is no longer sandbox "
                                    f"{placement.sandbox_id[:12]}'s hypervisor")
        facts.update(cmdline=parsed, status=_status(status.stdout), cpu_seconds=_cpu(stat.stdout))
    persist = results[-1]
    facts["persist"] = parse_persist(persist.stdout) if persist.exit_code == 0 else None
    return facts


async def guest_metrics(conn: NodeConnection, sandbox_id: str) -> GuestMetrics | str:
    """Guest metrics from the shim's monitor socket, or why there are none."""
    problems = []
    for directory in cmd.MONITOR_SOCKET_DIRS:
        path = cmd.monitor_socket_path(directory, sandbox_id)
        try:
            text = await conn.read_monitor(path)
        except asyncio.TimeoutError:
            problems.append(f"{path}: no answer within {conn.options.monitor_timeout:g}s")
            continue
        except Exception as error:  # channel refused, no such socket, HTTP error
            problems.append(f"{path}: {getattr(error, 'reason', None) or error}")
            continue
        m = parse_metrics(text, sandbox_id)
        return GuestMetrics(m.guest_mem_total_bytes, m.guest_mem_free_bytes,
                            m.guest_mem_available_bytes, m.guest_load1, m.guest_load5,
                            m.guest_load15, m.hypervisor_threads, m.hypervisor_fds,
                            m.shim_threads, m.shim_fds, socket=path)
    return "shim monitor socket did not answer (" + "; ".join(problems) + ")"


def _status(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _cpu(text: str) -> float | None:
    # comm (field 2) may hold spaces and parentheses: split after the last ')'
    rest = text.rpartition(")")[2].split()
    try:
        return (int(rest[11]) + int(rest[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)
    except (IndexError, ValueError):
        return None


def build_detail(node: Node, address: str, sandbox: Sandbox, placement: Placement, facts: dict,
                 pod: Pod, snapshot: ClusterSnapshot | None) -> VMDetail:
    """Assemble the record: the command line wins for sizes, persist.json fills the rest."""
    parsed = facts.get("cmdline") or placement.cmdline
    persist: PersistState = facts.get("persist") or PersistState()
    status, vmm = facts.get("status", {}), placement.vmm
    sources: dict[str, str] = {}

    def pick(name: str, *candidates: tuple[str, object]) -> object:
        for source, value in candidates:
            if value is not None and value != "unknown":
                sources[name] = source
                return value
        return None

    guest = facts.get("guest")
    overhead = pod_overhead(pod, snapshot)
    rss = _kib(status.get("VmRSS")) or (vmm.rss_kib if vmm else None)
    notes = [*placement.notes, *(parsed.notes if parsed else ())]
    if facts.get("persist") is None:
        notes.append(f"no readable /run/vc/sbs/{sandbox.id}/persist.json")
    return VMDetail(
        node=node.name, address=address, sandbox=sandbox,
        kind=pick("kind", ("ps", placement.kind), ("persist", persist.kind)),
        pid=vmm.pid if vmm else None,
        binary=pick("binary", ("cmdline", parsed.binary if parsed else None),
                    ("persist", persist.hypervisor_path)),
        uptime_seconds=vmm.etime_seconds if vmm else None,
        vcpus_boot=pick("vcpus_boot", ("cmdline", parsed and parsed.vcpus_boot), ("persist", persist.vcpus)),
        vcpus_max=pick("vcpus_max", ("cmdline", parsed and parsed.vcpus_max), ("persist", persist.max_vcpus)),
        memory_mib=pick("memory_mib", ("cmdline", parsed and parsed.memory_mib), ("persist", persist.memory_mib)),
        memory_max_mib=pick("memory_max_mib", ("cmdline", parsed and parsed.maxmem_mib)),
        memory_slots=parsed.memory_slots if parsed else None,
        hotplugged_vcpus=persist.hotplugged_vcpus, hotplugged_memory_mib=persist.hotplugged_memory_mib,
        kernel=pick("kernel", ("cmdline", parsed and parsed.kernel), ("persist", persist.kernel)),
        image=pick("image", ("cmdline", parsed and parsed.image), ("persist", persist.image)),
        initrd=pick("initrd", ("cmdline", parsed and parsed.initrd), ("persist", persist.initrd)),
        shared_fs=pick("shared_fs", ("cmdline", parsed and parsed.shared_fs), ("persist", persist.shared_fs))
        or "unknown",
        machine=pick("machine", ("cmdline", parsed and parsed.machine), ("persist", persist.machine_type)),
        host_rss_kib=rss, host_cpu_percent=vmm.cpu_percent if vmm else None,
        host_cpu_seconds=facts.get("cpu_seconds"),
        threads=int(status["Threads"]) if status.get("Threads", "").isdigit() else None,
        shim_pid=placement.shim.pid if placement.shim else None,
        virtiofsd_pids=tuple(p.pid for p in placement.virtiofsd) or
        ((persist.virtiofsd_pid,) if persist.virtiofsd_pid else ()),
        overhead_cpu_millis=overhead[0], overhead_memory_bytes=overhead[1], overhead_source=overhead[2],
        guest=guest if isinstance(guest, GuestMetrics) else None,
        guest_error=guest if isinstance(guest, str) else None,
        sources=sources, notes=tuple(notes),
    )


def _kib(value: str | None) -> int | None:
    if not value:
        return None
    number = value.split()[0]
    return int(number) if number.isdigit() else None


def pod_overhead(pod: Pod, snapshot: ClusterSnapshot | None) -> tuple[int | None, int | None, str | None]:
    """(cpu millis, memory bytes, source): spec.overhead, else the pod's RuntimeClass."""
    if pod.overhead:
        return cpu_millis(pod.overhead.get("cpu")), memory_bytes(pod.overhead.get("memory")), "pod"
    rc = snapshot.runtime_classes.get(pod.runtime_class_name or "") if snapshot else None
    if rc is None:
        return None, None, None
    return rc.overhead_cpu_millis, rc.overhead_memory_bytes, f"runtimeclass/{rc.name}"


class VMDetailGatherer:
    """What the TUI's VM panel calls. One instance per app; it owns nothing but a pool."""

    def __init__(self, pool: SSHPool) -> None:
        self.pool = pool
        self._cpu_samples: dict[tuple[str, int], tuple[float, float]] = {}

    async def fetch(self, pod: Pod, node: Node, snapshot: ClusterSnapshot | None = None) -> VMDetail:
        """The VM detail of ``pod`` on ``node``; raises a NodeError (one-line message)."""
        started = time.perf_counter()
        conn = await self.pool.connection(node)
        sandbox, table = await find_sandbox(conn, pod)
        placement = locate(table, sandbox.id, node.name)
        facts = await read_facts(conn, placement)
        detail = build_detail(node, conn.address, sandbox, placement, facts, pod, snapshot)
        return replace(detail, host_cpu_recent_percent=self._recent_cpu(detail),
                       elapsed_ms=round((time.perf_counter() - started) * 1000, 1))

    def _recent_cpu(self, detail: VMDetail) -> float | None:
        if detail.pid is None or detail.host_cpu_seconds is None:
            return None
        key, now = (detail.node, detail.pid), time.monotonic()
        previous = self._cpu_samples.get(key)
        self._cpu_samples[key] = (now, detail.host_cpu_seconds)
        if previous is None or now - previous[0] < 0.2:
            return None
        return round(100 * (detail.host_cpu_seconds - previous[1]) / (now - previous[0]), 1)

    async def list_vms(self, node: Node) -> list[VMSummary]:
        """Every Kata VM on one node, from one ``ps``."""
        results = await self.pool.run(node, [cmd.Ps()])
        if not results or results[0].exit_code != 0:
            raise NodeError(node.name, f"ps failed on {node.name}: {_first_line(results, 0)}")
        return summaries(ProcessTable.parse(results[0].stdout), node.name)

    async def list_all(self, nodes: Iterable[Node]) -> dict[str, list[VMSummary] | NodeError]:
        """``list_vms`` on many nodes at once; a node's failure is its entry, not an exception."""
        nodes = list(nodes)
        results = await asyncio.gather(*(self.list_vms(n) for n in nodes), return_exceptions=True)
        out: dict[str, list[VMSummary] | NodeError] = {}
        for node, result in zip(nodes, results):
            if isinstance(result, BaseException) and not isinstance(result, NodeError):
                raise result
            out[node.name] = result
        return out


def _first_line(results: list[cmd.CommandResult], index: int) -> str:
    if len(results) <= index:
        return "no output"
    text = results[index].stderr.strip() or f"exit {results[index].exit_code}"
    return text.splitlines()[0]


__all__ = ["VMDetailGatherer", "find_sandbox", "read_facts", "build_detail", "pod_overhead",
           "guest_metrics", "SandboxNotFound"]
