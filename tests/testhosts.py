"""Network-namespace test hosts: each with its own sshd, PID namespace, /run and users.

    with TestNet() as net:
        host = net.add_host()                 # netns kvt<pid>h1, sshd on 10.213.x.2:22
        vm = host.start_qemu(vcpus=2, maxcpus=4, memory_mib=2048, maxmem_mib=4096)
        host.write_persist(vm)                # /run/vc/sbs/<id>/persist.json
        host.start_monitor(vm)                # /run/vc/sbs/<id>/shim-monitor.sock (HTTP)
        host.install_crictl([vm])             # a stand-in for the unpackaged crictl binary

A host is ``ip netns exec NS unshare --mount --pid --fork --mount-proc --kill-child
python3 init.py``. Inside that mount namespace only, init.py bind-mounts the host's own
directory over ``/run`` and ``/usr/local/bin`` and its own passwd/group/shadow (and sudoers)
over ``/etc``: users ``kvtest`` (uid 0, /bin/sh), ``kvuser`` and ``kvpass`` (uid 4242/4243,
for the sudo tests). The machine's real /etc, ~/.ssh and /run are never written. init.py is
PID 1 of the host: it reaps daemonized QEMUs, which are re-parented to it as on a node.

Cleanup ends only what this module started, by PID (the outer ``unshare``: its child is
the namespace's init, and when init dies the kernel ends every process of the namespace),
then deletes the namespaces, veths and the bridge it made.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
_COUNTER = itertools.count(1)
SUDOERS_NOPASSWD = (
    'Defaults secure_path="/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
    "Defaults !lecture\n"
    "root ALL=(ALL:ALL) ALL\n"
    "# the read-only commands kataview runs, and nothing else:\n"
    "kvuser ALL=(root) NOPASSWD: /usr/bin/cat, /usr/local/bin/crictl, /usr/bin/ctr\n"
    "kvpass ALL=(ALL:ALL) ALL\n"
)

INIT = r'''
import os, signal, subprocess, sys, time
d = sys.argv[1]
def bind(src, dst):
    subprocess.run(["mount", "--bind", src, dst], check=True)
bind(d + "/run", "/run")
bind(d + "/bin", "/usr/local/bin")
for name in ("passwd", "group", "shadow"):
    bind(d + "/etc/" + name, "/etc/" + name)
if os.path.exists(d + "/etc/sudoers"):
    bind(d + "/etc/sudoers", "/etc/sudoers")
os.makedirs("/run/sshd", exist_ok=True)
log = open(d + "/sshd.log", "ab")
subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", d + "/sshd_config"], stdout=log, stderr=log)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
open(d + "/ready", "w").close()
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)
'''

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


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


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


@dataclass
class TestHost:
    net: TestNet
    index: int
    name: str  # the netns
    address: str
    port: int
    directory: Path
    process: subprocess.Popen | None = None
    helpers: list[subprocess.Popen] = field(default_factory=list)
    vms: list[QemuVM] = field(default_factory=list)

    @property
    def init_pid(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return int(children.split()[0])

    def nsenter(self, *argv: str) -> list[str]:
        return ["nsenter", "-t", str(self.init_pid), "-m", "-p", "-n", "--", *argv]

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command inside the host (its mount, PID and network namespaces)."""
        return _run(*self.nsenter(*argv), check=check)

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

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # unshare --kill-child: init dies, the namespace with it
            self.process.wait(timeout=10)
        for helper in self.helpers:
            try:
                helper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                helper.kill()
                helper.wait(timeout=5)
        _run("ip", "netns", "del", self.name, check=False)


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


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("test host did not get ready")
        time.sleep(0.01)


