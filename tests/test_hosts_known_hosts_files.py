"""UserKnownHostsFile from the OpenSSH config is honoured as OpenSSH does (issue 13, finding
10): several files, `~` expanded, each checked; a key found in the second one is trusted.
Against an in-process asyncssh server on loopback."""

from __future__ import annotations

import asyncssh
import pytest

from kataview.hosts.errors import UnknownHostKey
from kataview.hosts.ssh import SSHOptions, SSHPool
from kataview.model.records import Node, NodeAddress


class Answer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key) -> bool:
        return True


async def answer(process) -> None:
    process.stdout.write("0\n")
    process.exit(0)


@pytest.fixture
async def server(tmp_path):
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    listener = await asyncssh.listen("127.0.0.1", 0, server_host_keys=[host_key], server_factory=Answer,
                                     process_factory=answer)
    port = listener.sockets[0].getsockname()[1]
    yield host_key.convert_to_public(), port
    listener.close()
    await listener.wait_closed()


async def test_a_key_in_the_second_user_known_hosts_file_is_trusted(server, tmp_path, monkeypatch):
    key, port = server
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "first").write_text("")
    line = key.export_public_key("openssh").decode().strip()
    (tmp_path / "second").write_text(f"[127.0.0.1]:{port} {line}\n")
    config = tmp_path / "ssh_config"
    config.write_text(f"Host 127.0.0.1\n  UserKnownHostsFile ~/first ~/second\n  User kv\n")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    options = SSHOptions(config_files=(str(config),), port=port, client_keys=(client_key,), agent_path=None)
    node = Node("node-1", addresses=(NodeAddress("InternalIP", "127.0.0.1"),))
    async with SSHPool(options) as pool:
        connection = await pool.connection(node)
        assert connection.uid == 0

    (tmp_path / "second").write_text("")  # nowhere now: unknown, and the first file is named
    async with SSHPool(options) as pool:
        with pytest.raises(UnknownHostKey) as caught:
            await pool.connection(node)
    assert caught.value.known_hosts == str(tmp_path / "first")
