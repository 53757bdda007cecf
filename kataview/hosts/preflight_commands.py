"""Read-only commands the guided setup's preflight sends: what OS, CPU, KVM, runtime and Kata
a node has. Same rules as kataview.hosts.commands: fixed argv, nothing from the cluster in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kataview.hosts.commands import Command

# Where a node's container runtime keeps its config (plain packages, k3s, rke2, k0s, microk8s)
# and where a Kata shim or check tool may be installed. Listed with `ls -1d`, fixed argv.
RUNTIME_CONFIG_PATHS = (
    "/etc/containerd/config.toml",
    "/etc/containerd/conf.d",
    "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
    "/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl",
    "/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl",
    "/var/lib/rancher/rke2/agent/etc/containerd/config.toml",
    "/var/lib/rancher/rke2/agent/etc/containerd/config.toml.tmpl",
    "/etc/k0s/containerd.toml",
    "/etc/k0s/containerd.d",
    "/var/snap/microk8s/current/args/containerd-template.toml",
    "/etc/crio/crio.conf",
    "/etc/crio/crio.conf.d",
)
KATA_PATHS = (
    "/opt/kata/bin/containerd-shim-kata-v2",
    "/usr/bin/containerd-shim-kata-v2",
    "/usr/local/bin/containerd-shim-kata-v2",
    "/opt/kata/bin/kata-runtime",
    "/usr/bin/kata-runtime",
    "/usr/local/bin/kata-runtime",
    "/opt/kata/bin/kata-ctl",
    "/usr/bin/kata-ctl",
    "/usr/local/bin/kata-ctl",
    "/opt/kata/runtime-rs/bin/containerd-shim-kata-v2",
)
VERSION_ARGV = {
    "containerd": ("containerd", "--version"),
    "crio": ("crio", "--version"),
    "k3s": ("k3s", "--version"),
    "rke2": ("rke2", "--version"),
    "k0s": ("k0s", "version"),
    "microk8s": ("snap", "list", "microk8s"),
}
# `kata-runtime check` and `kata-ctl check` only inspect (host checks, no network checks)
KATA_CHECK_ARGV = {
    "kata-runtime": ("kata-runtime", "check", "--no-network-checks"),
    "/opt/kata/bin/kata-runtime": ("/opt/kata/bin/kata-runtime", "check", "--no-network-checks"),
    "kata-ctl": ("kata-ctl", "check", "no-network-checks"),
    "/opt/kata/bin/kata-ctl": ("/opt/kata/bin/kata-ctl", "check", "no-network-checks"),
}


@dataclass(frozen=True, slots=True)
class UnameMachine(Command):
    def argv(self) -> tuple[str, ...]:
        return ("uname", "-m")


@dataclass(frozen=True, slots=True)
class CpuVirtFlags(Command):
    """The first vmx (Intel VT-x) or svm (AMD-V) flag in /proc/cpuinfo; exit 1 when none."""

    def argv(self) -> tuple[str, ...]:
        return ("grep", "-m", "1", "-o", "-w", "-E", "vmx|svm", "/proc/cpuinfo")


@dataclass(frozen=True, slots=True)
class KvmDevice(Command):
    """``stat`` of /dev/kvm: file type, major:minor (hex), mode, owner; fails when missing."""

    def argv(self) -> tuple[str, ...]:
        return ("stat", "-L", "-c", "%F %t:%T %a %U:%G", "/dev/kvm")


@dataclass(frozen=True, slots=True)
class ListKnownPaths(Command):
    """Which of a fixed list of paths exist (``ls`` prints those, complains about the rest)."""

    which: str = "config"  # "config" (RUNTIME_CONFIG_PATHS) or "kata" (KATA_PATHS)

    def __post_init__(self) -> None:
        if self.which not in ("config", "kata"):
            raise ValueError(f"not a known path list: {self.which!r}")

    def argv(self) -> tuple[str, ...]:
        paths = RUNTIME_CONFIG_PATHS if self.which == "config" else KATA_PATHS
        return ("ls", "-1d", "--", *paths)


@dataclass(frozen=True, slots=True)
class RuntimeVersion(Command):
    program: str

    def __post_init__(self) -> None:
        if self.program not in VERSION_ARGV:
            raise ValueError(f"not a known container runtime: {self.program!r}")

    def argv(self) -> tuple[str, ...]:
        return VERSION_ARGV[self.program]


@dataclass(frozen=True, slots=True)
class KataCheck(Command):
    tool: str

    def __post_init__(self) -> None:
        if self.tool not in KATA_CHECK_ARGV:
            raise ValueError(f"not a Kata check tool: {self.tool!r}")

    def argv(self) -> tuple[str, ...]:
        return KATA_CHECK_ARGV[self.tool]


def preflight_commands() -> dict[tuple[str, ...], Command]:
    commands: list[Command] = [UnameMachine(), CpuVirtFlags(), KvmDevice(), ListKnownPaths("config"),
                               ListKnownPaths("kata")]
    commands += [RuntimeVersion(program) for program in VERSION_ARGV]
    commands += [KataCheck(tool) for tool in KATA_CHECK_ARGV]
    return {command.argv(): command for command in commands}


