"""`kataview vm NAMESPACE/POD [--json]`: one pod's VM, read over SSH from its node.

The pod and its node come from the cluster (one list, GET only); the node's address is
``[nodes.<name>] address`` from the config file, else its InternalIP, then Hostname. SSH
follows OpenSSH conventions (``--ssh-config``, ssh-agent, ``~/.ssh/known_hosts``).

``--demo``: the embedded demo cluster, whose Kata nodes answer over SSH (an in-process
asyncssh server on loopback; nothing else is reached).

Exit codes (kataview.model.exit_codes, one line on stderr for each failure): 7 the pod or
its node is not in the cluster (or not scheduled); 8 the node could not be read over SSH or
runs no VM for the pod; the kube layer's codes for the cluster; 2 a bad NAMESPACE/POD.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from kataview.cli.logsetup import print_error
from kataview.cli.report import json_text, kube_exit_code, write_in_pieces
from kataview.hosts.errors import NodeError, UnknownHostKey
from kataview.hosts.ssh import SSHOptions, SSHPool
from kataview.hosts.vmfacts import VMDetailGatherer
from kataview.model.exit_codes import Exit
from kataview.model.records import ClusterSnapshot, Pod
from kataview.model.terminal_text import terminal_safe
from kataview.model.vm import VMDetail, mib_text, number_text, uptime_text, vm_detail_json
from kataview.sources.settings import Settings

UNKNOWN = "-"  # what `kataview vm` prints for a figure it does not know


class VMCommandError(Exception):
    def __init__(self, message: str, exit_code: int = Exit.NOT_FOUND) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_target(text: str, namespace: str | None = None) -> tuple[str, str]:
    """`NAMESPACE/POD`, or `POD` with `-n NAMESPACE` (as kubectl); both at once must agree."""
    if "/" not in text and namespace and text:
        return namespace, text
    given, sep, name = text.partition("/")
    if not sep or not given or not name or "/" in name:
        raise VMCommandError(f"expected NAMESPACE/POD or -n NAMESPACE POD, got {text!r}", Exit.USAGE)
    if namespace and namespace != given:
        raise VMCommandError(f"-n {namespace} and {text} name different namespaces", Exit.USAGE)
    return given, name


def find_pod(snapshot: ClusterSnapshot, namespace: str, name: str) -> Pod:
    for pod in snapshot.pods.values():
        if pod.namespace == namespace and pod.name == name:
            return pod
    raise VMCommandError(f"pod {namespace}/{name} not found")


async def gather(settings: Settings, target: str, options: SSHOptions | None = None) -> VMDetail:
    """With ``settings.demo`` the embedded demo cluster is listed and its SSH node answers."""
    from kataview.sources.live import gather_once

    namespace, name = parse_target(target, settings.namespace)

    async def fetch(_info: Any, snapshot: ClusterSnapshot, overrides: dict[str, Any]) -> VMDetail:
        pod = find_pod(snapshot, namespace, name)
        if not pod.node_name:
            raise VMCommandError(f"pod {pod.key} is not scheduled on a node yet ({pod.status_text})")
        node = snapshot.nodes.get(pod.node_name)
        if node is None:
            raise VMCommandError(f"node {pod.node_name} of pod {pod.key} is not in the cluster")
        async with SSHPool(options or SSHOptions.from_settings(settings, **overrides)) as pool:
            return await VMDetailGatherer(pool).fetch(pod, node, snapshot)

    return await gather_once(settings, then=fetch)


def run_vm(settings: Settings, target: str, as_json: bool) -> int:
    from kataview.kube.errors import KubeError

    try:
        detail = asyncio.run(gather(settings, target))
    except VMCommandError as error:
        print_error("kataview vm", error)
        return error.exit_code
    except KubeError as error:
        print_error("kataview vm", error)
        return kube_exit_code(error)
    except NodeError as error:
        print_error("kataview vm", error)
        if isinstance(error, UnknownHostKey):
            print("kataview vm: the interactive view (kataview) can add it for you after you "
                  "confirm the fingerprint", file=sys.stderr)
        return Exit.NODE_FAILED
    if as_json:
        write_in_pieces(json_text(vm_detail_json(detail)))
    else:
        print_detail(detail)
    return Exit.OK


def detail_lines(detail: VMDetail) -> list[tuple[str, Any]]:
    sandbox = detail.sandbox
    vcpus = f"{number_text(detail.vcpus_boot, UNKNOWN)} (max {number_text(detail.vcpus_max, UNKNOWN)})"
    memory = f"{mib_text(detail.memory_mib, UNKNOWN)} (max {mib_text(detail.memory_max_mib, UNKNOWN)})"
    overhead = "-"
    if detail.overhead_source:
        cpu = f"{detail.overhead_cpu_millis}m" if detail.overhead_cpu_millis is not None else "-"
        overhead = f"{cpu} CPU, {mib_text(detail.overhead_memory_mib, UNKNOWN)} ({detail.overhead_source})"
    lines = [
        ("Pod", f"{sandbox.pod_namespace}/{sandbox.pod_name}"),
        ("Node", f"{detail.node} ({detail.address})"),
        ("Sandbox", f"{sandbox.id} (found by {sandbox.found_by})"),
        ("Hypervisor", f"{detail.kind or '-'}  {detail.binary or ''}"),
        ("PID", f"{detail.pid}  shim {detail.shim_pid or '-'}  virtiofsd "
                f"{', '.join(map(str, detail.virtiofsd_pids)) or '-'}"),
        ("Uptime", "-" if detail.uptime_seconds is None else uptime_text(detail.uptime_seconds)),
        ("vCPUs", vcpus), ("Memory", memory),
        ("Kernel", detail.kernel or "-"),
        ("Rootfs", detail.image or detail.initrd or "-"),
        ("Shared fs", detail.shared_fs or "-"), ("Machine", detail.machine or "-"),
        ("Host RSS", mib_text(detail.host_rss_mib, UNKNOWN)),
        ("Host CPU", "-" if detail.host_cpu_percent is None else f"{detail.host_cpu_percent:.1f}% (average)"),
        ("Overhead", overhead),
        ("Guest", _guest(detail)),
        ("QMP", detail.qmp),
    ]
    lines += [("Note", note) for note in (*sandbox.notes, *detail.notes)]
    return lines


def _guest(detail: VMDetail) -> str:
    guest = detail.guest
    if guest is None:
        return detail.guest_error or "-"
    total = None if guest.mem_total_bytes is None else guest.mem_total_bytes / 2**20
    available = None if guest.mem_available_bytes is None else guest.mem_available_bytes / 2**20
    load = "-" if guest.load1 is None else f"{guest.load1:g}"
    return f"memory {mib_text(total, UNKNOWN)}, available {mib_text(available, UNKNOWN)}, load {load}"


def print_detail(detail: VMDetail) -> None:
    """One `Label: value` line per fact; values come from the node (a QEMU command line, a
    kernel path) and are made terminal-safe."""
    for label, value in detail_lines(detail):
        print(f"{label + ':':<11} {terminal_safe(str(value))}")
