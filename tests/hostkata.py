"""A test host as a Kata node: paused QEMUs with Kata-like arguments, shims, persist.json,
the shim's monitor socket and a crictl stand-in (``KataNode``, mixed into TestHost)."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hostprocs import SYSTEM_PYTHON, _wait_for

if TYPE_CHECKING:
    from hostnet import TestHost

MONITOR = r'''
import os, socketserver, sys
from http.server import BaseHTTPRequestHandler
path, body = sys.argv[1], open(sys.argv[2], "rb").read()
class Handler(BaseHTTPRequestHandler):
    def address_string(self):
        return "unix"
    def do_GET(self):
        if self.path != "/metrics":
            self.send_error(404); return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(socketserver.UnixStreamServer):
    def get_request(self):
        request, _ = super().get_request()
        return request, ("unix", 0)
if os.path.exists(path):
    os.unlink(path)
Server(path, Handler).serve_forever()
'''

# Stand-in for the unpackaged crictl binary: prints what `crictl pods -o json` prints.
CRICTL = '''#!/bin/sh
# kataview TEST STAND-IN for crictl (crictl is not packaged for Debian): prints canned
# `crictl pods -o json` output shaped exactly like the real binary's.
case "$1" in
  pods) cat "{data}" ;;
  *) echo "crictl stand-in: unsupported: $*" >&2; exit 1 ;;
esac
'''


@dataclass
class QemuVM:
    sandbox_id: str
    pid: int  # the PID inside the host's PID namespace (what the node shows)
    vcpus: int
    maxcpus: int
    memory_mib: int
    maxmem_mib: int
    kernel: str
    machine: str = "q35"
    pod_name: str = ""
    pod_namespace: str = ""
    pod_uid: str = ""
    shim_pid: int | None = None


class KataNode:
    """TestHost's Kata side; uses its ``directory``, ``helpers``, ``vms``, ``run`` and ``nsenter``."""

    def start_qemu(self, vcpus: int = 1, maxcpus: int = 4, memory_mib: int = 2048,
                   maxmem_mib: int = 4096, sandbox_id: str | None = None, pod_name: str = "",
                   pod_namespace: str = "default", pod_uid: str = "", debug_threads: bool = True,
                   virtiofs: bool = False) -> QemuVM:
        """A paused (``-S``) TCG QEMU with Kata-like arguments, daemonized, PID in its pidfile."""
        sid = sandbox_id or secrets.token_hex(32)
        vm_dir = self.directory / "run" / "vc" / "vm" / sid
        vm_dir.mkdir(parents=True)
        (self.directory / "kernel").write_bytes(b"\0" * 4096)
        name = f"sandbox-{sid}" + (",debug-threads=on" if debug_threads else "")
        run_dir = f"/run/vc/vm/{sid}"
        argv = [
            "qemu-system-x86_64", "-name", name, "-uuid", str(uuid.uuid4()),
            "-machine", "q35,accel=tcg", "-cpu", "qemu64",
            "-qmp", f"unix:{run_dir}/qmp.sock,server=on,wait=off",
            "-m", f"{memory_mib}M,slots=10,maxmem={maxmem_mib}M",
            "-smp", f"{vcpus},cores=1,threads=1,sockets={maxcpus},maxcpus={maxcpus}",
            "-kernel", str(self.directory / "kernel"),
            "-append", "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 console=hvc0 quiet",
            "-nographic", "-nodefaults", "-no-user-config", "-S", "-daemonize",
            "-pidfile", f"{run_dir}/pid",
        ]
        if virtiofs:
            argv[argv.index("-kernel"):argv.index("-kernel")] = [
                "-chardev", f"socket,id=char-virtiofs,path={run_dir}/vhost-fs.sock",
                "-device", "vhost-user-fs-pci,chardev=char-virtiofs,tag=kataShared"]
        self.run(*argv)
        pid = int((vm_dir / "pid").read_text())
        vm = QemuVM(sid, pid, vcpus, maxcpus, memory_mib, maxmem_mib, str(self.directory / "kernel"),
                    pod_name=pod_name, pod_namespace=pod_namespace, pod_uid=pod_uid or str(uuid.uuid4()))
        self.vms.append(vm)
        return vm

    def start_shim(self, vm: QemuVM) -> int:
        """A process whose command line is a Kata shim v2's (perl rewrites its argv)."""
        args = (f"/usr/local/bin/containerd-shim-kata-v2 -namespace k8s.io -address "
                f"/run/containerd/containerd.sock -publish-binary /usr/bin/containerd -id {vm.sandbox_id}")
        pidfile = f"/run/vc/sbs/{vm.sandbox_id}/shim.pid"
        (self.directory / "run" / "vc" / "sbs" / vm.sandbox_id).mkdir(parents=True, exist_ok=True)
        script = f'open(F,">{pidfile}"); print F $$; close F; $0 = "{args}"; sleep 100000;'
        self.helpers.append(subprocess.Popen(self.nsenter("perl", "-e", script),
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        path = self.directory / "run" / "vc" / "sbs" / vm.sandbox_id / "shim.pid"
        _wait_for(lambda: path.exists() and path.read_text().strip())
        vm.shim_pid = int(path.read_text())
        return vm.shim_pid

    def write_persist(self, vm: QemuVM, shared_fs: str = "virtio-fs") -> Path:
        sbs = self.directory / "run" / "vc" / "sbs" / vm.sandbox_id
        sbs.mkdir(parents=True, exist_ok=True)
        document = {
            "SandboxContainer": vm.sandbox_id, "State": "running",
            "HypervisorState": {"Pid": vm.pid, "Type": "qemu", "UUID": "x", "HotpluggedVCPUs": [],
                                "HotpluggedMemory": 0, "VirtiofsDaemonPid": 0},
            "Config": {"HypervisorType": "qemu", "HypervisorConfig": {
                "NumVCPUsF": float(vm.vcpus), "DefaultMaxVCPUs": vm.maxcpus,
                "MemorySize": vm.memory_mib, "SharedFS": shared_fs,
                "KernelPath": vm.kernel, "ImagePath": "/usr/share/kata-containers/kata-containers.img",
                "HypervisorMachineType": vm.machine, "HypervisorPath": "/usr/bin/qemu-system-x86_64"}},
        }
        path = sbs / "persist.json"
        path.write_text(json.dumps(document))
        return path

    def start_monitor(self, vm: QemuVM, mem_total: int = 2_000_000_000) -> str:
        """The shim's monitor socket, served by a tiny HTTP server inside the host."""
        body = self.directory / f"metrics-{vm.sandbox_id[:12]}.txt"
        body.write_text(
            "# HELP kata_guest_meminfo Statistics about memory usage in the guest.\n"
            "# TYPE kata_guest_meminfo gauge\n"
            f'kata_guest_meminfo{{item="mem_total"}} {mem_total}\n'
            'kata_guest_meminfo{item="mem_free"} 1500000000\n'
            'kata_guest_meminfo{item="mem_available"} 1700000000\n'
            'kata_guest_load{item="load1"} 0.25\n'
            "kata_hypervisor_threads 7\nkata_shim_threads 12\n")
        script = self.directory / "monitor.py"
        script.write_text(MONITOR)
        socket_path = f"/run/vc/sbs/{vm.sandbox_id}/shim-monitor.sock"
        (self.directory / "run" / "vc" / "sbs" / vm.sandbox_id).mkdir(parents=True, exist_ok=True)
        self.helpers.append(subprocess.Popen(self.nsenter(SYSTEM_PYTHON, str(script), socket_path, str(body)),
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        outside = self.directory / "run" / socket_path.removeprefix("/run/")
        _wait_for(outside.exists)
        return socket_path

    def install_crictl(self, vms: list[QemuVM] | None = None) -> None:
        """Put the crictl stand-in in the host's /usr/local/bin, listing ``vms`` as pods."""
        data = self.directory / "crictl-pods.json"
        data.write_text(json.dumps(crictl_pods_json(vms if vms is not None else self.vms), indent=2))
        path = self.directory / "bin" / "crictl"
        path.write_text(CRICTL.format(data=data))
        path.chmod(0o755)

    def remove_crictl(self) -> None:
        (self.directory / "bin" / "crictl").unlink(missing_ok=True)

    def kill_vm(self, vm: QemuVM) -> None:
        self.run("kill", "-KILL", str(vm.pid))
        _wait_for(lambda: vm.pid not in _pids(self))


def _pids(host: TestHost) -> set[int]:
    out = host.run("ps", "-eo", "pid=,stat=").stdout.split("\n")
    return {int(line.split()[0]) for line in out if line.strip() and "Z" not in line.split()[1]}


def crictl_pods_json(vms: list[QemuVM]) -> dict:
    """``crictl pods -o json`` as the real binary prints it (see corpus/crictl)."""
    items = []
    for vm in vms:
        items.append({
            "id": vm.sandbox_id,
            "metadata": {"name": vm.pod_name, "uid": vm.pod_uid, "namespace": vm.pod_namespace,
                         "attempt": 0},
            "state": "SANDBOX_READY",
            "createdAt": str(time.time_ns()),
            "labels": {"io.kubernetes.pod.name": vm.pod_name,
                       "io.kubernetes.pod.namespace": vm.pod_namespace,
                       "io.kubernetes.pod.uid": vm.pod_uid},
            "annotations": {"kubernetes.io/config.source": "api"},
            "runtimeHandler": "kata-qemu",
        })
    return {"items": items}
