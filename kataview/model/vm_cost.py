"""What a pod's sandbox costs, as the cluster declares it: the RuntimeClass overhead (or the
pod's spec.overhead, which admission copies from it), the hypervisor its handler names, and
totals over a group of pods. Pure; the VM's own figures, when gathered over SSH, come from
model.vm (VMSummary / VMDetail) and are shown beside these, never mixed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from kataview.model.quantity import cpu_millis, format_bytes, format_millis, memory_bytes
from kataview.model.records import Pod, RuntimeClass

# Kata handler names as the Kata deployment installs them (kata-deploy: kata-qemu,
# kata-clh, kata-fc, kata-dragonball, kata-stratovirt and the qemu variants *-tdx, *-snp...)
HANDLER_HYPERVISORS = (("kata-qemu", "qemu"), ("kata-clh", "cloud-hypervisor"), ("kata-fc", "firecracker"),
                       ("kata-dragonball", "dragonball"), ("kata-stratovirt", "stratovirt"))
# a plain `kata` handler runs Kata's default configuration.toml, QEMU unless changed: inferred
DEFAULT_KATA_HYPERVISOR = "qemu"
INFERRED_MARK = "~"


@dataclass(frozen=True, slots=True)
class VMCost:
    """One pod's declared sandbox overhead; source "pod" (spec.overhead) or
    "runtimeclass/NAME"; all None when nothing is declared."""

    cpu_millis: int | None = None
    memory_bytes: int | None = None
    source: str | None = None


NO_COST = VMCost()
_PARSED: dict[tuple, VMCost] = {}  # spec.overhead as written -> cost (few distinct values)


def class_cost(rc: RuntimeClass | None) -> VMCost:
    if rc is None or (rc.overhead_cpu_millis is None and rc.overhead_memory_bytes is None):
        return NO_COST
    return VMCost(rc.overhead_cpu_millis, rc.overhead_memory_bytes, f"runtimeclass/{rc.name}")


def pod_cost(pod: Pod, of_class: VMCost) -> VMCost:
    """spec.overhead when admission set it, else the RuntimeClass's."""
    if not pod.overhead:
        return of_class
    key = tuple(sorted(pod.overhead.items()))
    cost = _PARSED.get(key)
    if cost is None:
        if len(_PARSED) > 1024:
            _PARSED.clear()
        cost = _PARSED[key] = VMCost(cpu_millis(pod.overhead.get("cpu")), memory_bytes(pod.overhead.get("memory")),
                                     "pod")
    return cost


def hypervisor(handler: str | None, family: str) -> str:
    """The VMM a handler names: `cloud-hypervisor` for kata-clh; `qemu ~` (inferred) for a
    plain kata handler; `gvisor` (no VM: a user-space kernel) for runsc; "" for runc."""
    if family == "gvisor":
        return "gvisor"
    if family != "kata":
        return ""
    for prefix, name in HANDLER_HYPERVISORS:
        if handler and handler.startswith(prefix):
            return name
    return f"{DEFAULT_KATA_HYPERVISOR} {INFERRED_MARK}"


def holds_sandbox(pod: Pod) -> bool:
    """Scheduled and not finished: its overhead is charged to a node."""
    return bool(pod.node_name) and not pod.finished


@dataclass(frozen=True, slots=True)
class VMTotals:
    """Declared overhead summed over the pods that hold a sandbox."""

    sandboxes: int = 0
    cpu_millis: int = 0
    memory_bytes: int = 0
    undeclared: int = 0  # sandboxes without any overhead declared

    def plus(self, other: VMTotals, sign: int = 1) -> VMTotals:
        return VMTotals(self.sandboxes + sign * other.sandboxes, self.cpu_millis + sign * other.cpu_millis,
                        self.memory_bytes + sign * other.memory_bytes, self.undeclared + sign * other.undeclared)


NO_TOTALS = VMTotals()


def totals_of(items: Iterable[tuple[Pod, VMCost]]) -> VMTotals:
    count = cpu = memory = undeclared = 0
    for pod, cost in items:
        if not holds_sandbox(pod):
            continue
        count += 1
        if cost.source is None:
            undeclared += 1
        cpu += cost.cpu_millis or 0
        memory += cost.memory_bytes or 0
    return VMTotals(count, cpu, memory, undeclared)


def totals_text(summed: VMTotals, noun: str = "VM") -> str:
    """"3 VMs: overhead 750m CPU, 480Mi" (+ "; 1 declares none")."""
    if not summed.sandboxes:
        return ""
    plural = "es" if noun.endswith("x") else "s"
    text = f"{summed.sandboxes:,} {noun}{plural if summed.sandboxes != 1 else ''}"
    if summed.sandboxes > summed.undeclared:
        text += f": overhead {format_millis(summed.cpu_millis)} CPU, {format_bytes(summed.memory_bytes)}"
    if summed.undeclared:
        text += f"; {summed.undeclared:,} declare{'s' if summed.undeclared == 1 else ''} no overhead"
    return text


@dataclass(frozen=True, slots=True)
class VMSeen:
    """A pod's VM as last gathered over SSH (the node detail's list or the pod's VM panel)."""

    kind: str | None
    vcpus: float | None
    memory_mib: int | None
    host_rss_kib: int | None


def seen_vm(vm) -> VMSeen:
    """From a VMDetail or a VMSummary (model.vm): both carry these four facts."""
    return VMSeen(vm.kind, vm.vcpus_boot, vm.memory_mib, vm.host_rss_kib)


def vcpu_text(cost: VMCost, seen: VMSeen | None) -> str:
    """The VM's boot vCPUs when gathered ("1"), else the declared overhead CPU ("250m")."""
    if seen is not None and seen.vcpus is not None:
        return f"{seen.vcpus:g}"
    return format_millis(cost.cpu_millis) if cost.cpu_millis is not None else "-"


def memory_text(cost: VMCost, seen: VMSeen | None) -> str:
    """When gathered: the VM's memory and the host RSS of its VMM ("2048Mi rss 259Mi");
    else the declared overhead memory ("160Mi")."""
    if seen is not None and (seen.memory_mib is not None or seen.host_rss_kib is not None):
        vm = "?" if seen.memory_mib is None else f"{seen.memory_mib}Mi"
        rss = "?" if seen.host_rss_kib is None else f"{seen.host_rss_kib // 1024}Mi"
        return f"{vm} rss {rss}"
    return format_bytes(cost.memory_bytes) if cost.memory_bytes is not None else "-"
