"""ProxyJump on real parts: kataview opens every jump leg itself, with the node's own options.

Test hosts A (and C) are jump hosts for B. The connection really goes through them (B sees
A's address in $SSH_CONNECTION), A's host key is checked against kataview's known_hosts and
never the default ~/.ssh/known_hosts, kataview's client keys are offered to A, every leg is
closed with the node's connection, and a jump host's failure names it and the node.
"""

from __future__ import annotations

import subprocess
import textwrap
import time

import pytest
from testhosts import ssh_options, testnet  # noqa: F401

from kataview.hosts.errors import (AuthenticationFailed, ConnectionRefused, NodeUnreachable,
                                   UnknownHostKey)
from kataview.hosts.hostkeys import trust_host_key
from kataview.hosts.jump import Hop, jump_chain, parse_proxy_jump
from kataview.hosts.ssh import SSHPool
from kataview.hosts.vmfacts import VMDetailGatherer
from kataview.model.records import Node, NodeAddress


@pytest.fixture
def home(isolated_home, monkeypatch):
    """A HOME of its own (so ~/.ssh is a temporary one) and no ssh-agent."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    (isolated_home / ".ssh").mkdir(mode=0o700)
    return isolated_home


@pytest.fixture
def stranger(tmp_path):
    """A client key no test host authorizes."""
    path = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def write_config(path, text: str):
    path.write_text(textwrap.dedent(text))
    return path


def jump_config(net, target, jump_address: str, *, jump_port: int = 22, target_port: int = 22,
                identity: bool = True):
    """``Host node-b`` (ProxyJump jump-a) and ``Host jump-a``, in the test net's directory."""
    key = f"    IdentityFile {net.client_key}\n" if identity else ""
    return write_config(net.directory / "ssh_config_jump", (
        f"Host node-b\n    HostName {target.address}\n    Port {target_port}\n    User kvtest\n"
        f"{key}    ProxyJump jump-a\n\n"
        f"Host jump-a\n    HostName {jump_address}\n    Port {jump_port}\n    User kvtest\n{key}"))


def node_b(target) -> Node:
    return Node("node-b", addresses=(NodeAddress("InternalIP", target.address),))


def fingerprint_of(host) -> str:
    return subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f",
                           str(host.directory / "host_ed25519.pub")], check=True,
                          capture_output=True, text=True).stdout.split()[1]


async def client_address(conn) -> str:
    """The client address sshd saw for this connection (raw command: a test-only probe)."""
    result = await conn.run("echo $SSH_CONNECTION", check=True, timeout=5)
    return result.stdout.split()[0]


def ssh_sessions(host) -> list[str]:
    out = host.run("ss", "-Htn", "state", "established", f"( sport = :{host.port} )").stdout
    return [line for line in out.splitlines() if line.strip()]


