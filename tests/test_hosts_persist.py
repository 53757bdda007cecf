"""kataview.hosts.persist on persist.json samples shaped like virtcontainers' SandboxState.

No persist.json is in the corpus; the samples below follow the Go structs
(persist/api/sandbox.go, config.go, hypervisor.go): Go field names, zero values for unset.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from kataview.hosts.persist import parse_persist

SID = "3f219f48134f8da7b5faa009eccaafd50eef417c5e2d6ea4ed0f86c7ddacefaf"

QEMU_PERSIST = {
    "PersistVersion": 2,
    "State": "running",
    "GuestMemoryBlockSizeMB": 128,
    "GuestMemoryHotplugProbe": False,
    "SandboxContainer": SID,
    "SandboxCgroupPath": f"/kubepods/besteffort/pod1/{SID}",
    "OverheadCgroupPath": "",
    "HypervisorState": {
        "BlockIndexMap": {},
        "Type": "",
        "UUID": "de67ce82-f347-4ec3-aafb-90a16666e57b",
        "APISocket": "",
        "Bridges": [{"DeviceAddr": {}, "Type": "pcie", "ID": "pci-bridge-0", "Addr": 2}],
        "HotpluggedVCPUs": [{"ID": "cpu-0"}, {"ID": "cpu-1"}],
        "HotpluggedMemory": 512,
        "VirtiofsDaemonPid": 28342,
        "Pid": 28348,
        "PCIeRootPort": 10,
    },
    "AgentState": {"URL": "vsock://3257660399:1024"},
    "Config": {
        "HypervisorType": "qemu",
        "HypervisorConfig": {
            "NumVCPUsF": 1.5,
            "DefaultMaxVCPUs": 224,
            "MemorySize": 10240,
            "KernelPath": "/opt/kata/share/kata-containers/vmlinux-6.12.47-166-nvidia-gpu",
            "ImagePath": "",
            "InitrdPath": "/opt/kata/share/kata-containers/kata-ubuntu-noble-nvidia-gpu.initrd",
            "HypervisorPath": "/opt/kata/bin/qemu-system-x86_64",
            "HypervisorMachineType": "q35",
            "SharedFS": "virtio-fs",
            "VirtioFSDaemon": "/opt/kata/libexec/virtiofsd",
        },
        "ContainerConfigs": [],
    },
}


def test_qemu_sandbox():
    state = parse_persist(json.dumps(QEMU_PERSIST))
    assert (state.sandbox_id, state.state, state.kind) == (SID, "running", "qemu")
    assert (state.hypervisor_pid, state.virtiofsd_pid) == (28348, 28342)
    assert (state.memory_mib, state.hotplugged_memory_mib) == (10240, 512)
    assert (state.vcpus, state.max_vcpus, state.hotplugged_vcpus) == (1.5, 224, 2)
    assert (state.shared_fs, state.machine_type) == ("virtio-fs", "q35")
    assert state.image is None and state.initrd.endswith(".initrd")
    assert state.problems == ()


def test_older_clh_sandbox_with_zero_values():
    document = {
        "SandboxContainer": SID,
        "State": "ready",
        "HypervisorState": {"Pid": 0, "APISocket": f"/run/vc/vm/{SID}/clh-api.sock",
                            "HotpluggedVCPUs": None, "HotpluggedMemory": 0},
        "Config": {"HypervisorType": "clh",
                   "HypervisorConfig": {"NumVCPUs": 1, "MemorySize": 2048, "SharedFS": "virtio-fs-nydus"}},
    }
    state = parse_persist(json.dumps(document).encode())
    assert state.kind == "cloud-hypervisor" and state.hypervisor_type == "clh"
    assert state.hypervisor_pid is None  # Go's zero value: unknown, not pid 0
    assert state.hotplugged_vcpus is None and state.hotplugged_memory_mib is None
    assert (state.vcpus, state.memory_mib) == (1.0, 2048)
    assert (state.shared_fs, state.shared_fs_raw) == ("virtio-fs", "virtio-fs-nydus")
    assert state.api_socket.endswith("clh-api.sock")


def test_unknown_values_are_kept_raw():
    state = parse_persist(json.dumps({"Config": {"HypervisorType": "stratovirt",
                                                 "HypervisorConfig": {"SharedFS": "virtio-9p"}}}))
    assert (state.kind, state.hypervisor_type, state.shared_fs) == (None, "stratovirt", "9p")


def test_broken_input_gives_problems_not_exceptions():
    assert parse_persist("{").problems
    assert parse_persist("[1, 2]").problems
    assert parse_persist(json.dumps({"HypervisorState": "x", "Config": 3})).sandbox_id is None


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda children: st.lists(children) | st.dictionaries(st.sampled_from(
                        ["Config", "HypervisorConfig", "HypervisorState", "Pid", "NumVCPUsF",
                         "MemorySize", "SharedFS", "HotpluggedVCPUs", "State"]), children),
                    max_leaves=20))
def test_any_json_never_raises(document):
    parse_persist(json.dumps(document))
