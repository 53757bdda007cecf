"""From a pod to its sandbox to its VM's processes, on the pod's node.

Sandbox id, best source first (1 is asked in one round trip with ``ps``; 2 only when 1
gives no answer, as ctr waits for its connect timeout where containerd is not running):

1. ``crictl pods --name N --namespace NS -o json``: ``--name`` is a regular expression,
   so items are filtered for the exact name and namespace (and the pod UID when known);
   a ready sandbox wins over old not-ready ones.
2. ``ctr -n k8s.io c info <container id>`` of one of the pod's containers: the
   ``io.kubernetes.cri.sandbox-id`` annotation (or label).
3. The node's processes: Kata shims (``-id``), hypervisors and virtiofsd name their
   sandbox. The pod UID is matched if it appears on a command line; otherwise the only
   Kata sandbox on the node is taken (and said so), and several are reported as ambiguous.

Sandbox to VMM: QEMU ``-name sandbox-<id>``; Cloud Hypervisor ``--api-socket
/run/vc/vm/<id>/clh-api.sock``; Firecracker ``/run/vc/firecracker/<id[:32]>/``; with no
separate VMM process but a shim ``-id <id>``, the VMM runs inside the shim (Dragonball).
QEMU is re-parented to PID 1 (``-daemonize``), so it is found by id, not as a child.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kataview.hosts import commands as cmd
from kataview.hosts.errors import SandboxAmbiguous, SandboxNotFound
from kataview.hosts.hypervisor import FIRECRACKER_ID_LIMIT, HypervisorCmdline, parse_cmdline, vmm_in_shim
from kataview.hosts.ps import Process, parse_ps
from kataview.hosts.roles import ProcessRole, classify
from kataview.model.records import Pod
from kataview.model.vm import Sandbox, VMSummary

SANDBOX_ID_ANNOTATION = "io.kubernetes.cri.sandbox-id"


@dataclass(frozen=True)
class ProcessTable:
    """One ``ps`` of a node, each process with its Kata role."""

    processes: tuple[Process, ...]
    roles: dict[int, ProcessRole] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> ProcessTable:
        processes = tuple(p for p in parse_ps(text) if p.stat is None or "Z" not in p.stat)
        return cls(processes, {p.pid: classify(p) for p in processes})

    def with_role(self, role: str) -> list[tuple[Process, ProcessRole]]:
        return [(p, self.roles[p.pid]) for p in self.processes if self.roles[p.pid].role == role]

    def sandbox_ids(self) -> list[str]:
        """Kata sandboxes on the node, from shims and hypervisors, in ps order."""
        ids: list[str] = []
        for process in self.processes:
            role = self.roles[process.pid]
            if role.role in ("shim-v2", "hypervisor") and role.sandbox_id:
                if not any(_same_sandbox(role.sandbox_id, known) for known in ids):
                    ids.append(role.sandbox_id)
        return [_longest(ids, i) for i in ids]


@dataclass(frozen=True)
class Placement:
    """Where a sandbox's VM lives on the node."""

    sandbox_id: str
    kind: str | None
    vmm: Process | None  # the hypervisor process (the shim for Dragonball)
    cmdline: HypervisorCmdline | None
    shim: Process | None
    virtiofsd: tuple[Process, ...]
    notes: tuple[str, ...] = ()


def discovery_commands(pod: Pod) -> tuple[list[cmd.Command], list[bool]]:
    """The first round trip: ps and crictl pods (ctr only if crictl gives no answer)."""
    return [cmd.Ps(), cmd.CrictlPods(pod.name, pod.namespace)], [False, True]


def first_container_id(pod: Pod) -> str | None:
    for container in pod.containers:
        runtime, _, cid = container.container_id.partition("://")
        if runtime == "containerd" and cid:
            try:
                return cmd.object_id(cid)
            except ValueError:
                continue
    return None


def sandbox_from_crictl(text: str, pod: Pod) -> Sandbox | None:
    """The pod's sandbox from ``crictl pods -o json``; None when it is not listed."""
    try:
        items = json.loads(text).get("items") or []
    except (ValueError, AttributeError):
        return None
    matches = [item for item in items if isinstance(item, dict) and _is_pod(item, pod)]
    if not matches:
        return None
    matches.sort(key=lambda i: (i.get("state") == "SANDBOX_READY", int(i.get("createdAt") or 0)))
    best = matches[-1]
    try:
        sandbox_id = cmd.object_id(str(best.get("id", "")))
    except ValueError:
        return None
    notes = (f"{len(matches) - 1} older sandbox(es) of this pod are listed too",) if len(matches) > 1 else ()
    return Sandbox(sandbox_id, pod.namespace, pod.name, pod.uid, "crictl", best.get("state"),
                   best.get("runtimeHandler") or None, int(best.get("createdAt") or 0) or None, notes)


def _is_pod(item: dict, pod: Pod) -> bool:
    meta = item.get("metadata") or {}
    if meta.get("name") != pod.name or meta.get("namespace") != pod.namespace:
        return False
    return not pod.uid or meta.get("uid") in (pod.uid, None, "")