def wait_for_no_sessions(host, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while ssh_sessions(host):
        assert time.monotonic() < deadline, f"sessions left open on {host.address}: {ssh_sessions(host)}"
        time.sleep(0.05)


# ---- the ProxyJump value and chain, on config files ------------------------------------------

def test_proxy_jump_forms():
    assert parse_proxy_jump("a") == [Hop("a")]
    assert parse_proxy_jump("u@b:2222,ssh://c,ssh://v@[fe80::1]:23/") == [
        Hop("b", 2222, "u"), Hop("c"), Hop("fe80::1", 23, "v")]
    for bad in ("", "a,,b", "a:x", "a:70000", "u@"):
        with pytest.raises(ValueError):
            parse_proxy_jump(bad)


def test_chain_follows_the_first_hops_own_proxy_jump_and_none(tmp_path):
    config = write_config(tmp_path / "config", """\
        Host direct bastion
            ProxyJump none
        Host inner
            ProxyJump bastion
        Host loop
            ProxyJump loop2
        Host loop2
            ProxyJump loop
        Host *
            ProxyJump inner,u@edge:2200
        """)
    files = (str(config),)
    assert jump_chain(files, "direct") == []
    assert jump_chain(files, "bastion") == []
    assert jump_chain(files, "worker-1") == [Hop("bastion"), Hop("inner"), Hop("edge", 2200, "u")]
    assert jump_chain((), "worker-1") == []  # no config files: ~/.ssh/config is never read
    with pytest.raises(ValueError, match="loops"):
        jump_chain(files, "loop")


# ---- real jump hosts -------------------------------------------------------------------------

async def test_connection_goes_through_the_jump_host_and_closes_with_it(testnet, home):
    jump, target = testnet.add_host(), testnet.add_host()
    target.start_qemu()
    options = ssh_options(testnet, config_files=(str(jump_config(testnet, target, jump.address)),))
    async with SSHPool(options) as pool:
        connection = await pool.connection(node_b(target))
        assert connection.address == "node-b" and connection.uid == 0
        assert await client_address(connection.unguarded) == jump.address  # B was reached via A
        assert len(connection.jumps) == 1
        assert await client_address(connection.jumps[0]) == f"10.213.{testnet.octet}.1"
        assert len(await VMDetailGatherer(pool).list_vms(node_b(target))) == 1
        assert len(ssh_sessions(jump)) == 1 and len(ssh_sessions(target)) == 1
        legs = [connection.unguarded, *connection.jumps]
    assert all(leg.is_closed() for leg in legs)
    wait_for_no_sessions(jump)
    wait_for_no_sessions(target)


async def test_a_chain_of_jump_hosts(testnet, home):
    first, second, target = testnet.add_host(), testnet.add_host(), testnet.add_host()
    config = write_config(testnet.directory / "ssh_config_chain", f"""\
        Host node-b
            HostName {target.address}
            ProxyJump kvtest@{first.address}:22,jump-c
        Host jump-c
            HostName {second.address}
            ProxyJump nowhere.invalid
        Host *
            User kvtest
            IdentityFile {testnet.client_key}
        """)
    async with SSHPool(ssh_options(testnet, config_files=(str(config),))) as pool:
        connection = await pool.connection(node_b(target))
        assert await client_address(connection.unguarded) == second.address
        assert await client_address(connection.jumps[1]) == first.address
        assert len(connection.jumps) == 2


async def test_jump_host_key_is_checked_against_kataviews_known_hosts(testnet, home):
    jump, target = testnet.add_host(trust=False), testnet.add_host()
    # the default ~/.ssh/known_hosts trusts A; kataview's own known_hosts does not
    key = (jump.directory / "host_ed25519.pub").read_text().split()
    (home / ".ssh" / "known_hosts").write_text(f"{jump.address} {key[0]} {key[1]}\n")
    options = ssh_options(testnet, config_files=(str(jump_config(testnet, target, jump.address)),))
    async with SSHPool(options) as pool:
        with pytest.raises(UnknownHostKey) as caught:
            await pool.connection(node_b(target))
    error = caught.value
    assert error.fingerprint == fingerprint_of(jump) and error.fingerprint in str(error)
    assert (error.node, error.host, error.port) == ("node-b", jump.address, 22)
    assert error.jump_host == "jump-a"  # the trust screen says whose key it is
    assert str(error).startswith(f"unknown host key for jump host jump-a for node node-b ({jump.address})")
    assert f"ssh-keyscan {jump.address} >> {testnet.known_hosts}" in str(error)
    assert "\n" not in str(error)
    wait_for_no_sessions(jump)
    # the operator confirmed: the entry is written for A, and the node is reached through it
    trust_host_key(error.host, error.port, error.key, error.known_hosts)
    async with SSHPool(options) as pool:
        connection = await pool.connection(node_b(target))
        assert await client_address(connection.unguarded) == jump.address


async def test_target_key_is_still_checked_through_the_jump_host(testnet, home):
    jump, target = testnet.add_host(), testnet.add_host(trust=False)
    options = ssh_options(testnet, config_files=(str(jump_config(testnet, target, jump.address)),))
    async with SSHPool(options) as pool:
        with pytest.raises(UnknownHostKey) as caught:
            await pool.connection(node_b(target))
    error = caught.value
    assert error.fingerprint == fingerprint_of(target)
    assert (error.node, error.host, error.port) == ("node-b", target.address, 22)
    assert error.jump_host == ""
    assert str(error).startswith(f"unknown host key for node-b ({target.address})")
    wait_for_no_sessions(jump)  # the jump leg opened for it was closed


async def test_client_keys_are_offered_to_the_jump_host(testnet, home, stranger):
    jump, target = testnet.add_host(), testnet.add_host()
    config = jump_config(testnet, target, jump.address, identity=False)
    options = ssh_options(testnet, config_files=(str(config),), client_keys=(str(testnet.client_key),))
    async with SSHPool(options) as pool:
        connection = await pool.connection(node_b(target))
        assert await client_address(connection.unguarded) == jump.address
    async with SSHPool(ssh_options(testnet, config_files=(str(config),),
                                   client_keys=(str(stranger),))) as pool:
        with pytest.raises(AuthenticationFailed) as caught:
            await pool.connection(node_b(target))
    assert str(caught.value).startswith(
        f"authentication failed for kvtest@jump-a ({jump.address}, jump host for node node-b)")
    assert caught.value.node == "node-b"


async def test_unreachable_or_refusing_jump_host(testnet, home):
    jump, target = testnet.add_host(), testnet.add_host()
    nobody = f"10.213.{testnet.octet}.250"
    options = ssh_options(testnet, connect_timeout=1.0,
                          config_files=(str(jump_config(testnet, target, nobody)),))
    started = time.monotonic()
    async with SSHPool(options) as pool:
        with pytest.raises(NodeUnreachable) as caught:
            await pool.connection(node_b(target))
    assert time.monotonic() - started < 5
    assert f"jump-a ({nobody}, jump host for node node-b)" in str(caught.value)
    assert caught.value.node == "node-b" and "\n" not in str(caught.value)

    refusing = jump_config(testnet, target, jump.address, jump_port=2200)
    async with SSHPool(ssh_options(testnet, config_files=(str(refusing),))) as pool:
        with pytest.raises(ConnectionRefused, match=(
                rf"connection refused by jump-a \({jump.address}:2200, jump host for node node-b\)")):
            await pool.connection(node_b(target))

    beyond = jump_config(testnet, target, jump.address, target_port=2200)  # A cannot reach B
    async with SSHPool(ssh_options(testnet, config_files=(str(beyond),))) as pool:
        with pytest.raises(NodeUnreachable, match=(
                rf"jump host jump-a could not connect to {target.address}:2200 for node node-b: "
                "Connection refused")):
            await pool.connection(node_b(target))
    wait_for_no_sessions(jump)
