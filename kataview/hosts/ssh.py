"""SSH to worker nodes: one reused connection per node, read-only by construction.

OpenSSH conventions come from asyncssh itself: it reads the OpenSSH client config
(``Host``, ``HostName``, ``User``, ``Port``, ``IdentityFile``), uses the ssh-agent
(``SSH_AUTH_SOCK``) and checks ``known_hosts``. Host keys are always verified (see
:mod:`kataview.hosts.hostkeys`), jump hosts' too: kataview opens ``ProxyJump`` legs itself,
with the same options as the node's own connection (see :mod:`kataview.hosts.jump`).

The read-only guard lives here, at the transport: :meth:`NodeConnection.run_script` sends a
command line only if :func:`allowlist.is_allowed` accepts it, and
:meth:`NodeConnection.read_monitor` opens only a shim monitor socket path. Anything else
raises :class:`CommandRefused` before a byte leaves the process.

Root: when the login user is not uid 0, commands that need root are run with ``sudo -n``;
a sudo that wants a password is reported in one line (:class:`SudoPasswordRequired`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import getpass
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from kataview.hosts import commands as cmd
from kataview.hosts.allowlist import is_allowed
from kataview.hosts.bounded import http_get_capped, run_capped
from kataview.hosts.demo_nodes import check_demo_node
from kataview.hosts.egress import check_dial
from kataview.hosts.errors import (AuthenticationFailed, CommandRefused, CommandTimeout,
                                   ConnectionRefused, HostKeyError, NodeError, NodeUnreachable,
                                   SSHFailure, SudoMissing, SudoPasswordRequired)
from kataview.hosts.hostkeys import (KeyRecorder, OfferedKey, default_known_hosts, known_keys,
                                     refusal)
from kataview.hosts.jump import (DEFAULT_PORT, Hop, HostConfig, close_all, describe, host_config,
                                 jump_chain)
from kataview.model.records import Node

logger = logging.getLogger("kataview.ssh")

_SUDO_PASSWORD = ("a password is required", "a terminal is required", "no tty present")
_SUDO_MISSING = ("sudo: not found", "sudo: command not found")


@dataclass(frozen=True)
class SSHOptions:
    """How to reach nodes. ``None`` means "as OpenSSH would": config, agent, default keys."""

    config_files: tuple[str, ...] = ()  # OpenSSH client config files (default ~/.ssh/config)
    known_hosts: str | None = None  # default ~/.ssh/known_hosts
    client_keys: tuple[str, ...] | None = None  # None: agent, IdentityFile, ~/.ssh/id_*
    agent_path: str | None | bool = True  # True: $SSH_AUTH_SOCK; None: no agent
    username: str | None = None  # None: the config's User, else the local user
    port: int | None = None  # None: the config's Port, else 22
    connect_timeout: float = 10.0
    command_timeout: float = 15.0
    monitor_timeout: float = 1.0
    node_addresses: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> SSHOptions:
        config = settings.ssh_config or str(Path("~", ".ssh", "config").expanduser())
        values = dict(
            config_files=(config,) if settings.ssh_config or os.path.isfile(config) else (),
            connect_timeout=float(settings.connect_timeout),
            node_addresses=dict(settings.node_addresses),
        )
        values.update(overrides)
        return cls(**values)

    def known_hosts_path(self, configured: str | None = None) -> str:
        """As OpenSSH: ours if set, else the config's UserKnownHostsFile, else ~/.ssh's."""
        return os.path.expanduser(self.known_hosts or configured or default_known_hosts())

    def known_hosts_files(self, where: HostConfig) -> list[str]:
        """Every file a host key is checked against, as OpenSSH: ours if set, else all of the
        config's UserKnownHostsFile for this host, else ~/.ssh/known_hosts."""
        if self.known_hosts:
            return [os.path.expanduser(self.known_hosts)]
        return list(where.known_hosts_files) or [self.known_hosts_path(where.known_hosts)]


def ssh_config_names_host(config_files: Sequence[str], name: str) -> bool:
    """Whether the OpenSSH config gives `name` a HostName (so connecting by name works)."""
    try:
        config = asyncssh.config.SSHClientConfig.load(
            None, list(config_files), False, False, False, getpass.getuser(), "", name, 22)
    except (OSError, asyncssh.Error, ValueError):
        return False
    hostname = config.get("Hostname")
    return bool(hostname) and hostname != name