def sandbox_from_ctr(text: str, pod: Pod) -> Sandbox | None:
    """The sandbox id a container carries (``ctr -n k8s.io c info``)."""
    try:
        info = json.loads(text)
    except ValueError:
        return None
    if not isinstance(info, dict):
        return None
    spec = info.get("Spec") if isinstance(info.get("Spec"), dict) else {}
    for source in (spec.get("annotations"), info.get("Labels")):
        value = source.get(SANDBOX_ID_ANNOTATION) if isinstance(source, dict) else None
        if isinstance(value, str):
            try:
                return Sandbox(cmd.object_id(value), pod.namespace, pod.name, pod.uid, "ctr")
            except ValueError:
                return None
    return None


def sandbox_from_processes(table: ProcessTable, pod: Pod, node: str, why: str) -> Sandbox:
    """Last resort: match the pod UID on command lines, else the only Kata sandbox."""
    ids = table.sandbox_ids()
    if pod.uid:
        by_uid = [sid for sid in ids if any(pod.uid in p.command for p, _ in _group(table, sid))]
        if len(by_uid) == 1:
            return Sandbox(by_uid[0], pod.namespace, pod.name, pod.uid, "process-uid",
                           notes=(why, "matched the pod UID on the sandbox's command lines"))
    if len(ids) == 1:
        return Sandbox(ids[0], pod.namespace, pod.name, pod.uid, "only-sandbox",
                       notes=(why, "taken as the only Kata sandbox on the node: the pod UID "
                                   "is not on any Kata command line"))
    if not ids:
        raise SandboxNotFound(node, f"no Kata VM on {node} for {pod.key} ({why}; no Kata shim "
                                    "or hypervisor process runs there)")
    raise SandboxAmbiguous(node, f"{len(ids)} Kata sandboxes run on {node} and none can be tied "
                                 f"to {pod.key} ({why}): {', '.join(i[:12] for i in ids)}",
                           tuple(ids))


def locate(table: ProcessTable, sandbox_id: str, node: str) -> Placement:
    """The VMM, shim and virtiofsd processes of one sandbox."""
    group = _group(table, sandbox_id)
    vmms = [(p, r) for p, r in group if r.role == "hypervisor"]
    shims = [p for p, r in group if r.role == "shim-v2"]
    virtiofsd = tuple(p for p, r in group if r.role == "virtiofsd")
    shim = shims[0] if shims else None
    notes: list[str] = []
    if vmms:
        vmm, role = vmms[0]
        if len(vmms) > 1:
            notes.append(f"{len(vmms)} hypervisor processes for one sandbox; showing PID {vmm.pid}")
        return Placement(sandbox_id, role.kind, vmm, parse_cmdline(vmm.argv), shim, virtiofsd,
                         tuple(notes))
    if shim is not None:
        parsed = vmm_in_shim(parse_cmdline(shim.argv), separate_vmm_found=False)
        return Placement(sandbox_id, "dragonball", shim, parsed, shim, virtiofsd,
                         ("the VMM runs inside the Kata shim (runtime-rs with Dragonball): "
                          "host figures are the shim's",))
    raise SandboxNotFound(node, f"sandbox {sandbox_id[:12]} has no VM on {node}: no hypervisor "
                                "or Kata shim process (runc or gVisor pod, or the VM has exited)")


def _group(table: ProcessTable, sandbox_id: str) -> list[tuple[Process, ProcessRole]]:
    return [(p, table.roles[p.pid]) for p in table.processes if _belongs(table.roles[p.pid], sandbox_id)]


def _belongs(role: ProcessRole, sandbox_id: str) -> bool:
    if role.sandbox_id:
        return _same_sandbox(role.sandbox_id, sandbox_id)
    prefix = role.sandbox_id_prefix  # a pasted line cut at the terminal width
    return bool(prefix) and len(prefix) >= 12 and sandbox_id.startswith(prefix)


def _same_sandbox(seen: str, wanted: str) -> bool:
    """Equal ids, or a Firecracker id Kata cut to 32 characters."""
    if seen == wanted:
        return True
    short, long = sorted((seen, wanted), key=len)
    return len(short) == FIRECRACKER_ID_LIMIT and long.startswith(short)


def _longest(ids: list[str], sandbox_id: str) -> str:
    return max((i for i in ids if _same_sandbox(i, sandbox_id)), key=len)


def summaries(table: ProcessTable, node: str) -> list[VMSummary]:
    """Every Kata VM in one ``ps`` of a node (``list_vms``)."""
    result = []
    for sandbox_id in table.sandbox_ids():
        try:
            placement = locate(table, sandbox_id, node)
        except SandboxNotFound:
            continue
        vmm, parsed = placement.vmm, placement.cmdline
        assert vmm is not None and parsed is not None
        result.append(VMSummary(
            node=node, sandbox_id=sandbox_id, kind=placement.kind, pid=vmm.pid,
            binary=parsed.binary, vcpus_boot=parsed.vcpus_boot, vcpus_max=parsed.vcpus_max,
            memory_mib=parsed.memory_mib, memory_max_mib=parsed.maxmem_mib,
            host_rss_kib=vmm.rss_kib, host_cpu_percent=vmm.cpu_percent,
            uptime_seconds=vmm.etime_seconds,
            shim_pid=placement.shim.pid if placement.shim else None,
            sandbox_id_truncated=parsed.sandbox_id_truncated))
    return result
