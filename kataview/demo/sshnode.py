"""The demo's Kata worker nodes: one small asyncssh server that answers like a real node.

kataview sends each node a ``sh`` script (a batch of allowlisted commands framed by
``printf`` markers). ``nodeshell.Shell`` interprets just that subset of ``sh`` — ``printf``
with ``%s`` and ``"$?"``, ``>&2``, ``</dev/null``, ``sudo -n`` — and the commands kataview
runs: ``ps -ww -eo pid=,ppid=,rss=,pcpu=,etimes=,args=``, ``crictl pods/inspectp``,
``ctr c info``, ``cat`` of ``/proc/<pid>/{cmdline,status,stat}`` and persist.json,
``id -u``, ``uname -r``, ``nproc``. A direct unix-socket channel to a sandbox's
``shim-monitor.sock`` gets a Prometheus ``/metrics`` page. Everything else fails as a
shell would (``not found``, exit 127).

What the nodes run (``nodeview.NodeView``) is read from the demo's object store on every
request, so a pod the demo adds (or deletes) gets (or loses) its VM: each Running pod whose
RuntimeClass handler is a Kata one has a shim, two virtiofsd and a QEMU (``kata``,
``kata-qemu``) or a Cloud Hypervisor (``kata-clh``), with command lines shaped like
tests/corpus. This module is the SSH side: the server, its sessions and the
shim-monitor channel.

One server serves every node: the login user names the node. ``write_client_files``
writes a client key, a known_hosts line and an OpenSSH config with one ``Host <node>``
block each (HostName 127.0.0.1, the port, User <node>, the key, UserKnownHostsFile), so the
real client path (config, known_hosts verification, public-key auth) is used without
touching ~/.ssh, by kataview as by ``ssh -F``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncssh

from .nodeshell import Shell
from .nodeview import Lister, NodeView

_MONITOR = re.compile(r"/run/vc/sbs/([0-9a-f]{64})/shim-monitor\.sock")


class _Server(asyncssh.SSHServer):
    def __init__(self, node: DemoSSHNode) -> None:
        self.node, self.user = node, ""

    def connection_made(self, conn: Any) -> None:
        self.node.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.node.connections.difference_update(
            {conn for conn in self.node.connections if conn.is_closed()})

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
        self.connections: set[Any] = set()  # open client connections, which stop() cuts
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
                                  f"    User {name}\n    IdentityFile {key}\n    IdentitiesOnly yes\n"
                                  f"    UserKnownHostsFile {known}\n" for name in nodes))
        return dict(config_files=(str(config),), known_hosts=str(known), client_keys=(str(key),),
                    agent_path=None, node_addresses={name: name for name in nodes})

    async def stop(self) -> None:
        """Stop listening and cut every open connection, as a node that went away would."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()