@dataclass(frozen=True)
class _Leg:
    """One connection on the way to a node: a jump host, or the node itself."""

    label: str  # whom a host-key refusal names: the node, or "jump host A for node N"
    who: str  # whom the other errors name
    host: str  # what asyncssh connects to: a config Host name or an address
    port: int | None  # None: the config's Port
    username: str | None  # None: the config's User
    where: HostConfig  # the HostName and Port the config gives host
    via: str = ""  # the jump host this leg is reached through
    jump: str = ""  # this leg's jump host name, when it is one


class NodeConnection:
    """One open SSH connection to one node, with the read-only guard in front of it.

    ``jumps``: the connections to its jump hosts (nearest first), closed with it."""

    def __init__(self, node: str, address: str, conn: Any, options: SSHOptions,
                 jumps: Sequence[Any] = ()) -> None:
        self.node, self.address, self.options = node, address, options
        self._conn = conn
        self.jumps = tuple(jumps)
        self.uid: int | None = None
        self.runs = 0  # batches sent: a used connection may have dropped since
        self.last_note = ""  # "output cut at 8 MiB" when the last command said too much

    @property
    def closed(self) -> bool:
        return self._conn.is_closed()

    @property
    def needs_sudo(self) -> bool:
        return self.uid != 0

    @property
    def unguarded(self) -> Any:
        """The asyncssh connection without the read-only guard: only the setup layer's own
        guarded channel (kataview.setup.ssh_executor.SetupChannel) may use it."""
        return self._conn

    async def run_script(self, script: str) -> tuple[str, str, int | None]:
        """Send one allowlisted command line or batch; refuse anything else unsent."""
        if not is_allowed(script):
            raise CommandRefused(self.node, f"refused to send a command outside the read-only "
                                            f"allowlist to {self.node}: {script[:80]!r}")
        try:
            stdout, stderr, status, self.last_note = await run_capped(
                self._conn, script, self.options.command_timeout)
        except (asyncssh.TimeoutError, TimeoutError):
            raise CommandTimeout(self.node, f"{self.node} did not answer within "
                                            f"{self.options.command_timeout:g}s") from None
        except (asyncssh.Error, OSError) as error:
            raise SSHFailure(self.node, f"SSH to {self.node} failed: {_reason(error)}") from error
        if self.last_note:
            logger.warning("%s: %s (%s)", self.node, self.last_note, script[:60])
        return _text(stdout), _text(stderr), status

    async def run(self, commands: Sequence[cmd.Command],
                  root: Sequence[bool] | bool = False) -> list[cmd.CommandResult]:
        """Run commands in one round trip. ``root``: which need root (sudo -n if not uid 0)."""
        flags = [root] * len(commands) if isinstance(root, bool) else list(root)
        sudo = [flag and self.needs_sudo for flag in flags]
        stdout, stderr, _ = await self.run_script(cmd.batch(commands, sudo=sudo))
        self.runs += 1
        results = cmd.split_batch(stdout, stderr)
        if self.last_note and results:  # the command whose output was cut says so
            results[-1] = dataclasses.replace(results[-1], note=self.last_note)
        for result, used_sudo in zip(results, sudo):
            if used_sudo and result.exit_code != 0:
                self.check_sudo(result.stderr)
        return results

    def check_sudo(self, stderr: str) -> None:
        """Raise SudoPasswordRequired / SudoMissing when a failed sudo's stderr says so."""
        if any(text in stderr for text in _SUDO_PASSWORD):
            raise SudoPasswordRequired(self.node)
        if any(text in stderr for text in _SUDO_MISSING):
            raise SudoMissing(self.node)

    async def read_monitor(self, path: str, request_path: str = "/metrics") -> str:
        """GET ``request_path`` from a shim monitor socket on the node; raises on failure."""
        if not cmd.is_monitor_socket(path) or request_path not in ("/metrics",):
            raise CommandRefused(self.node, f"refused to open {path!r} on {self.node}: "
                                            "not a shim monitor socket")
        return await asyncio.wait_for(http_get_capped(self._conn, path, request_path),
                                      self.options.monitor_timeout)

    async def learn_uid(self) -> None:
        stdout, _, code = await self.run_script(cmd.Id().render())
        self.uid = int(stdout.strip()) if code == 0 and stdout.strip().isdigit() else None

    def close(self) -> None:
        self._conn.close()
        for jump in reversed(self.jumps):
            jump.close()

    async def wait_closed(self, timeout: float = 2.0) -> None:
        await close_all([*self.jumps, self._conn], wait=timeout)


