"""VM detail over SSH (prints; not a timed test): `python bench/bench_vm.py [HOSTS] [ROUNDS]`.

Needs root, sshd, qemu-system-x86_64, ip, unshare, nsenter (the test hosts of tests/testhosts.py).

- one pod's VM detail: cold (new SSH connection) and warm (pooled), median of ROUNDS;
  as uid 0 (no sudo) and as a user with sudo NOPASSWD for the read-only commands
- list every Kata VM on HOSTS test hosts (each with its own sshd and 1-2 paused QEMUs) at
  once: cold, and warm
- memory: RSS of everything a test host runs
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from kataview.hosts.ssh import SSHPool  # noqa: E402
from kataview.hosts.vmfacts import VMDetailGatherer  # noqa: E402
from testhosts import SUDOERS_NOPASSWD, TestNet, node_for, pod_for, ssh_options  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


async def detail_rounds(net: TestNet, host, vm, user: str, rounds: int) -> tuple[list[float], list[float]]:
    node, pod = node_for(host), pod_for(vm, node_for(host).name)
    cold, warm = [], []
    for _ in range(rounds):
        async with SSHPool(ssh_options(net, user=user)) as pool:
            gatherer = VMDetailGatherer(pool)
            started = time.perf_counter()
            detail = await gatherer.fetch(pod, node)
            cold.append(time.perf_counter() - started)
            for _ in range(5):
                started = time.perf_counter()
                detail = await gatherer.fetch(pod, node)
                warm.append(time.perf_counter() - started)
        assert detail.pid == vm.pid and detail.vcpus_boot == vm.vcpus
    return cold, warm


async def list_rounds(net: TestNet, rounds: int) -> tuple[list[float], list[float], int]:
    nodes = [node_for(host) for host in net.hosts]
    cold, warm, count = [], [], 0
    for _ in range(rounds):
        async with SSHPool(ssh_options(net)) as pool:
            gatherer = VMDetailGatherer(pool)
            started = time.perf_counter()
            result = await gatherer.list_all(nodes)
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = await gatherer.list_all(nodes)
            warm.append(time.perf_counter() - started)
        failures = [r for r in result.values() if isinstance(r, Exception)]
        assert not failures, failures
        count = sum(len(r) for r in result.values())
    return cold, warm, count


def host_rss_mib(host) -> float:
    out = host.run("ps", "-eo", "rss=").stdout.split()
    return sum(int(v) for v in out) / 1024


def main() -> None:
    hosts, rounds = (int(a) for a in (sys.argv[1:] + ["20", "5"])[:2])
    if os.geteuid() != 0:
        sys.exit("bench_vm needs root (network namespaces)")
    os.makedirs("/run/sshd", exist_ok=True)
    with TestNet() as net:
        started = time.perf_counter()
        for index in range(hosts):
            host = net.add_host(sudoers=SUDOERS_NOPASSWD)
            for n in range(index % 2 + 1):
                vm = host.start_qemu(vcpus=n + 1, memory_mib=512, maxmem_mib=1024, pod_name=f"pod-{index}-{n}")
                host.write_persist(vm)
            host.install_crictl()
        print(f"{hosts} test hosts, {sum(len(h.vms) for h in net.hosts)} paused QEMUs up in "
              f"{time.perf_counter() - started:.1f} s; one host runs {host_rss_mib(net.hosts[0]):.0f} MiB "
              f"(init, sshd, {len(net.hosts[0].vms)} QEMU)")
        first = net.hosts[0]
        first.start_monitor(first.vms[0])
        for user in ("kvtest", "kvuser"):
            cold, warm = asyncio.run(detail_rounds(net, first, first.vms[0], user, rounds))
            label = "uid 0" if user == "kvtest" else "sudo -n"
            print(f"VM detail ({label:7}): cold median {ms(statistics.median(cold))}  "
                  f"warm median {ms(statistics.median(warm))}  warm max {ms(max(warm))}")
        cold, warm, count = asyncio.run(list_rounds(net, rounds))
        print(f"list VMs on {hosts} hosts at once ({count} VMs): cold median "
              f"{ms(statistics.median(cold))}  warm median {ms(statistics.median(warm))}")


if __name__ == "__main__":
    main()
