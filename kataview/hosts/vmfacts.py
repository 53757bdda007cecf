"""The VM panel's data: one pod's VM detail, and every Kata VM on a node.

    pool = SSHPool(SSHOptions.from_settings(settings))
    gatherer = VMDetailGatherer(pool)
    detail = await gatherer.fetch(pod, node, snapshot)     # VMDetail, or a NodeError
    vms = await gatherer.list_vms(node)                    # [VMSummary]

Round trips the first time a pod is asked on a connection: (1) ``ps`` + ``crictl pods``
(+ ``ctr c info`` only when crictl has no answer); (2) ``/proc/<pid>/{cmdline,status,stat}``
+ persist.json, while the shim's monitor socket is asked for ``/metrics`` (short timeout) on
a direct unix-socket channel.

After that, on the same connection, one round trip and no ``ps``: the gatherer remembers
where the pod's VM was (the sandbox, found by crictl or ctr, and its VMM, shim and virtiofsd
processes) and reads only ``/proc/<vmm>/{cmdline,status,stat}``, ``/proc/<shim>/stat`` and
persist.json (the monitor socket alongside). The answer is used only if the VMM's command
line still names the sandbox and the VMM and shim have the start times they had (no PID
reuse); uptime and average CPU then follow from the remembered ``ps`` row and the fresh
``stat``. Otherwise, or when the pod's containers changed (a new sandbox), or a new
connection was opened, or the memory is older than ``REDISCOVER_SECONDS``, it falls back to
the full discovery above.

QMP is never used: the Kata runtime holds the primary QMP socket, and a second client waits
until the first leaves (and would hold up the runtime while it is there).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from kataview.hosts import commands as cmd
from kataview.hosts.discovery import (Placement, ProcessTable, discovery_commands,
                                      first_container_id, locate, sandbox_from_crictl,
                                      sandbox_from_ctr, sandbox_from_processes, summaries)
from kataview.hosts.errors import NodeError, SandboxNotFound, VMGone
from kataview.hosts.hypervisor import parse_cmdline
from kataview.hosts.metrics import parse_metrics
from kataview.hosts.persist import PersistState, parse_persist
from kataview.hosts.ps import Process
from kataview.hosts.ssh import NodeConnection, SSHPool
from kataview.model.quantity import cpu_millis, memory_bytes
from kataview.model.records import ClusterSnapshot, Node, Pod
from kataview.model.vm import GuestMetrics, Sandbox, VMDetail, VMSummary

CLOCK_TICKS = 100  # USER_HZ on every Linux architecture Kata runs on
REDISCOVER_SECONDS = 60.0  # ask the runtime (crictl) again at least this often per pod
CRICTL_MISSING = ("not found", "No such file")


async def find_sandbox(conn: NodeConnection, pod: Pod) -> tuple[Sandbox, ProcessTable]:
    """Round trip 1: the pod's sandbox id and the node's process table."""
    try:
        commands, root = discovery_commands(pod)
    except ValueError as error:  # a name no API server accepts: nothing is sent for it
        raise NodeError(conn.node, f"not asking {conn.node} about pod {pod.key!r}: {error}") from None
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


def _shim_apart(placement: Placement) -> Process | None:
    """The shim, when it is not itself the VMM (Dragonball)."""
    shim, vmm = placement.shim, placement.vmm
    return shim if shim is not None and (vmm is None or shim.pid != vmm.pid) else None


def facts_commands(placement: Placement) -> tuple[list[cmd.Command], list[bool]]:
    """The VMM's /proc reads, the shim's stat (its start time) and persist.json, with their
    root flags; persist.json is always last."""
    commands: list[cmd.Command] = []
    if placement.vmm is not None:
        commands += [cmd.ReadFile(f"/proc/{placement.vmm.pid}/{name}") for name in ("cmdline", "status", "stat")]
    shim = _shim_apart(placement)
    if shim is not None:
        commands.append(cmd.ReadFile(f"/proc/{shim.pid}/stat"))
    commands.append(cmd.ReadFile(f"/run/vc/sbs/{placement.sandbox_id}/persist.json"))
    return commands, [False] * (len(commands) - 1) + [True]


def facts_from(conn: NodeConnection, placement: Placement, results: list[cmd.CommandResult],
               guest: GuestMetrics | str) -> dict:
    """Raw facts from the answers to :func:`facts_commands`; VMGone when the VMM went away."""
    pid = placement.vmm.pid if placement.vmm else None
    facts: dict = {"guest": guest}
    index = 0
    if pid is not None:
        cmdline, status, stat = results[:3]
        index = 3
        if cmdline.exit_code != 0 or status.exit_code != 0:
            raise VMGone(conn.node, f"the hypervisor (PID {pid}) on {conn.node} exited while "
                                    "kataview was reading it")
        parsed = parse_cmdline(cmdline.stdout)
        if placement.cmdline and parsed.sandbox_id != placement.cmdline.sandbox_id:
            raise VMGone(conn.node, f"PID {pid} on {conn.node} is no longer sandbox "
                                    f"{placement.sandbox_id[:12]}'s hypervisor")
        facts.update(cmdline=parsed, status=_status(status.stdout), cpu_seconds=_cpu(stat.stdout),
                     start=_start(stat.stdout))
    if _shim_apart(placement) is not None:
        shim = results[index]
        facts["shim_start"] = _start(shim.stdout) if shim.exit_code == 0 else None
    persist = results[-1]
    facts["persist"] = parse_persist(persist.stdout) if persist.exit_code == 0 else None
    return facts


async def read_facts(conn: NodeConnection, placement: Placement) -> dict:
    """Round trip 2 (plus the monitor socket): raw facts about a located VM."""
    commands, root = facts_commands(placement)
    results, guest = await asyncio.gather(conn.run(commands, root),
                                          guest_metrics(conn, placement.sandbox_id))
    return facts_from(conn, placement, results, guest)


@dataclass(frozen=True)
class KnownPlacement:
    """Where one fetch found a pod's VM, to skip discovery next time on this connection."""

    conn: NodeConnection
    identity: tuple  # the pod's uid and container ids: a new sandbox brings new containers
    sandbox: Sandbox
    placement: Placement  # as the discovery's ps showed it
    vmm_start: int | None  # start times (clock ticks after boot, /proc/<pid>/stat field 22)
    shim_start: int | None
    at: float  # time.monotonic() of that ps


