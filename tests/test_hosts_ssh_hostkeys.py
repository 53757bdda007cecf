"""Host keys are always verified: unknown keys are refused with their fingerprint and what to
do, trusted only after the operator confirms; changed keys are refused and never replaced."""

from __future__ import annotations

import subprocess

import asyncssh
import pytest
from testhosts import node_for, ssh_options, testnet  # noqa: F401

from kataview.hosts.errors import HostKeyChanged, UnknownHostKey
from kataview.hosts.hostkeys import keyscan_hint, known_hosts_name, trust_host_key
from kataview.hosts.ssh import SSHPool
from kataview.hosts.vmfacts import VMDetailGatherer


def new_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519").convert_to_public()


def fingerprint_of(pub_path) -> str:
    return subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub_path)], check=True,
                          capture_output=True, text=True).stdout.split()[1]


def test_known_hosts_names_and_hint():
    assert known_hosts_name("10.0.0.5", 22) == "10.0.0.5"
    assert known_hosts_name("10.0.0.5", 2222) == "[10.0.0.5]:2222"
    assert keyscan_hint("10.0.0.5", 2222, "~/.ssh/known_hosts") == \
        "ssh-keyscan -p 2222 10.0.0.5 >> ~/.ssh/known_hosts"
    assert keyscan_hint("node-a", 22, "/k") == "ssh-keyscan node-a >> /k"


def test_trust_appends_the_openssh_line_and_never_replaces(tmp_path):
    path = tmp_path / "ssh" / "known_hosts"
    key, other = new_key(), new_key()
    line = trust_host_key("10.0.0.5", 2222, key, path)
    assert line.startswith("[10.0.0.5]:2222 ssh-ed25519 AAAA") and line.endswith("\n")
    assert trust_host_key("10.0.0.5", 2222, key, path) == ""  # already there: not written twice
    assert trust_host_key("10.0.0.6", 22, key.export_public_key().decode(), path).startswith("10.0.0.6 ")
    before = path.read_text()
    with pytest.raises(HostKeyChanged, match="REMOTE HOST IDENTIFICATION HAS CHANGED"):
        trust_host_key("10.0.0.5", 2222, other, path)
    assert path.read_text() == before
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(ValueError):
        trust_host_key("evil host\n* ssh-ed25519", 22, key, path)
    # what OpenSSH itself reads back: the same key for the same host
    assert asyncssh.match_known_hosts(str(path), "10.0.0.5", "", 2222)[0] == [key]


async def test_unknown_key_refused_then_trusted_after_confirmation(testnet):
    host = testnet.add_host(port=2222, trust=False)
    host.start_qemu()
    node = node_for(host)
    options = ssh_options(testnet)
    async with SSHPool(options) as pool:
        with pytest.raises(UnknownHostKey) as caught:
            await pool.connection(node)
    error = caught.value
    expected = fingerprint_of(host.directory / "host_ed25519.pub")
    assert error.fingerprint == expected and expected in str(error)
    assert f"ssh-keyscan -p 2222 {host.address} >> {testnet.known_hosts}" in str(error)
    assert "\n" not in str(error)
    assert not testnet.known_hosts.exists() or host.address not in testnet.known_hosts.read_text()
    # the operator checked the fingerprint and confirmed in the TUI:
    line = trust_host_key(error.host, error.port, error.key, testnet.known_hosts)
    assert line.startswith(f"[{host.address}]:2222 ssh-ed25519 ")
    async with SSHPool(options) as pool:
        assert len(await VMDetailGatherer(pool).list_vms(node)) == 1


async def test_changed_key_is_refused_loudly_and_not_overwritten(testnet):
    host = testnet.add_host(trust=False)
    testnet.known_hosts.write_text(f"{host.address} {new_key().export_public_key().decode()}")
    before = testnet.known_hosts.read_text()
    async with SSHPool(ssh_options(testnet)) as pool:
        with pytest.raises(HostKeyChanged) as caught:
            await pool.connection(node_for(host))
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in str(caught.value)
    assert fingerprint_of(host.directory / "host_ed25519.pub") in str(caught.value)
    with pytest.raises(HostKeyChanged):
        trust_host_key(caught.value.host, caught.value.port, caught.value.key, testnet.known_hosts)
    assert testnet.known_hosts.read_text() == before


async def test_known_key_of_another_type_is_a_change_too(testnet):
    host = testnet.add_host(trust=False)
    rsa = asyncssh.generate_private_key("ssh-rsa", key_size=2048).convert_to_public()
    testnet.known_hosts.write_text(f"{host.address} {rsa.export_public_key().decode()}")
    async with SSHPool(ssh_options(testnet)) as pool:
        with pytest.raises(HostKeyChanged, match="REMOTE HOST IDENTIFICATION HAS CHANGED"):
            await pool.connection(node_for(host))
