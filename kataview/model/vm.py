"""Frozen records for one pod's VM, as gathered over SSH from its node.

Rule of the records: a fact the node did not show is ``None``; nothing is filled in from
defaults. ``sources`` says where each fact came from (``cmdline``, ``persist``, ``ps``,
``proc``, ``metrics``, ``cluster``) so the UI can mark inferred or missing values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

# How the sandbox id was found, best first.
FOUND_BY = ("crictl", "ctr", "process-uid", "only-sandbox")


@dataclass(frozen=True, slots=True)
class Sandbox:
    """The pod's sandbox on its node."""

    id: str
    pod_namespace: str
    pod_name: str
    pod_uid: str = ""
    found_by: str = "crictl"  # one of FOUND_BY
    state: str | None = None  # crictl: SANDBOX_READY / SANDBOX_NOTREADY
    runtime_handler: str | None = None
    created_ns: int | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GuestMetrics:
    """What the shim's monitor socket (``/metrics``) says about the guest."""

    mem_total_bytes: int | None = None
    mem_free_bytes: int | None = None
    mem_available_bytes: int | None = None
    load1: float | None = None
    load5: float | None = None
    load15: float | None = None
    hypervisor_threads: int | None = None
    hypervisor_fds: int | None = None
    shim_threads: int | None = None
    shim_fds: int | None = None
    socket: str = ""  # the socket that answered


@dataclass(frozen=True, slots=True)
class VMSummary:
    """One Kata VM on a node, as one ``ps`` shows it (``list_vms``)."""

    node: str
    sandbox_id: str | None
    kind: str | None  # qemu, cloud-hypervisor, firecracker, dragonball
    pid: int
    binary: str | None = None
    vcpus_boot: int | None = None
    vcpus_max: int | None = None
    memory_mib: int | None = None
    memory_max_mib: int | None = None
    host_rss_kib: int | None = None
    host_cpu_percent: float | None = None  # lifetime average (ps %CPU)
    uptime_seconds: int | None = None
    shim_pid: int | None = None
    sandbox_id_truncated: bool = False  # Firecracker: Kata cut the id to 32 characters


@dataclass(frozen=True, slots=True)
class VMDetail:
    """Everything kataview shows about one pod's VM."""

    node: str
    address: str
    sandbox: Sandbox
    kind: str | None  # qemu, cloud-hypervisor, firecracker, dragonball
    pid: int | None  # the VMM process (the shim's PID for Dragonball)
    binary: str | None = None
    uptime_seconds: int | None = None
    vcpus_boot: float | None = None
    vcpus_max: int | None = None
    memory_mib: int | None = None  # boot memory
    memory_max_mib: int | None = None
    memory_slots: int | None = None
    hotplugged_vcpus: int | None = None
    hotplugged_memory_mib: int | None = None
    kernel: str | None = None
    image: str | None = None  # rootfs image (nvdimm / virtio-pmem)
    initrd: str | None = None
    shared_fs: str | None = None  # virtio-fs, 9p, none, unknown
    machine: str | None = None
    host_rss_kib: int | None = None
    host_cpu_percent: float | None = None  # lifetime average (ps %CPU)
    host_cpu_recent_percent: float | None = None  # between two fetches of the same VM
    host_cpu_seconds: float | None = None  # utime + stime of the VMM
    threads: int | None = None
    shim_pid: int | None = None
    virtiofsd_pids: tuple[int, ...] = ()
    # the pod's overhead (spec.overhead, else its RuntimeClass) next to the measured cost
    overhead_cpu_millis: int | None = None
    overhead_memory_bytes: int | None = None
    overhead_source: str | None = None  # "pod" or "runtimeclass/<name>"
    guest: GuestMetrics | None = None
    guest_error: str | None = None  # why guest metrics are missing
    qmp: str = "not used: the Kata runtime holds the QMP socket; kataview never opens it"
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    elapsed_ms: float | None = None

    @property
    def host_rss_mib(self) -> float | None:
        return None if self.host_rss_kib is None else self.host_rss_kib / 1024

    @property
    def overhead_memory_mib(self) -> float | None:
        if self.overhead_memory_bytes is None:
            return None
        return self.overhead_memory_bytes / (1024 * 1024)


VM_API_VERSION = "kataview.vm/v2"  # v2: the report's key style (v1 had the field names as they are)
VM_KIND = "VMDetail"


def camel(name: str) -> str:
    """`host_rss_kib` -> `hostRssKib`, the report's (and Kubernetes') key style; `kind` is the
    document's kind, so the hypervisor's kind is `hypervisor`."""
    if name == "kind":
        return "hypervisor"
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel(key): camel_keys(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [camel_keys(item) for item in value]
    return value


def vm_detail_json(detail: VMDetail) -> dict[str, Any]:
    """A JSON-ready dict of a VMDetail (the ``kataview vm --json`` shape): apiVersion, kind,
    then every field in camelCase; ``sources`` names the facts by their keys here."""
    data = asdict(detail)
    data["sources"] = dict(detail.sources)
    data["host_rss_mib"] = detail.host_rss_mib
    return {"apiVersion": VM_API_VERSION, "kind": VM_KIND, **camel_keys(data)}


def uptime_text(seconds: int | None) -> str:
    """A VM's uptime for people: "45s", "12m 3s", "7h 5m", "1d 2h"; "?" when unknown."""
    if seconds is None:
        return "?"
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def mib_text(value: float | None, unknown: str = "?") -> str:
    """A MiB figure as the VM panel and `kataview vm` show it ("1,024 MiB"); `unknown` when None."""
    return unknown if value is None else f"{value:,.0f} MiB"


def number_text(value: float | int | None, unknown: str = "?") -> str:
    """A count or load as shown: "4", "0.35"; `unknown` when None."""
    if value is None:
        return unknown
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
