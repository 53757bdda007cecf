"""Read Kata's persist.json (``/run/vc/sbs/<sandbox id>/persist.json``).

The Go runtime (virtcontainers) writes ``persistapi.SandboxState`` there as JSON with Go
field names: ``SandboxContainer``, ``State``, ``HypervisorState`` (``Pid``, ``Type``,
``VirtiofsDaemonPid``, ``HotpluggedVCPUs``, ``HotpluggedMemory``, ``APISocket``, ``UUID``)
and ``Config`` (``HypervisorType``, ``HypervisorConfig`` with ``NumVCPUs`` (newer:
``NumVCPUsF``), ``DefaultMaxVCPUs``, ``MemorySize`` in MiB, ``SharedFS``, asset paths...).
Only what is present is reported; a missing or zero field is ``None``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kataview.hosts.hypervisor import HypervisorKind, SharedFs

# Config.HypervisorType values (virtcontainers HypervisorType) -> our kind.
_KINDS: dict[str, HypervisorKind] = {
    "qemu": "qemu",
    "clh": "cloud-hypervisor",
    "cloud-hypervisor": "cloud-hypervisor",
    "firecracker": "firecracker",
    "dragonball": "dragonball",
}
# HypervisorConfig.SharedFS values -> our shared fs names (nydus rides on virtio-fs).
_SHARED_FS: dict[str, SharedFs] = {
    "virtio-fs": "virtio-fs",
    "virtio-fs-nydus": "virtio-fs",
    "inline-virtio-fs": "virtio-fs",
    "virtio-9p": "9p",
    "none": "none",
}


@dataclass(frozen=True, slots=True)
class PersistState:
    sandbox_id: str | None = None
    state: str | None = None
    hypervisor_type: str | None = None  # as written, e.g. 'clh'
    kind: HypervisorKind | None = None
    hypervisor_pid: int | None = None
    virtiofsd_pid: int | None = None
    hypervisor_path: str | None = None
    memory_mib: int | None = None  # boot memory
    hotplugged_memory_mib: int | None = None
    vcpus: float | None = None  # boot vCPUs (fractional in newer runtimes: NumVCPUsF)
    max_vcpus: int | None = None
    hotplugged_vcpus: int | None = None
    shared_fs: SharedFs | None = None
    shared_fs_raw: str | None = None
    kernel: str | None = None
    image: str | None = None
    initrd: str | None = None
    machine_type: str | None = None
    api_socket: str | None = None
    uuid: str | None = None
    problems: tuple[str, ...] = ()


def parse_persist(text: str | bytes) -> PersistState:
    """Parse persist.json. Never raises: unreadable input gives an empty record with problems."""
    try:
        document = json.loads(text)
    except (ValueError, TypeError) as error:
        return PersistState(problems=(f"not JSON: {error}",))
    if not isinstance(document, dict):
        return PersistState(problems=("persist.json is not a JSON object",))
    hv_state = _object(document, "HypervisorState")
    config = _object(document, "Config")
    hv_config = _object(config, "HypervisorConfig")
    hv_type = _text(config, "HypervisorType") or _text(hv_state, "Type")
    shared_raw = _text(hv_config, "SharedFS")
    hotplugged = hv_state.get("HotpluggedVCPUs")
    return PersistState(
        sandbox_id=_text(document, "SandboxContainer"),
        state=_text(document, "State"),
        hypervisor_type=hv_type,
        kind=_KINDS.get(hv_type or ""),
        hypervisor_pid=_positive(hv_state, "Pid"),
        virtiofsd_pid=_positive(hv_state, "VirtiofsDaemonPid"),
        hypervisor_path=_text(hv_config, "HypervisorPath"),
        memory_mib=_positive(hv_config, "MemorySize"),
        hotplugged_memory_mib=_positive(hv_state, "HotpluggedMemory"),
        vcpus=_vcpus(hv_config),
        max_vcpus=_positive(hv_config, "DefaultMaxVCPUs"),
        hotplugged_vcpus=len(hotplugged) if isinstance(hotplugged, list) else None,
        shared_fs=_SHARED_FS.get(shared_raw or "", "unknown") if shared_raw else None,
        shared_fs_raw=shared_raw,
        kernel=_text(hv_config, "KernelPath"),
        image=_text(hv_config, "ImagePath"),
        initrd=_text(hv_config, "InitrdPath"),
        machine_type=_text(hv_config, "HypervisorMachineType"),
        api_socket=_text(hv_state, "APISocket"),
        uuid=_text(hv_state, "UUID"),
    )


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _text(parent: dict[str, Any], key: str) -> str | None:
    value = parent.get(key)
    return value if isinstance(value, str) and value else None


def _positive(parent: dict[str, Any], key: str) -> int | None:
    # Go writes zero values for unset numbers: 0 means "not known", never "zero".
    value = parent.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _vcpus(hv_config: dict[str, Any]) -> float | None:
    for key in ("NumVCPUsF", "NumVCPUs"):
        value = hv_config.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None
