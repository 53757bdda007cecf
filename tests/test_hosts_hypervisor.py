"""kataview.hosts.hypervisor on forms the corpus does not cover."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kataview.hosts.hypervisor import (
    cmdline_from_kata_log,
    parse_cmdline,
    vmm_in_shim,
)
from kataview.hosts.qemu_args import split_qemu_opts

SID = "3871d0c8108c66d3388f883f0d4de0cdf3e724607a06bce653fc13a988cd1985"
QEMU_TAIL = f"-kernel /k -append console=hvc0 nr_cpus=4 -pidfile /run/vc/vm/{SID}/pid"


@pytest.mark.parametrize(
    ("memory", "mib", "maxmem"),
    [
        ("2048M,slots=10,maxmem=8773M", 2048, 8773),
        ("2G,maxmem=4G", 2048, 4096),
        ("2048", 2048, None),
        ("size=1024M,slots=2,maxmem=3G", 1024, 3072),
        ("size=1.5G", 1536, None),
        ("2097152k", 2048, None),
    ],
)
def test_memory_forms(memory: str, mib: int, maxmem: int | None):
    parsed = parse_cmdline(f"qemu-system-x86_64 -name sandbox-{SID} -m {memory} {QEMU_TAIL}")
    assert (parsed.memory_mib, parsed.maxmem_mib) == (mib, maxmem)


def test_memory_that_is_not_whole_mib_is_unknown_not_rounded():
    parsed = parse_cmdline(f"qemu-kvm -m 1000k {QEMU_TAIL}")
    assert parsed.memory_mib is None
    assert any("whole number" in note for note in parsed.notes)


@pytest.mark.parametrize(
    ("smp", "boot", "maximum"),
    [
        ("1,cores=1,threads=1,sockets=8,maxcpus=8", 1, 8),
        ("cpus=2,maxcpus=4", 2, 4),
        ("4", 4, 4),  # QEMU: maxcpus defaults to cpus
        ("sockets=2,maxcpus=4", None, 4),
    ],
)
def test_smp_forms(smp: str, boot: int | None, maximum: int | None):
    parsed = parse_cmdline(f"qemu-system-aarch64 -smp {smp} {QEMU_TAIL}")
    assert (parsed.vcpus_boot, parsed.vcpus_max) == (boot, maximum)


def test_machine_type_key_form_and_debug_threads_name():
    parsed = parse_cmdline(
        f"qemu-system-aarch64 -name sandbox-{SID},debug-threads=on -machine type=virt,gic-version=host {QEMU_TAIL}"
    )
    assert parsed.machine == "virt"
    assert parsed.sandbox_id == SID
    assert parsed.vm_dir == f"/run/vc/vm/{SID}"


def test_qemu_without_kernel_is_treated_as_incomplete():
    parsed = parse_cmdline(f"/usr/libexec/qemu-kiwi -name sandbox-{SID}")
    assert parsed.truncated is True
    assert parsed.shared_fs == "unknown"  # never "none" from half a command line
    assert parsed.daemonize is None


def test_placeholder_id_is_not_reported_as_an_id():
    parsed = parse_cmdline(f"qemu-system-x86_64 -name sandbox-<ctr-id> {QEMU_TAIL}")
    assert parsed.sandbox_id is None
    assert any("placeholder" in note for note in parsed.notes)


def test_escaped_comma_in_qemu_options():
    assert split_qemu_opts("memory-backend-file,id=mem0,mem-path=/a,,b") == [
        "memory-backend-file", "id=mem0", "mem-path=/a,b",
    ]


@pytest.mark.parametrize(
    "api", [f"/run/vc/vm/{SID}/clh-api.sock", f"path=/run/vc/vm/{SID}/clh-api.sock"]
)
def test_cloud_hypervisor_api_socket_forms(api: str):
    parsed = parse_cmdline(["/usr/bin/cloud-hypervisor", "--api-socket", api])
    assert parsed.kind == "cloud-hypervisor"
    assert parsed.sandbox_id == SID
    assert parsed.api_socket == f"/run/vc/vm/{SID}/clh-api.sock"
    assert parsed.shared_fs == "unknown" and parsed.memory_mib is None


def test_cloud_hypervisor_api_socket_fd_has_no_path_and_no_id():
    parsed = parse_cmdline("/opt/kata/bin/cloud-hypervisor --api-socket fd=3")
    assert (parsed.api_socket, parsed.sandbox_id) == (None, None)


def test_firecracker_under_jailer():
    short = SID[:32]
    parsed = parse_cmdline(
        f"/opt/kata/bin/jailer --id {short} --exec-file /opt/kata/bin/firecracker --uid 0 "
        f"--gid 0 --chroot-base-dir /run/vc/firecracker -- --api-sock /run/firecracker.socket"
    )
    assert (parsed.kind, parsed.jailer, parsed.sandbox_id) == ("firecracker", True, short)
    assert parsed.sandbox_id_truncated is True


def test_kata_shim_is_recognised_and_dragonball_needs_discovery():
    shim = parse_cmdline(
        "/opt/kata/runtime-rs/bin/containerd-shim-kata-v2 -namespace k8s.io "
        f"-address /run/containerd/containerd.sock -publish-binary /usr/bin/containerd -id {SID}"
    )
    assert shim.is_kata_shim and shim.sandbox_id == SID
    assert shim.kind is None  # the command line alone cannot tell Dragonball from a QEMU shim
    assert vmm_in_shim(shim, separate_vmm_found=True).kind is None
    dragonball = vmm_in_shim(shim, separate_vmm_found=False)
    assert dragonball.kind == "dragonball"
    assert any("inside the shim" in note for note in dragonball.notes)


def test_unknown_program_and_empty_input():
    assert parse_cmdline("/usr/bin/runc --root /run/runc").kind is None
    assert parse_cmdline("").kind is None
    assert parse_cmdline([]).binary is None


def test_kata_log_line_complete_and_cut():
    line = f'level=info msg="launching /usr/bin/qemu-system-x86_64 with: [-name sandbox-{SID} -m 2048M]" source=virtcontainers'
    assert cmdline_from_kata_log(line) == (f"/usr/bin/qemu-system-x86_64 -name sandbox-{SID} -m 2048M", False)
    assert cmdline_from_kata_log(line[:80])[1] is True
    assert cmdline_from_kata_log("level=info msg=\"nothing here\"") is None


@given(st.one_of(st.text(), st.lists(st.text(), max_size=12)))
def test_garbage_never_raises(argv):
    parse_cmdline(argv)
    parse_cmdline(["qemu-system-x86_64", *([argv] if isinstance(argv, str) else argv)], truncated=True)
