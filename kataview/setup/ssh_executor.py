"""The setup's `Executor` on a remote node, over the hosts layer's SSH connection.

    async with SSHPool(options) as pool:
        executor = await SSHExecutor.open(pool, node, read_only=settings.read_only,
                                          restart_command=("systemctl", "restart", "containerd"))
        ctx = SetupContext(executor=executor, status_source=executor.status_source(socket), ...)

This is the only place that writes on a node. Every line it sends is a `SetupCommand`
(`kataview.setup.remote_commands`) and passes `SetupChannel`'s guard first: exact rendering
only, and with `read_only` on, nothing that writes (write, backup, remove, restart) is sent:
`CommandRefused` is raised before a byte leaves the process. Reads (the config, a drop-in
directory) stay allowed so that the plan and the diff work in read-only mode.

A login that is not uid 0 runs every command with `sudo -n` (a password prompt would hang).

CRI Status: asyncssh forwards a private local unix socket to the node's runtime socket
(a direct-streamlocal channel per connection; sshd's AllowStreamLocalForwarding, on by
default), and kataview's grpcio client talks to that. The socket is opened as the login user:
a non-root login needs access to the runtime socket.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence

import asyncssh

from kataview.hosts.errors import CommandRefused, CommandTimeout, SSHFailure
from kataview.hosts.ssh import NodeConnection, SSHPool
from kataview.model.records import Node
from kataview.setup.cri_status import CriStatus, CriStatusError, cri_status
from kataview.setup.executor import CommandResult
from kataview.setup.remote_commands import MISSING_EXIT, SetupCommand, command_from_line

__all__ = ["SSHExecutor", "SetupChannel"]


class SetupChannel:
    """The guard in front of the SSH connection for setup commands."""

    def __init__(self, connection: NodeConnection, *, read_only: bool,
                 restart_command: Sequence[str] = ()) -> None:
        self.connection = connection
        self.node = connection.node
        self.read_only = read_only
        self.restart_command = tuple(restart_command)
        # the hosts layer offers no public handle on the asyncssh connection; setup needs
        # stdin (file contents) and a unix-socket forward, which its read-only API refuses
        self._conn: asyncssh.SSHClientConnection = connection.unguarded
        self.sent: list[str] = []  # every line sent, in order (tests, transcript)

    def check(self, line: str) -> SetupCommand:
        """The command `line` renders, if it may be sent now; CommandRefused otherwise."""
        try:
            command = command_from_line(line, self.restart_command)
        except ValueError as error:
            raise CommandRefused(self.node, f"refused to send a line outside the setup command "
                                            f"set to {self.node}: {line[:80]!r} ({error})") from None
        if command.writes and self.read_only:
            raise CommandRefused(self.node, f"read-only mode: refused to send {command.kind!r} to "
                                            f"{self.node}; nothing was changed")
        return command

    async def send(self, command: SetupCommand, *, stdin: bytes | None = None,
                   timeout: float = 60.0) -> tuple[bytes, str, int]:
        line = command.render(sudo=self.connection.needs_sudo)
        self.check(line)
        self.sent.append(line)
        try:
            result = await self._conn.run(line, input=stdin, check=False, timeout=timeout,
                                          encoding=None)
        except asyncssh.TimeoutError:
            raise CommandTimeout(self.node, f"{self.node}: {command.kind} did not finish within "
                                            f"{timeout:g}s") from None
        except (asyncssh.Error, OSError) as error:
            raise SSHFailure(self.node, f"SSH to {self.node} failed during {command.kind}: {error}") from error
        stderr = (result.stderr or b"").decode("utf-8", "replace")
        code = result.exit_status if result.exit_status is not None else -1
        if self.connection.needs_sudo and code != 0:
            self.connection.check_sudo(stderr)
        return result.stdout or b"", stderr, code

    async def forward_socket(self, local: str, remote: str) -> Any:
        return await self._conn.forward_local_path(local, remote)


class SSHExecutor:
    """`Executor` over SSH: read, list, atomic write, backup, restore, remove, run."""

    def __init__(self, channel: SetupChannel, *, clock: Callable[[], datetime] | None = None) -> None:
        self.channel = channel
        self.name = channel.node
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._forwards: dict[str, tuple[Any, str]] = {}

    @classmethod
    async def open(cls, pool: SSHPool, node: Node, *, read_only: bool,
                   restart_command: Sequence[str] = ()) -> SSHExecutor:
        connection = await pool.connection(node)
        return cls(SetupChannel(connection, read_only=read_only, restart_command=restart_command))

    async def _checked(self, command: SetupCommand, stdin: bytes | None = None,
                       timeout: float = 60.0) -> bytes:
        out, err, code = await self.channel.send(command, stdin=stdin, timeout=timeout)
        if code != 0:
            raise OSError(f"{self.name}: {command.kind} {' '.join(command.args[:1])} failed "
                          f"(exit {code}): {err.strip().splitlines()[-1] if err.strip() else 'no message'}")
        return out

    async def read_text(self, path: str) -> str | None:
        out, err, code = await self.channel.send(SetupCommand("read", (path,)))
        if code == MISSING_EXIT:
            return None
        if code != 0:
            raise OSError(f"{self.name}: cannot read {path}: {err.strip() or f'exit {code}'}")
        return out.decode("utf-8")

    async def list_files(self, directory: str) -> list[str]:
        out = await self._checked(SetupCommand("list", (directory,)))
        return sorted(out.decode("utf-8").split(), key=lambda p: p.rsplit("/", 1)[-1])

    async def write_text(self, path: str, text: str, *,
                         before_rename: Callable[[Path], None] | None = None) -> None:
        """Atomic on the node; `before_rename` (a local hook) cannot run there and is ignored."""
        await self._checked(SetupCommand("write", (path,)), stdin=text.encode("utf-8"))

    async def backup(self, path: str, directory: str | None = None) -> str:
        stamp = self.clock().strftime("%Y%m%dT%H%M%SZ")
        out = await self._checked(SetupCommand("backup", (path, directory or "", stamp)))
        return out.decode("utf-8").strip()

    async def restore(self, backup_path: str, path: str) -> None:
        await self._checked(SetupCommand("write", (path, backup_path)))

    async def remove(self, path: str) -> None:
        await self._checked(SetupCommand("remove", (path,)))

    async def run(self, argv: Sequence[str], timeout: float = 120.0) -> CommandResult:
        """Only the configured restart command can be run (anything else is refused unsent)."""
        command = SetupCommand("restart", tuple(argv))
        try:
            out, err, code = await self.channel.send(command, timeout=timeout)
        except CommandTimeout:
            return CommandResult(tuple(argv), -9, "", f"timed out after {timeout:g} s")
        return CommandResult(tuple(argv), code, out.decode("utf-8", "replace"), err)

    # ---- CRI Status through a forwarded unix socket -------------------------------------

    async def cri_status(self, remote_socket: str, timeout: float = 5.0) -> CriStatus:
        local = await self._forward(remote_socket)
        try:
            return await cri_status(local, timeout)
        except CriStatusError as error:
            raise CriStatusError(f"{self.name}:{remote_socket} (over SSH): {error}".replace(
                f"{local}: ", "")) from None

    def status_source(self, remote_socket: str) -> Callable[[], Awaitable[CriStatus]]:
        return lambda: self.cri_status(remote_socket)

    async def _forward(self, remote: str) -> str:
        if remote in self._forwards:
            return self._forwards[remote][1]
        directory = tempfile.mkdtemp(prefix="kv-cri-")  # 0700: only we can reach the socket
        local = os.path.join(directory, "cri.sock")
        try:
            listener = await self.channel.forward_socket(local, remote)
        except (asyncssh.Error, OSError) as error:
            shutil.rmtree(directory, ignore_errors=True)
            raise CriStatusError(f"{self.name}: cannot forward {remote}: {error}") from None
        self._forwards[remote] = (listener, local)
        return local

    async def close(self) -> None:
        for listener, local in self._forwards.values():
            listener.close()
            try:
                await asyncio.wait_for(listener.wait_closed(), 2)
            except (asyncio.TimeoutError, OSError):
                pass
            shutil.rmtree(os.path.dirname(local), ignore_errors=True)
        self._forwards.clear()
