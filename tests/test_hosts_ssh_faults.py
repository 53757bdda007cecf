"""Faults on real parts: each one ends in one clear line, quickly, and nothing hangs."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time

import pytest
from testhosts import SUDOERS_NOPASSWD, node_for, pod_for, ssh_options, testnet  # noqa: F401

from kataview.hosts.discovery import locate
from kataview.hosts.errors import (AuthenticationFailed, ConnectionRefused, NodeUnreachable,
                                   SandboxAmbiguous, SandboxNotFound, SudoPasswordRequired, VMGone)
from kataview.hosts.ssh import SSHPool
from kataview.hosts.vmfacts import VMDetailGatherer, find_sandbox, read_facts
from kataview.model.records import ContainerStatus, Node, NodeAddress


async def test_host_unreachable(testnet):
    testnet.add_host()
    nobody = Node("ghost", addresses=(NodeAddress("InternalIP", f"10.213.{testnet.octet}.250"),))
    started = time.monotonic()
    async with SSHPool(ssh_options(testnet, connect_timeout=1.0)) as pool:
        with pytest.raises(NodeUnreachable) as caught:
            await pool.connection(nobody)
    assert time.monotonic() - started < 5
    assert "ghost" in str(caught.value) and "\n" not in str(caught.value)


async def test_connection_refused(testnet):
    host = testnet.add_host()
    async with SSHPool(ssh_options(testnet, port=2200)) as pool:
        with pytest.raises(ConnectionRefused, match="connection refused by 10.213"):
            await pool.connection(node_for(host))


async def test_authentication_failure(testnet, tmp_path):
    host = testnet.add_host()
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    options = ssh_options(testnet, config_files=(), username="kvtest", client_keys=(str(stranger),))
    async with SSHPool(options) as pool:
        with pytest.raises(AuthenticationFailed, match="authentication failed for kvtest@"):
            await pool.connection(node_for(host))


async def test_sudo_asking_for_a_password_is_one_line_and_does_not_hang(testnet):
    host = testnet.add_host(sudoers=SUDOERS_NOPASSWD)  # kvpass: sudo with a password only
    vm = host.start_qemu(pod_name="p")
    host.install_crictl()
    node = node_for(host, "worker-7")
    started = time.monotonic()
    async with SSHPool(ssh_options(testnet, user="kvpass")) as pool:
        with pytest.raises(SudoPasswordRequired) as caught:
            await VMDetailGatherer(pool).fetch(pod_for(vm, node.name), node)
    assert time.monotonic() - started < 5
    assert str(caught.value) == ("sudo on worker-7 needs a password; allow NOPASSWD for the "
                                 "read-only commands or connect as root")


async def test_crictl_missing_falls_back_to_processes(testnet):
    host = testnet.add_host()
    vm = host.start_qemu(vcpus=2, pod_name="p")
    node = node_for(host)
    # a container id makes kataview ask the real ctr too; containerd does not run there
    containers = (ContainerStatus("nginx", container_id="containerd://" + "c" * 64),)
    async with SSHPool(ssh_options(testnet)) as pool:
        gatherer = VMDetailGatherer(pool)
        detail = await gatherer.fetch(pod_for(vm, node.name, containers=containers), node)
        assert detail.sandbox.id == vm.sandbox_id and detail.pid == vm.pid
        assert detail.sandbox.found_by == "only-sandbox"
        assert ("crictl is not installed on the node; ctr knows no sandbox for its containers"
                in detail.sandbox.notes)
        second = host.start_qemu(pod_name="q")
        with pytest.raises(SandboxAmbiguous) as caught:
            await gatherer.fetch(pod_for(vm, node.name), node)
        assert set(caught.value.candidates) == {vm.sandbox_id, second.sandbox_id}
        host.install_crictl()  # with crictl (stand-in) the same question has one answer
        assert (await gatherer.fetch(pod_for(second, node.name), node)).pid == second.pid


async def test_hypervisor_exiting_mid_read(testnet):
    host = testnet.add_host()
    vm = host.start_qemu(pod_name="p")
    host.install_crictl()
    node = node_for(host)
    pod = pod_for(vm, node.name)
    async with SSHPool(ssh_options(testnet)) as pool:
        connection = await pool.connection(node)
        sandbox, table = await find_sandbox(connection, pod)
        placement = locate(table, sandbox.id, node.name)
        host.kill_vm(vm)  # between round trip 1 (ps) and round trip 2 (/proc reads)
        with pytest.raises(VMGone, match=f"PID {vm.pid}.*exited while kataview was reading"):
            await read_facts(connection, placement)
        with pytest.raises(SandboxNotFound, match="no hypervisor or Kata shim"):
            await VMDetailGatherer(pool).fetch(pod, node)


async def test_qmp_socket_held_by_another_client_does_not_hang(testnet):
    host = testnet.add_host()
    vm = host.start_qemu(pod_name="p")
    host.install_crictl()
    node = node_for(host)
    vm_dir = os.open(host.directory / "run" / "vc" / "vm" / vm.sandbox_id, os.O_PATH)
    qmp = f"/proc/self/fd/{vm_dir}/qmp.sock"  # the full path is longer than AF_UNIX allows
    holder = socket.socket(socket.AF_UNIX)
    holder.connect(qmp)  # as the Kata runtime does
    holder.settimeout(5)
    assert b"QMP" in holder.recv(4096)
    second = socket.socket(socket.AF_UNIX)
    second.connect(qmp)
    second.settimeout(0.3)
    with pytest.raises(TimeoutError):
        second.recv(4096)  # QMP answers one client at a time: a second one waits
    try:
        started = time.monotonic()
        async with SSHPool(ssh_options(testnet)) as pool:
            detail = await asyncio.wait_for(VMDetailGatherer(pool).fetch(pod_for(vm, node.name), node), 10)
        assert time.monotonic() - started < 3
        assert detail.pid == vm.pid and "never opens it" in detail.qmp
    finally:
        second.close()
        holder.close()
        os.close(vm_dir)


async def test_a_dropped_connection_is_reopened(testnet):
    host = testnet.add_host()
    host.start_qemu()
    node = node_for(host)
    async with SSHPool(ssh_options(testnet)) as pool:
        gatherer = VMDetailGatherer(pool)
        first = await pool.connection(node)
        assert len(await gatherer.list_vms(node)) == 1
        first.close()
        assert len(await gatherer.list_vms(node)) == 1
        assert (await pool.connection(node)) is not first
