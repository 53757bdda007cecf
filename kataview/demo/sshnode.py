"""The demo's Kata worker nodes: one small asyncssh server that answers like a real node.

kataview sends each node a ``sh`` script (a batch of allowlisted commands framed by
``printf`` markers). This server interprets just that subset of ``sh`` — ``printf`` with
``%s`` and ``"$?"``, ``>&2``, ``</dev/null``, ``sudo -n`` — and the commands kataview
runs: ``ps -ww -eo pid=,ppid=,rss=,pcpu=,etimes=,args=``, ``crictl pods/inspectp``,
``ctr c info``, ``cat`` of ``/proc/<pid>/{cmdline,status,stat}`` and persist.json,
``id -u``, ``uname -r``, ``nproc``. A direct unix-socket channel to a sandbox's
``shim-monitor.sock`` gets a Prometheus ``/metrics`` page. Everything else fails as a
shell would (``not found``, exit 127).

What the nodes run is read from the demo's object store on every request, so a pod the
demo adds (or deletes) gets (or loses) its VM: each Running pod whose RuntimeClass handler
is a Kata one has a shim, two virtiofsd and a QEMU (``kata``, ``kata-qemu``) or a Cloud
Hypervisor (``kata-clh``), with command lines shaped like ../shared/corpus.

One server serves every node: the login user names the node. ``write_client_files``
writes a client key, a known_hosts line and an OpenSSH config with one ``Host <node>``
block each (HostName 127.0.0.1, the port, User <node>), so the real client path (config,
known_hosts verification, public-key auth) is used without touching ~/.ssh.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import asyncssh

Lister = Callable[[str], list]  # kind -> list of API objects (the demo's ObjectStore.list)

KATA_BIN = "/opt/kata/bin"
KATA_SHARE = "/opt/kata/share/kata-containers"
KERNEL = f"{KATA_SHARE}/vmlinux-6.1.62-132"
IMAGE = f"{KATA_SHARE}/kata-ubuntu-latest.image"
NPROC, HOST_MEM_MIB, GUEST_MEM_MIB = 8, 32058, 2048
UNAME = "6.1.0-28-amd64"
_MONITOR = re.compile(r"/run/vc/sbs/([0-9a-f]{64})/shim-monitor\.sock")


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def _seconds_since(stamp: str | None, now: float) -> int:
    if not stamp:
        return 0
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return max(0, int(now - moment.timestamp()))


class NodeView:
    """What one node runs right now, derived from the cluster's objects."""

    def __init__(self, node: str, lister: Lister, now: float | None = None) -> None:
        self.node, self.now = node, now if now is not None else time.time()
        handlers = {rc["metadata"]["name"]: rc.get("handler", "") for rc in lister("RuntimeClass")}
        self.pods = [p for p in lister("Pod") if (p.get("spec") or {}).get("nodeName") == node
                     and (p.get("status") or {}).get("phase") == "Running"]
        self.vms: list[dict] = []
        used: set[int] = set()
        for pod in self.pods:
            rc = pod["spec"].get("runtimeClassName")
            handler = handlers.get(rc, rc) if rc else ""
            if not handler or not handler.startswith("kata") or handler == "kata-fc":
                continue
            uid = pod["metadata"]["uid"]
            base = 3000 + _hash(uid) % 60000 // 40 * 40
            while base in used:
                base += 40
            used.add(base)
            self.vms.append(dict(pod=pod, handler=handler, uid=uid, base=base,
                                 id=hashlib.sha256(f"sandbox:{uid}".encode()).hexdigest(),
                                 up=_seconds_since(pod["status"].get("startTime"), self.now),
                                 kind="cloud-hypervisor" if handler == "kata-clh" else "qemu"))

    def sandbox_of(self, pod: dict) -> str:
        return hashlib.sha256(f"sandbox:{pod['metadata']['uid']}".encode()).hexdigest()

    def processes(self) -> list[tuple[int, int, int, float, int, str]]:
        """(pid, ppid, rss KiB, %cpu, etimes, args) like ``ps -ww -eo ...``."""
        boot = 3_600 * 24 * 12 + _hash(self.node) % 3_600
        rows = [(1, 0, 12_480, 0.0, boot, "/sbin/init"), (2, 0, 0, 0.0, boot, "[kthreadd]"),
                (41, 2, 0, 0.0, boot, "[kworker/u16:3-events_unbound]"),
                (612, 1, 9_216, 0.0, boot, "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"),
                (655, 1, 71_524, 0.6, boot, "/usr/bin/containerd"),
                (701, 1, 98_212, 1.3, boot, "/usr/bin/kubelet --bootstrap-kubeconfig=/etc/kubernetes/"
                 "bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/"
                 "kubelet/config.yaml --container-runtime-endpoint=unix:///run/containerd/containerd.sock "
                 "--node-ip=" + self.node)]
        for index, pod in enumerate(p for p in self.pods if all(p is not vm["pod"] for vm in self.vms)):
            sid, pid = self.sandbox_of(pod), 1200 + index * 20
            rows += [(pid, 1, 13_880, 0.0, boot, f"/usr/bin/containerd-shim-runc-v2 -namespace k8s.io "
                      f"-id {sid} -address /run/containerd/containerd.sock"),
                     (pid + 2, pid, 1_024, 0.0, boot, "/pause")]
        for vm in self.vms:
            pid, sid, up = vm["base"], vm["id"], vm["up"]
            virtiofsd = (f"{KATA_BIN[:-4]}/libexec/virtiofsd --syslog -o cache=auto -o no_posix_lock "
                         f"-o source=/run/kata-containers/shared/sandboxes/{sid}/shared --fd=3 -f "
                         "--thread-pool-size=1 -o announce_submounts")
            rows += [(pid, 1, 41_236, 0.1, up, f"{KATA_BIN}/containerd-shim-kata-v2 -namespace k8s.io "
                      f"-address /run/containerd/containerd.sock -publish-binary /usr/bin/containerd -id {sid}"),
                     (pid + 12, pid, 3_412, 0.0, up, virtiofsd), (pid + 14, pid + 12, 28_904, 0.0, up, virtiofsd),
                     (pid + 20, 1 if vm["kind"] == "qemu" else pid, self.rss(vm), self.cpu(vm), up,
                      " ".join(self.vmm_argv(vm)))]
        return sorted(rows)

    def rss(self, vm: dict) -> int:
        return 212_000 + _hash(vm["id"]) % 64_000

    def cpu(self, vm: dict) -> float:
        return round(0.4 + (_hash(vm["uid"]) % 180) / 100, 1)

    def vmm_argv(self, vm: dict) -> list[str]:
        sid, run = vm["id"], f"/run/vc/vm/{vm['id']}"
        if vm["kind"] == "cloud-hypervisor":
            return [f"{KATA_BIN}/cloud-hypervisor", "--api-socket", f"{run}/clh-api.sock"]
        return [
            f"{KATA_BIN}/qemu-system-x86_64", "-name", f"sandbox-{sid}",
            "-uuid", f"{sid[:8]}-{sid[8:12]}-4{sid[13:16]}-a{sid[17:20]}-{sid[20:32]}",
            "-machine", "q35,accel=kvm,nvdimm=on", "-cpu", "host,pmu=off",
            "-qmp", f"unix:{run}/qmp.sock,server=on,wait=off", "-m", f"{GUEST_MEM_MIB}M,slots=10,maxmem={HOST_MEM_MIB + GUEST_MEM_MIB}M",
            "-device", "pci-bridge,bus=pcie.0,id=pci-bridge-0,chassis_nr=1,shpc=off,addr=2,io-reserve=4k,"
            "mem-reserve=1m,pref64-reserve=1m",
            "-device", "virtio-serial-pci,disable-modern=false,id=serial0",
            "-device", "virtconsole,chardev=charconsole0,id=console0",
            "-chardev", f"socket,id=charconsole0,path={run}/console.sock,server=on,wait=off",
            "-device", "nvdimm,id=nv0,memdev=mem0,unarmed=on",
            "-object", f"memory-backend-file,id=mem0,mem-path={IMAGE},size=268435456,readonly=on",
            "-device", "virtio-scsi-pci,id=scsi0,disable-modern=false",
            "-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-pci,rng=rng0",
            "-device", f"vhost-vsock-pci,disable-modern=false,vhostfd=4,id=vsock-{_hash(sid) % 2**31},"
            f"guest-cid={_hash(sid) % 2**31}",
            "-chardev", f"socket,id=char-{sid[:16]},path={run}/vhost-fs.sock",
            "-device", f"vhost-user-fs-pci,chardev=char-{sid[:16]},tag=kataShared,queue-size=1024",
            "-netdev", "tap,id=network-0,vhost=on,vhostfds=5,fds=6",
            "-device", f"driver=virtio-net-pci,netdev=network-0,mac=02:42:{sid[:2]}:{sid[2:4]}:{sid[4:6]}:"
            f"{sid[6:8]},disable-modern=false,mq=on,vectors=4",
            "-rtc", "base=utc,driftfix=slew,clock=host", "-global", "kvm-pit.lost_tick_policy=discard",
            "-vga", "none", "-no-user-config", "-nodefaults", "-nographic", "--no-reboot",
            "-object", f"memory-backend-file,id=dimm1,size={GUEST_MEM_MIB}M,mem-path=/dev/shm,share=on",
            "-numa", "node,memdev=dimm1", "-kernel", KERNEL,
            "-append", "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 "
            "i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests "
            "net.ifnames=0 pci=lastbus=0 root=/dev/pmem0p1 rootflags=dax,data=ordered,errors=remount-ro "
            "ro rootfstype=ext4 console=hvc0 console=hvc1 quiet systemd.show_status=false panic=1 "
            f"nr_cpus={NPROC} selinux=0 systemd.unit=kata-containers.target systemd.mask=systemd-networkd.service "
            "systemd.mask=systemd-networkd.socket scsi_mod.scan=none",
            "-pidfile", f"{run}/pid", "-smp", f"1,cores=1,threads=1,sockets={NPROC},maxcpus={NPROC}",
        ]

    def vm_by_pid(self, pid: int) -> tuple[dict, str] | None:
        for vm in self.vms:
            if pid == vm["base"] + 20:
                return vm, "vmm"
        return None

    def persist(self, sid: str) -> str | None:
        for vm in self.vms:
            if vm["id"] == sid:
                clh = vm["kind"] == "cloud-hypervisor"
                return json.dumps({
                    "SandboxContainer": sid, "State": "running",
                    "HypervisorState": {"Pid": vm["base"] + 20, "Type": "clh" if clh else "qemu",
                                        "UUID": sid[:32], "HotpluggedVCPUs": [], "HotpluggedMemory": 0,
                                        "VirtiofsDaemonPid": vm["base"] + 12,
                                        "APISocket": f"/run/vc/vm/{sid}/clh-api.sock" if clh else ""},
                    "Config": {"HypervisorType": "clh" if clh else "qemu", "HypervisorConfig": {
                        "NumVCPUsF": 1.0, "DefaultMaxVCPUs": NPROC, "MemorySize": GUEST_MEM_MIB,
                        "SharedFS": "virtio-fs", "KernelPath": KERNEL if not clh else f"{KATA_SHARE}/vmlinux.container",
                        "ImagePath": IMAGE, "HypervisorMachineType": "" if clh else "q35",
                        "HypervisorPath": vm_binary(vm)}},
                })
        return None

    def metrics(self, sid: str) -> str | None:
        for vm in self.vms:
            if vm["id"] == sid:
                tick = int(self.now) // 5
                free = 1_400_000_000 + (_hash(f"{sid}{tick}") % 200_000_000)
                load = (_hash(f"{tick}{sid}") % 40) / 100
                return ("# HELP kata_guest_meminfo Statistics about memory usage in the guest.\n"
                        "# TYPE kata_guest_meminfo gauge\n"
                        f'kata_guest_meminfo{{item="mem_total"}} {2_061_455_360}\n'
                        f'kata_guest_meminfo{{item="mem_free"}} {free}\n'
                        f'kata_guest_meminfo{{item="mem_available"}} {free + 180_000_000}\n'
                        "# TYPE kata_guest_load gauge\n"
                        f'kata_guest_load{{item="load1"}} {load}\nkata_guest_load{{item="load5"}} 0.08\n'
                        'kata_guest_load{item="load15"} 0.03\n'
                        f"kata_hypervisor_threads {5 if vm['kind'] == 'qemu' else 9}\n"
                        "kata_hypervisor_fds 87\nkata_shim_threads 12\nkata_shim_fds 41\n")
        return None


