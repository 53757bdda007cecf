"""ProxyJump, followed by kataview itself so every leg gets the same host-key policy.

asyncssh can follow an OpenSSH ``ProxyJump`` on its own, but it opens the jump legs without
the caller's options: the jump host's key would be checked against ~/.ssh/known_hosts rather
than kataview's, a refused key would not be explained, and kataview's client keys, agent
choice and connect timeout would not apply. So the pool reads the ProxyJump here, opens each
jump leg like the node itself (see :meth:`kataview.hosts.ssh.SSHPool._open`) and hands
asyncssh an explicit ``tunnel=``, which makes it ignore the config's ProxyJump.

As in OpenSSH, ``ProxyJump a,b`` reaches ``b`` through ``a``; ``a``'s own ProxyJump (from its
Host block) is followed too, the later hops' are not; ``ProxyJump none`` means none.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncssh

DEFAULT_PORT = 22
MAX_HOPS = 8


@dataclass(frozen=True)
class Hop:
    """One jump host as written in ProxyJump (``[user@]host[:port]``, ``ssh://...``)."""

    host: str  # a config Host name or an address
    port: int | None = None  # None: the config's Port for host, else 22
    username: str | None = None  # None: the config's User for host, else the local user

    def __str__(self) -> str:
        return self.host


@dataclass(frozen=True)
class HostConfig:
    """What the OpenSSH config says about one host name."""

    hostname: str  # HostName, else the name itself
    port: int
    proxy_jump: str | None
    user: str | None = None  # User, if the config sets one
    known_hosts: str | None = None  # the first UserKnownHostsFile, if the config sets one
    known_hosts_files: tuple[str, ...] = ()  # every UserKnownHostsFile, ~ expanded


def host_config(config_files: Sequence[str], name: str, port: int | None = None) -> HostConfig:
    """Apply the config's Host/Match blocks to ``name``; raises ValueError/OSError if unreadable."""
    try:
        config = asyncssh.config.SSHClientConfig.load(
            None, list(config_files), False, False, False, getpass.getuser(), (), name,
            port if port is not None else ())
    except asyncssh.Error as error:
        raise ValueError(str(error)) from None
    jump = config.get("ProxyJump")  # asyncssh turns "none" into None
    known = config.get("UserKnownHostsFile") or ()
    return HostConfig(str(config.get("Hostname", name) or name),
                      int(port if port is not None else config.get("Port", DEFAULT_PORT)),
                      str(jump) if jump else None, config.get("User") or None,
                      str(known[0]) if known else None,
                      tuple(os.path.expanduser(str(path)) for path in known))


def parse_proxy_jump(value: str) -> list[Hop]:
    """``a,user@b:2222,ssh://c,[fe80::1]:22`` into hops; ValueError for anything else."""
    hops = []
    for item in value.split(","):
        item = item.strip()
        if item.startswith("ssh://"):
            item = item.removeprefix("ssh://").rstrip("/")
        user, _, hostport = item.rpartition("@")
        if hostport.startswith("["):
            host, _, rest = hostport[1:].partition("]")
            port = rest.removeprefix(":")
        elif hostport.count(":") == 1:
            host, _, port = hostport.partition(":")
        else:
            host, port = hostport, ""
        bad_port = bool(port) and not (port.isdigit() and 0 < int(port) < 65536)
        if not host or bad_port or any(c.isspace() or c in "@/" for c in host):
            raise ValueError(f"not a ProxyJump host: {item!r}")
        hops.append(Hop(host, int(port) if port else None, user or None))
    return hops


def jump_chain(config_files: Sequence[str], target: str) -> list[Hop]:
    """The jump hosts on the way to ``target``, nearest first; [] without a ProxyJump.

    Raises ValueError for a ProxyJump that cannot be parsed or loops."""
    if not config_files:
        return []
    chain: list[Hop] = []
    seen = {target}
    value = host_config(config_files, target).proxy_jump
    while value:
        hops = parse_proxy_jump(value)
        chain[:0] = hops
        if len(chain) > MAX_HOPS or hops[0].host in seen:
            raise ValueError(f"the ProxyJump chain to {target} loops or has more than "
                             f"{MAX_HOPS} hops")
        seen.add(hops[0].host)
        value = host_config(config_files, hops[0].host).proxy_jump
    return chain


def describe(hop: Hop, config: HostConfig, node: str) -> str:
    """How messages name a jump host: ``bastion (10.0.0.9, jump host for node worker-1)``."""
    where = config.hostname if config.port == DEFAULT_PORT else f"{config.hostname}:{config.port}"
    if where == hop.host:
        return f"{hop.host} (jump host for node {node})"
    return f"{hop.host} ({where}, jump host for node {node})"


async def close_all(connections: Sequence[Any], wait: float | None = None) -> None:
    """Close connections, last opened first; with ``wait``, wait up to that long for each."""
    for connection in reversed(connections):
        connection.close()
    if wait is not None:
        for connection in reversed(connections):
            try:
                await asyncio.wait_for(connection.wait_closed(), wait)
            except (TimeoutError, OSError, asyncssh.Error):
                pass