def pod_identity(pod: Pod) -> tuple:
    return (pod.uid, tuple(c.container_id for c in pod.containers))


async def refetch_known(conn: NodeConnection, known: KnownPlacement) -> tuple[Placement, dict] | None:
    """One round trip: the known VMM's /proc reads, the shim's stat and persist.json (monitor
    socket alongside). None when the answer does not confirm the known processes."""
    placement = known.placement
    vmm = placement.vmm
    if vmm is None:
        return None
    commands, root = facts_commands(placement)
    results, guest = await asyncio.gather(conn.run(commands, root),
                                          guest_metrics(conn, placement.sandbox_id))
    if len(results) != len(commands):
        return None
    try:
        facts = facts_from(conn, placement, results, guest)
    except VMGone:
        return None
    if facts.get("start") != known.vmm_start or facts.get("shim_start") != known.shim_start:
        return None
    etime = vmm.etime_seconds + int(time.monotonic() - known.at) if vmm.etime_seconds is not None else None
    cpu = facts.get("cpu_seconds")
    now = replace(vmm, etime_seconds=etime,
                  cpu_percent=round(100 * cpu / etime, 1) if cpu is not None and etime else vmm.cpu_percent,
                  rss_kib=_kib(facts.get("status", {}).get("VmRSS")) or vmm.rss_kib)
    return replace(placement, vmm=now, shim=now if placement.shim is vmm else placement.shim), facts


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


def _start(text: str) -> int | None:
    """A process's start time in clock ticks after boot (/proc/<pid>/stat field 22)."""
    rest = text.rpartition(")")[2].split()
    try:
        return int(rest[19])
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
        # (node, pod uid) -> where its VM was last found; the next fetch checks it is still there
        self.known: dict[tuple[str, str], KnownPlacement] = {}

    async def fetch(self, pod: Pod, node: Node, snapshot: ClusterSnapshot | None = None) -> VMDetail:
        """The VM detail of ``pod`` on ``node``; raises a NodeError (one-line message)."""
        started = time.perf_counter()
        conn = await self.pool.connection(node)
        key = (node.name, pod.uid or pod.key)
        known, found = self.known.pop(key, None), None
        if (known is not None and known.conn is conn and known.identity == pod_identity(pod)
                and time.monotonic() - known.at < REDISCOVER_SECONDS):
            found = await refetch_known(conn, known)
        if found is not None:
            sandbox, (placement, facts) = known.sandbox, found
            self.known[key] = known
        else:
            at = time.monotonic()
            sandbox, table = await find_sandbox(conn, pod)
            placement = locate(table, sandbox.id, node.name)
            facts = await read_facts(conn, placement)
            self._remember(key, conn, pod, sandbox, placement, facts, at)
        detail = build_detail(node, conn.address, sandbox, placement, facts, pod, snapshot)
        return replace(detail, host_cpu_recent_percent=self._recent_cpu(detail),
                       elapsed_ms=round((time.perf_counter() - started) * 1000, 1))

    def _remember(self, key: tuple[str, str], conn: NodeConnection, pod: Pod, sandbox: Sandbox,
                  placement: Placement, facts: dict, at: float) -> None:
        """Keep a runtime's answer (crictl, ctr) for the one-round-trip path; a guess from the
        process table (the only sandbox, a UID on a command line) is made again every time."""
        if sandbox.found_by not in ("crictl", "ctr") or placement.vmm is None or facts.get("start") is None:
            return
        self.known[key] = KnownPlacement(conn, pod_identity(pod), sandbox, placement,
                                          facts["start"], facts.get("shim_start"), at)

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


__all__ = ["VMDetailGatherer", "find_sandbox", "read_facts", "refetch_known", "build_detail",
           "pod_overhead", "guest_metrics", "SandboxNotFound"]