def vm_binary(vm: dict) -> str:
    return f"{KATA_BIN}/{'cloud-hypervisor' if vm['kind'] == 'cloud-hypervisor' else 'qemu-system-x86_64'}"


class Shell:
    """The sh subset kataview's batches use, over one NodeView."""

    def __init__(self, view: NodeView) -> None:
        self.view = view

    def run_script(self, script: str) -> tuple[str, str, int]:
        out, err, status = [], [], 0
        for line in script.splitlines():
            try:
                words = shlex.split(line)
            except ValueError:
                err.append("sh: 1: Syntax error: Unterminated quoted string\n")
                return "".join(out), "".join(err), 2
            if not words:
                continue
            target = out
            if words[-1] == ">&2":
                words, target = words[:-1], err
            if words[-1] == "</dev/null":
                words = words[:-1]
            if words and words[0] == "printf":
                target.append(_printf(words[1], [str(status) if w == "$?" else w for w in words[2:]]))
                status = 0
                continue
            stdout, stderr, status = self.command(words)
            out.append(stdout)
            err.append(stderr)
        return "".join(out), "".join(err), status

    def command(self, words: list[str]) -> tuple[str, str, int]:
        if words[:2] == ["sudo", "-n"]:
            words = words[2:]  # the demo logs in as root
        view = self.view
        match words:
            case ["ps", "-ww", "-eo", "pid=,ppid=,rss=,pcpu=,etimes=,args="]:
                return "".join(f"{p:>7} {pp:>7} {r:>6} {c:>4.1f} {e:>7} {a}\n"
                               for p, pp, r, c, e, a in view.processes()), "", 0
            case ["id", "-u"]:
                return "0\n", "", 0
            case ["uname", "-r"]:
                return UNAME + "\n", "", 0
            case ["nproc"]:
                return f"{NPROC}\n", "", 0
            case ["cat", "--", path]:
                return self.cat(path)
            case ["crictl", "pods", "--name", name, "--namespace", namespace, "-o", "json"]:
                return json.dumps(self.crictl_pods(name, namespace), indent=2) + "\n", "", 0
            case ["crictl", "inspectp", sandbox]:
                items = [i for i in self.crictl_pods(".", None)["items"] if i["id"].startswith(sandbox)]
                if not items:
                    return "", f'level=fatal msg="getting the pod sandbox status for \\"{sandbox}\\": not found"\n', 1
                return json.dumps({"status": items[0], "info": {"pid": 0}}, indent=2) + "\n", "", 0
            case ["ctr", "--connect-timeout", "2s", "-n", "k8s.io", "c", "info", container]:
                return self.ctr_info(container)
        return "", f"sh: 1: {words[0] if words else ''}: not found\n", 127

    def cat(self, path: str) -> tuple[str, str, int]:
        view = self.view
        proc = re.fullmatch(r"/proc/(\d+)/(cmdline|status|stat)", path)
        found = view.vm_by_pid(int(proc.group(1))) if proc else None
        if found is not None:
            vm, _ = found
            pid, name = vm["base"] + 20, "cloud-hyperviso" if vm["kind"] != "qemu" else "qemu-system-x86"
            ticks = int(view.cpu(vm) / 100 * vm["up"] * 100)
            if proc.group(2) == "cmdline":
                return "\0".join(view.vmm_argv(vm)) + "\0", "", 0
            if proc.group(2) == "status":
                return (f"Name:\t{name}\nUmask:\t0027\nState:\tS (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\n"
                        f"PPid:\t{1 if vm['kind'] == 'qemu' else vm['base']}\nVmPeak:\t 3421876 kB\n"
                        f"VmSize:\t 3356340 kB\nVmRSS:\t  {view.rss(vm)} kB\n"
                        f"Threads:\t{5 if vm['kind'] == 'qemu' else 9}\n"), "", 0
            return (f"{pid} ({name}) S 1 {pid} {pid} 0 -1 4194624 61250 0 12 0 {ticks * 7 // 10} "
                    f"{ticks * 3 // 10} 0 0 20 0 5 0 {int(view.now - vm['up']) % 10**7} 3436892160 "
                    f"{view.rss(vm) // 4} 18446744073709551615 1 1 0 0 0 0 268444224 4096 25155 0 0 0 17 3 0 0 0 0 0\n"), "", 0
        persist = re.fullmatch(r"/run/vc/sbs/([0-9a-f]{64})/persist\.json", path)
        text = view.persist(persist.group(1)) if persist else None
        if text is not None:
            return text, "", 0
        return "", f"cat: {path}: No such file or directory\n", 1

    def crictl_pods(self, name: str, namespace: str | None) -> dict:
        """``--name`` is a regular expression, as in crictl; ``--namespace`` too."""
        items = []
        for pod in self.view.pods:
            meta = pod["metadata"]
            if not re.search(name, meta["name"]) or (namespace and not re.search(namespace, meta["namespace"])):
                continue
            vm = next((v for v in self.view.vms if v["pod"] is pod), None)
            items.append({
                "id": self.view.sandbox_of(pod),
                "metadata": {"name": meta["name"], "uid": meta["uid"], "namespace": meta["namespace"], "attempt": 0},
                "state": "SANDBOX_READY",
                "createdAt": str(int((self.view.now - (vm["up"] if vm else 0)) * 1e9)),
                "labels": {"io.kubernetes.pod.name": meta["name"], "io.kubernetes.pod.namespace": meta["namespace"],
                           "io.kubernetes.pod.uid": meta["uid"], **(meta.get("labels") or {})},
                "annotations": {"kubernetes.io/config.source": "api"},
                "runtimeHandler": vm["handler"] if vm else "",
            })
        return {"items": items}

    def ctr_info(self, container: str) -> tuple[str, str, int]:
        for pod in self.view.pods:
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                if status.get("containerID", "").partition("://")[2] == container:
                    annotations = {"io.kubernetes.cri.sandbox-id": self.view.sandbox_of(pod),
                                   "io.kubernetes.cri.container-type": "container"}
                    return json.dumps({"ID": container, "Labels": {"io.cri-containerd.kind": "container"},
                                       "Spec": {"annotations": annotations}}, indent=4) + "\n", "", 0
        return "", f"ctr: container \"{container}\" in namespace \"k8s.io\": not found\n", 1