class TestNet:
    """A bridge on 10.213.<n>.0/24 and the test hosts behind it."""

    def __init__(self, client_key_dir: Path | None = None) -> None:
        number = next(_COUNTER)
        self.tag = f"kvt{os.getpid()}"
        self.short = f"k{os.getpid():x}{number}"  # link names are at most 15 characters
        self.bridge = f"{self.short}br"
        self.octet = (os.getpid() * 7 + number) % 200 + 20
        self.directory = Path(tempfile.mkdtemp(prefix=f"{self.tag}-"))
        self.directory.chmod(0o755)  # sshd reads authorized_keys as the login user
        self.hosts: list[TestHost] = []
        self.client_key = self.directory / "id_ed25519"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key))
        self.known_hosts = self.directory / "known_hosts"
        self._up = False

    def __enter__(self) -> TestNet:
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        self._up = True
        _run("ip", "addr", "add", f"10.213.{self.octet}.1/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_host(self, port: int = 22, sudoers: str | None = None, trust: bool = True) -> TestHost:
        index = len(self.hosts) + 1
        name, veth = f"{self.tag}h{index}", f"{self.short}v{index}"
        address = f"10.213.{self.octet}.{index + 1}"
        directory = self.directory / f"h{index}"
        host = TestHost(self, index, name, address, port, directory)
        self.hosts.append(host)
        self._write_files(host, sudoers)
        _run("ip", "netns", "add", name)
        _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
        _run("ip", "link", "set", veth, "master", self.bridge, "up")
        _run("ip", "-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
        _run("ip", "-n", name, "link", "set", "eth0", "up")
        _run("ip", "-n", name, "link", "set", "lo", "up")
        init = directory / "init.py"
        init.write_text(INIT)
        host.process = subprocess.Popen(
            ["ip", "netns", "exec", name, "unshare", "--mount", "--pid", "--fork", "--mount-proc",
             "--kill-child", SYSTEM_PYTHON, str(init), str(directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: (directory / "ready").exists() and (directory / "run" / "sshd.pid").exists())
        if trust:
            self.trust(host)
        return host

    def trust(self, host: TestHost) -> None:
        key = (host.directory / "host_ed25519.pub").read_text().split()
        name = host.address if host.port == 22 else f"[{host.address}]:{host.port}"
        with open(self.known_hosts, "a") as handle:
            handle.write(f"{name} {key[0]} {key[1]}\n")

    def ssh_config(self, user: str = "kvtest", extra: str = "") -> Path:
        """An OpenSSH client config with a Host block per test host."""
        path = self.directory / f"ssh_config_{user}"
        blocks = [textwrap.dedent(f"""\
            Host {host.address}
                User {user}
                Port {host.port}
                IdentityFile {self.client_key}
            """) for host in self.hosts]
        path.write_text("\n".join(blocks) + extra)
        return path

    def _write_files(self, host: TestHost, sudoers: str | None) -> None:
        d = host.directory
        for sub in ("run", "bin", "etc", "home"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_ed25519"))
        home = d / "home"
        (d / "etc" / "passwd").write_text(
            "root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
            f"kvtest:x:0:0:kataview test:{home}:/bin/sh\n"
            f"kvuser:x:4242:4242:kataview sudo test:{home}:/bin/sh\n"
            f"kvpass:x:4243:4243:kataview sudo test:{home}:/bin/sh\n")
        (d / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\nkvuser:x:4242:\nkvpass:x:4243:\n")
        shadow = d / "etc" / "shadow"
        shadow.write_text("".join(f"{user}:*:19000:0:99999:7:::\n"
                                  for user in ("root", "sshd", "nobody", "kvtest", "kvuser", "kvpass")))
        shadow.chmod(0o640)
        if sudoers is not None:
            (d / "etc" / "sudoers").write_text(sudoers)
            (d / "etc" / "sudoers").chmod(0o440)
        (d / "authorized_keys").write_text((self.client_key.with_suffix(".pub")).read_text())
        (d / "sshd_config").write_text(textwrap.dedent(f"""\
            Port {host.port}
            ListenAddress {host.address}
            HostKey {d}/host_ed25519
            PidFile /run/sshd.pid
            AuthorizedKeysFile {d}/authorized_keys
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            PermitRootLogin yes
            AllowStreamLocalForwarding yes
            """))

    def close(self) -> None:
        for host in self.hosts:
            host.stop()
        if self._up:
            _run("ip", "link", "del", self.bridge, check=False)
            self._up = False
        shutil.rmtree(self.directory, ignore_errors=True)


def require_test_hosts() -> None:
    """Skip (or fail under KATAVIEW_REQUIRE_INTEGRATION=1) without the parts test hosts need."""
    from conftest import require_part, require_root

    require_root("network namespaces for test hosts")
    for part in ("sshd", "qemu-system-x86_64", "ip", "unshare", "nsenter", "ssh-keygen", "perl"):
        require_part(part, part, f"/usr/sbin/{part}")
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's compiled-in privilege-separation dir


def ssh_options(net: TestNet, user: str = "kvtest", **overrides):
    """Client options with every path explicit (never the machine's ~/.ssh)."""
    from kataview.hosts.ssh import SSHOptions

    values = dict(config_files=(str(net.ssh_config(user)),), known_hosts=str(net.known_hosts),
                  agent_path=None, connect_timeout=3.0, command_timeout=10.0)
    values.update(overrides)
    return SSHOptions(**values)


def node_for(host: TestHost, name: str | None = None):
    from kataview.model.records import Node, NodeAddress

    return Node(name or f"node-{host.index}", addresses=(NodeAddress("InternalIP", host.address),))


def pod_for(vm: QemuVM, node_name: str, **changes):
    from kataview.model.records import Pod

    values = dict(uid=vm.pod_uid, namespace=vm.pod_namespace, name=vm.pod_name, node_name=node_name,
                  runtime_class_name="kata-qemu")
    values.update(changes)
    return Pod(**values)


@pytest.fixture
def testnet():
    """A bridge for test hosts; every host, process and link made is removed afterwards."""
    require_test_hosts()
    with TestNet() as net:
        yield net


# --- additions for the guided-setup tests (tests/test_setup_*_ssh.py) ------------------------

def bind_inside(host: TestHost, inside: str) -> Path:
    """Bind a fresh directory of the host over ``inside`` (e.g. /etc/containerd), in the host's
    own mount namespace only: the machine's real directory is never written."""
    outside = host.directory / "binds" / inside.strip("/").replace("/", "_")
    outside.mkdir(parents=True, exist_ok=True)
    host.run("mount", "--bind", str(outside), inside)
    return outside
