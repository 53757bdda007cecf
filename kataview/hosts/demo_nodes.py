"""A node of kataview's demo cluster is dialed on loopback only (see kataview.model.demo_node):
its InternalIP (192.168.122.x) may well be somebody's machine on a libvirt network."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from kataview.hosts.errors import NodeError
from kataview.model.demo_node import is_demo_node
from kataview.model.records import Node


class DemoNodeOffLoopback(NodeError):
    """A demo node's address is not on loopback: refused, not unreachable (no address to fix)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_demo_node(node: Node, address: str, where: Callable[[str, int | None], Any]) -> str:
    """``address``, unless a demo node would be reached off loopback (``where``: the ssh
    config's HostName for an address): then DemoNodeOffLoopback, before any dial."""
    hostname = where(address, None).hostname
    if is_demo_node(node) and not is_loopback(hostname):
        raise DemoNodeOffLoopback(node.name, (
            f"{node.name} is a node of kataview's demo cluster: it answers only on 127.0.0.1, "
            f"through the ssh config 'kataview demo --serve' printed (pass it with --ssh-config); "
            f"refusing to dial {hostname}"))
    return address