def _printf(fmt: str, args: list[str]) -> str:
    text = fmt.replace("\\n", "\n").replace("\\t", "\t")
    pieces = text.split("%s")
    if len(pieces) == 1:
        return text.replace("%%", "%")
    out, args = [], list(args) or [""]
    while args:
        chunk = [pieces[0]]
        for piece in pieces[1:]:
            chunk += [args.pop(0) if args else "", piece]
        out.append("".join(chunk))
    return "".join(out).replace("%%", "%")


class _Server(asyncssh.SSHServer):
    def __init__(self, node: DemoSSHNode) -> None:
        self.node, self.user = node, ""

    def connection_made(self, conn: Any) -> None:
        self.node._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.node._connections.difference_update(
            {conn for conn in self.node._connections if conn.is_closed()})

    def begin_auth(self, username: str) -> bool:
        self.user = username
        return True

    def unix_connection_requested(self, dest_path: str):
        match = _MONITOR.fullmatch(dest_path)
        if match is None or NodeView(self.user, self.node.lister).metrics(match.group(1)) is None:
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "No such file or directory")
        sandbox = match.group(1)

        async def serve(reader, writer) -> None:
            request = bytes(await reader.read())
            body = NodeView(self.user, self.node.lister).metrics(sandbox) or ""
            if not request.startswith(b"GET /metrics "):
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            else:
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
            writer.close()

        return serve


