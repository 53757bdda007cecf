"""What /proc says about a process tree: members, RSS, CPU ticks, TCP peers.

Used by bench/peers.py for the tools it starts (kataview, k9s, kubectl, inside tmux, and the
control plane). A tool's "tree" is the process and every descendant, found by walking the
PPid fields of /proc/*/status; processes that vanish in between are skipped.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def status_fields(pid: int, proc: Path = PROC) -> dict[str, str]:
    """/proc/PID/status as name -> value (empty when the process is gone)."""
    fields = {}
    with contextlib.suppress(OSError):
        for line in (proc / str(pid) / "status").read_text().splitlines():
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields


def children_map(proc: Path = PROC) -> dict[int, list[int]]:
    """parent PID -> child PIDs, for every process visible now."""
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        parent = status_fields(int(entry.name), proc).get("PPid")
        if parent is not None:
            children.setdefault(int(parent), []).append(int(entry.name))
    return children


def process_tree(pid: int, proc: Path = PROC) -> list[int]:
    """`pid` and all its descendants (breadth first)."""
    children = children_map(proc)
    tree, queue = [], [pid]
    while queue:
        current = queue.pop(0)
        tree.append(current)
        queue.extend(children.get(current, []))
    return tree


def rss_kib(pid: int, proc: Path = PROC) -> int:
    """VmRSS of one process in KiB (0 for a zombie or a vanished process)."""
    value = status_fields(pid, proc).get("VmRSS", "0 kB")
    return int(value.split()[0])


def tree_rss_mib(pid: int, proc: Path = PROC) -> float:
    return sum(rss_kib(member, proc) for member in process_tree(pid, proc)) / 1024


def cpu_ticks(pid: int, proc: Path = PROC) -> int:
    """utime + stime of one process, in clock ticks (0 when it is gone).

    The comm field (2nd) may hold spaces and parentheses: split after its last ')'."""
    try:
        text = (proc / str(pid) / "stat").read_text()
    except OSError:
        return 0
    fields = text[text.rindex(")") + 2:].split()
    # after comm: state(3) ppid(4) ... utime(14) stime(15) -> indexes 11, 12 here
    return int(fields[11]) + int(fields[12])


def tree_cpu_seconds(pid: int, proc: Path = PROC) -> float:
    return sum(cpu_ticks(member, proc) for member in process_tree(pid, proc)) / CLOCK_TICKS


def socket_inodes(pid: int, proc: Path = PROC) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in (proc / str(pid) / "fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def remote_address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address part of a /proc/net/tcp{,6} 'rem_address' field ('0100007F:1F90').

    /proc prints each 32-bit word in host (little-endian) order."""
    raw = bytes.fromhex(hex_address.split(":")[0])
    packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(packed)
    return getattr(address, "ipv4_mapped", None) or address


def tcp_peers(pid: int, proc: Path = PROC) -> set[str]:
    """Remote addresses of every TCP socket `pid` holds (listening sockets left out)."""
    inodes = socket_inodes(pid, proc)
    peers = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / str(pid) / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[9] in inodes:
                address = remote_address(fields[2])
                if not address.is_unspecified:
                    peers.add(str(address))
    return peers


def tree_tcp_peers(pid: int, proc: Path = PROC) -> set[str]:
    peers: set[str] = set()
    for member in process_tree(pid, proc):
        peers |= tcp_peers(member, proc)
    return peers


def outside_loopback(peers: set[str]) -> set[str]:
    return {peer for peer in peers if not ipaddress.ip_address(peer).is_loopback}