class SSHPool:
    """One connection per node, opened on first use and reused until it drops."""

    def __init__(self, options: SSHOptions | None = None) -> None:
        self.options = options or SSHOptions()
        self._connections: dict[str, NodeConnection] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def address_of(self, node: Node) -> str:
        """The override from kataview's config file; else the node's name when the OpenSSH
        config has a `Host` block for it with a HostName (operators write `Host k8s-worker-*`,
        not IP addresses); else InternalIP, then Hostname, else the name."""
        override = self.options.node_addresses.get(node.name)
        if override:
            return override
        if self.options.config_files and ssh_config_names_host(self.options.config_files, node.name):
            return node.name
        return node.address() or node.name

    async def connection(self, node: Node) -> NodeConnection:
        lock = self._locks.setdefault(node.name, asyncio.Lock())
        async with lock:
            current = self._connections.get(node.name)
            if current is not None and not current.closed:
                return current
            if current is not None:
                current.close()  # its jump connections may still be open
            address = check_demo_node(node, self.address_of(node), self._where)
            fresh = await self._open(node.name, address)
            self._connections[node.name] = fresh
            return fresh

    async def run(self, node: Node, commands: Sequence[cmd.Command],
                  root: Sequence[bool] | bool = False) -> list[cmd.CommandResult]:
        """Run on the pooled connection; one retry on a fresh one if the old one dropped."""
        connection = await self.connection(node)
        reused = connection.runs > 0
        try:
            return await connection.run(commands, root)
        except SSHFailure:
            if not reused:
                raise
            self.forget(node.name)  # a warm connection that dropped: one retry on a fresh one
            return await (await self.connection(node)).run(commands, root)

    def connected(self) -> list[str]:
        """The names of the nodes with a pooled connection (open or not yet found dropped)."""
        return list(self._connections)

    def forget(self, name: str) -> None:
        connection = self._connections.pop(name, None)
        if connection is not None:
            connection.close()

    async def close(self) -> None:
        for name in list(self._connections):
            await self._connections.pop(name).wait_closed()

    async def __aenter__(self) -> SSHPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _open(self, name: str, address: str) -> NodeConnection:
        """Connect to the node, through its ProxyJump hosts (each verified like a node)."""
        options = self.options
        try:
            hops = jump_chain(options.config_files, address)
        except (ValueError, OSError) as error:
            raise SSHFailure(name, f"cannot follow the ProxyJump for {address} ({name}) in "
                                   f"{', '.join(options.config_files)}: {_reason(error)}") from None
        jumps: list[Any] = []
        try:
            for index, hop in enumerate(hops):
                leg = self._jump_leg(name, hop, hops[index - 1].host if index else "")
                jumps.append(await self._connect(name, leg, jumps))
            conn = await self._connect(name, self._node_leg(name, address, hops), jumps)
        except BaseException:
            await close_all(jumps)
            raise
        connection = NodeConnection(name, address, conn, options, jumps)
        try:
            await connection.learn_uid()
        except NodeError:
            connection.close()
            raise
        return connection

    def _where(self, host: str, port: int | None) -> HostConfig:
        try:
            return host_config(self.options.config_files, host, port)
        except (ValueError, OSError):
            return HostConfig(host, port or DEFAULT_PORT, None)

    def _node_leg(self, name: str, address: str, hops: Sequence[Hop]) -> _Leg:
        options, via = self.options, hops[-1].host if hops else ""
        who = f"{address} ({name}, via jump host {via})" if via else f"{address} ({name})"
        return _Leg(name, who, address, options.port, options.username,
                    self._where(address, options.port), via)

    def _jump_leg(self, name: str, hop: Hop, via: str) -> _Leg:
        where = self._where(hop.host, hop.port)
        return _Leg(f"jump host {hop} for node {name}", describe(hop, where, name), hop.host,
                    hop.port, hop.username, where, via, jump=str(hop))

    def _connect_kwargs(self, leg: _Leg, jumps: Sequence[Any], factory: Any) -> dict[str, Any]:
        """The same options for every leg; an explicit tunnel (None: direct) makes asyncssh
        ignore the config's ProxyJump, which :meth:`_open` has followed itself."""
        options = self.options
        files = [path for path in options.known_hosts_files(leg.where) if os.path.isfile(path)]
        kwargs: dict[str, Any] = dict(
            config=list(options.config_files),  # []: never read ~/.ssh/config behind our back
            client_factory=factory, tunnel=jumps[-1] if jumps else None,
            known_hosts=asyncssh.read_known_hosts(files) if files else asyncssh.import_known_hosts(""),
            connect_timeout=options.connect_timeout)
        if leg.port is not None:
            kwargs["port"] = leg.port
        if leg.username is not None:
            kwargs["username"] = leg.username
        if options.client_keys is not None:
            kwargs["client_keys"] = list(options.client_keys)
        if options.agent_path is not True:
            kwargs["agent_path"] = options.agent_path
        return kwargs

    async def _connect(self, name: str, leg: _Leg, jumps: Sequence[Any]) -> Any:
        """One asyncssh connection; every failure becomes a one-line NodeError for ``name``."""
        known_hosts = self.options.known_hosts_files(leg.where)
        timeout = self.options.connect_timeout
        recorder: list[KeyRecorder] = []

        def factory() -> KeyRecorder:
            recorder.append(KeyRecorder())
            return recorder[-1]

        kwargs = self._connect_kwargs(leg, jumps, factory)
        check_dial(leg.where.hostname, leg.where.port, f"SSH to {leg.who}")  # tests fence it
        try:
            return await asyncssh.connect(leg.host, **kwargs)
        except asyncssh.HostKeyNotVerifiable:
            offered = recorder[-1].offered if recorder else None
            error: NodeError = refusal(leg.label, known_hosts, leg.where.hostname, leg.where.port,
                                       offered)
        except (asyncssh.KeyExchangeFailed, asyncssh.ConnectionLost, ConnectionResetError) as problem:
            # known_hosts restricts the key types asked for: a host that changed its key to
            # another type fails the key exchange instead
            error = await self._kex_failure(name, leg, known_hosts, kwargs, problem)
        except asyncssh.PermissionDenied:
            user = leg.username or leg.where.user
            user = f"{user}@" if user else ""
            error = AuthenticationFailed(name, (
                f"authentication failed for {user}{leg.who}: the server refused every key offered "
                "(ssh-agent, IdentityFile, default keys); check User and IdentityFile in the ssh "
                "config"))
        except asyncssh.ChannelOpenError as problem:  # the jump host could not reach this leg
            error = NodeUnreachable(name, f"jump host {leg.via} could not connect to "
                                          f"{leg.where.hostname}:{leg.where.port} for node {name}: "
                                          f"{_reason(problem)}")
        except TimeoutError:
            error = NodeUnreachable(name, f"no answer from {leg.who} within {timeout:g}s")
        except ConnectionRefusedError:
            error = ConnectionRefused(name, f"connection refused by {leg.who}: is sshd running, "
                                            "and is the port right (Port in ssh config)?")
        except (OSError, socket.gaierror) as problem:
            error = NodeUnreachable(name, f"cannot reach {leg.who}: {_reason(problem)}")
        except asyncssh.Error as problem:
            error = SSHFailure(name, f"SSH to {leg.who} failed: {_reason(problem)}")
        error.node = name  # a jump host's refusal too: the node is what could not be reached
        if isinstance(error, HostKeyError):
            error.jump_host = leg.jump  # whose key it is, when not the node's
        raise error

    async def _kex_failure(self, name: str, leg: _Leg, known_hosts: list[str],
                           kwargs: dict[str, Any], error: Exception) -> NodeError:
        host, port = leg.where.hostname, leg.where.port
        if known_keys(known_hosts, host, None, port):
            try:  # what ssh-keyscan would see
                key = await asyncio.wait_for(asyncssh.get_server_host_key(
                    leg.host, port=kwargs.get("port", ()), tunnel=kwargs["tunnel"],
                    config=kwargs["config"]), self.options.connect_timeout)
            except (asyncssh.Error, OSError, TimeoutError):
                key = None
            if key is not None:
                return refusal(leg.label, known_hosts, host, port, OfferedKey(host, "", port, key))
        return SSHFailure(name, f"SSH key exchange with {leg.who} failed: {_reason(error)}")


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "no route to host"
    text = getattr(error, "reason", None) or getattr(error, "strerror", None) or str(error)
    return text or type(error).__name__


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