class DemoSSHNode:
    """The server. ``start()``, then ``write_client_files(directory)``; ``stop()`` at the end."""

    def __init__(self, lister: Lister, nodes: Callable[[], list[str]] | None = None) -> None:
        self.lister = lister
        self.nodes = nodes or (lambda: [n["metadata"]["name"] for n in lister("Node")])
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.port = 0
        self._server: Any = None
        self._connections: set[Any] = set()
        self.commands = 0  # scripts answered (tests and the benchmark look)

    async def start(self, port: int = 0) -> None:
        authorized = asyncssh.import_authorized_keys(self.client_key.export_public_key().decode())
        self._server = await asyncssh.listen(
            "127.0.0.1", port, server_host_keys=[self.host_key], authorized_client_keys=authorized,
            server_factory=lambda: _Server(self), process_factory=self._process,
            allow_scp=False, agent_forwarding=False, x11_forwarding=False, encoding=None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _process(self, process: asyncssh.SSHServerProcess) -> None:
        user = process.get_extra_info("username")
        command = process.command or ""
        self.commands += 1
        out, err, status = Shell(NodeView(user, self.lister)).run_script(command)
        process.stdout.write(out.encode())
        process.stderr.write(err.encode())
        process.exit(status)

    def write_client_files(self, directory: Path) -> dict[str, Any]:
        """Client key, known_hosts and ssh config in ``directory``: the SSHOptions overrides."""
        directory.mkdir(parents=True, exist_ok=True)
        key = directory / "id_ed25519"
        self.client_key.write_private_key(str(key))
        key.chmod(0o600)
        known = directory / "known_hosts"
        public = self.host_key.export_public_key().decode().split()
        known.write_text(f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n")
        nodes = self.nodes()
        config = directory / "ssh_config"
        config.write_text("".join(f"Host {name}\n    HostName 127.0.0.1\n    Port {self.port}\n"
                                  f"    User {name}\n    IdentityFile {key}\n" for name in nodes))
        return dict(config_files=(str(config),), known_hosts=str(known), client_keys=(str(key),),
                    agent_path=None, node_addresses={name: name for name in nodes})

    async def stop(self) -> None:
        """Stop listening and cut every open connection, as a node that went away would."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for conn in list(self._connections):
            conn.abort()
        self._connections.clear()
