"""The warm path of VMDetailGatherer.fetch: once a pod's VM was found (by crictl) on a
connection, a refresh is one round trip of /proc reads and persist.json, without ps or
crictl, and anything that does not match what was found sends it back to full discovery.
On network-namespace test hosts running real (paused, TCG) QEMUs behind a real sshd."""

from __future__ import annotations

import dataclasses

import pytest
from testhosts import node_for, pod_for, ssh_options, testnet  # noqa: F401

from kataview.hosts.errors import SandboxNotFound
from kataview.hosts.ssh import NodeConnection, SSHPool
from kataview.hosts.vmfacts import VMDetailGatherer
from kataview.model.records import ContainerStatus


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """Every script sent to a node, in order."""
    scripts: list[str] = []
    original = NodeConnection.run_script

    async def recording(self, script: str):
        scripts.append(script)
        return await original(self, script)

    monkeypatch.setattr(NodeConnection, "run_script", recording)
    return scripts


def discovered(scripts: list[str]) -> bool:
    return any("crictl" in script and "ps -ww" in script for script in scripts)


def one_vm_host(testnet, shim: bool = True):
    host = testnet.add_host()
    vm = host.start_qemu(vcpus=2, maxcpus=6, memory_mib=1536, maxmem_mib=3072, pod_name="web-0")
    shim_pid = host.start_shim(vm) if shim else None
    host.write_persist(vm)
    host.start_monitor(vm)
    host.install_crictl()
    return host, vm, shim_pid


async def test_a_refresh_on_the_same_connection_is_one_round_trip_without_ps(testnet, sent):
    host, vm, shim = one_vm_host(testnet)
    node = node_for(host)
    pod = pod_for(vm, node.name)
    async with SSHPool(ssh_options(testnet)) as pool:
        gatherer = VMDetailGatherer(pool)
        first = await gatherer.fetch(pod, node)
        assert discovered(sent)
        sent.clear()
        again = await gatherer.fetch(pod, node)
    assert len(sent) == 1, sent
    [script] = sent
    assert "ps -ww" not in script and "crictl" not in script
    assert f"/proc/{vm.pid}/cmdline" in script and f"/proc/{shim}/stat" in script
    assert f"/run/vc/sbs/{vm.sandbox_id}/persist.json" in script
    same = ("sandbox", "kind", "pid", "binary", "vcpus_boot", "vcpus_max", "memory_mib",
            "memory_max_mib", "kernel", "image", "machine", "shim_pid", "virtiofsd_pids", "sources")
    assert {f: getattr(again, f) for f in same} == {f: getattr(first, f) for f in same}
    assert again.uptime_seconds >= first.uptime_seconds
    assert again.host_cpu_percent is not None and 10_000 < again.host_rss_kib < 200_000
    assert again.guest is not None and again.guest.mem_total_bytes == 2_000_000_000


async def test_a_vm_that_exited_is_discovered_again_and_reported(testnet, sent):
    host, vm, _ = one_vm_host(testnet, shim=False)
    node = node_for(host)
    pod = pod_for(vm, node.name)
    async with SSHPool(ssh_options(testnet)) as pool:
        gatherer = VMDetailGatherer(pool)
        await gatherer.fetch(pod, node)
        host.kill_vm(vm)
        sent.clear()
        with pytest.raises(SandboxNotFound, match="no hypervisor or Kata shim"):
            await gatherer.fetch(pod, node)
    assert discovered(sent)


async def test_another_process_under_the_known_pid_is_not_believed(testnet, sent):
    host, vm, _ = one_vm_host(testnet)
    node = node_for(host)
    pod = pod_for(vm, node.name)
    async with SSHPool(ssh_options(testnet)) as pool:
        gatherer = VMDetailGatherer(pool)
        await gatherer.fetch(pod, node)
        # as if the PID had been reused: the start time no longer matches
        [(key, known)] = gatherer.known.items()
        gatherer.known[key] = dataclasses.replace(known, vmm_start=known.vmm_start + 1)
        sent.clear()
        detail = await gatherer.fetch(pod, node)
        assert detail.pid == vm.pid and discovered(sent)
        sent.clear()
        await gatherer.fetch(pod, node)  # remembered afresh: one round trip again
        assert len(sent) == 1 and not discovered(sent)


async def test_new_containers_or_a_new_connection_mean_discovery(testnet, sent):
    host, vm, _ = one_vm_host(testnet)
    node = node_for(host)
    pod = pod_for(vm, node.name)
    async with SSHPool(ssh_options(testnet)) as pool:
        gatherer = VMDetailGatherer(pool)
        await gatherer.fetch(pod, node)
        sent.clear()
        restarted = dataclasses.replace(pod, containers=(ContainerStatus("app", container_id="containerd://" + "d" * 64),))
        await gatherer.fetch(restarted, node)
        assert discovered(sent)
        pool.forget(node.name)
        sent.clear()
        await gatherer.fetch(restarted, node)
        assert discovered(sent)


async def test_a_guess_from_the_process_table_is_never_remembered(testnet, sent):
    host = testnet.add_host()
    vm = host.start_qemu(pod_name="p")  # no crictl: the only sandbox on the node is taken
    node = node_for(host)
    pod = pod_for(vm, node.name)
    async with SSHPool(ssh_options(testnet)) as pool:
        gatherer = VMDetailGatherer(pool)
        assert (await gatherer.fetch(pod, node)).sandbox.found_by == "only-sandbox"
        sent.clear()
        await gatherer.fetch(pod, node)
    assert any("ps -ww" in script for script in sent) and not gatherer.known
