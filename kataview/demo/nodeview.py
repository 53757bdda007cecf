"""What one demo Kata worker node runs, derived from the demo store's objects.

Each Running pod whose RuntimeClass handler is a Kata one has a shim, two virtiofsd and a
QEMU (``kata``, ``kata-qemu``) or a Cloud Hypervisor (``kata-clh``), with command lines
shaped like tests/corpus; other pods get a runc shim and a pause process. ``NodeView``
gives the process table, a VMM's argv and /proc facts, persist.json and the shim's metrics
page; kataview.demo.nodeshell turns them into what a node's commands print.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone

Lister = Callable[[str], list]  # kind -> list of API objects (the demo's ObjectStore.list)

KATA_BIN = "/opt/kata/bin"
KATA_SHARE = "/opt/kata/share/kata-containers"
KERNEL = f"{KATA_SHARE}/vmlinux-6.1.62-132"
IMAGE = f"{KATA_SHARE}/kata-ubuntu-latest.image"
NPROC, HOST_MEM_MIB, GUEST_MEM_MIB = 8, 32058, 2048
UNAME = "6.1.0-28-amd64"


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
        self.lister = lister
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

