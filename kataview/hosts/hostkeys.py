"""Host-key policy: always verify against known_hosts; unknown keys are refused with their
fingerprint and what to do; changed keys are refused loudly and never overwritten.

asyncssh checks the offered key against ``known_hosts`` itself and calls the client's
``validate_host_public_key`` only for a key it does not trust. :class:`KeyRecorder` answers
"no" there, but remembers the key, so the pool can say *which* key was refused and whether
known_hosts holds another key for the host (changed) or none (unknown).

:func:`trust_host_key` is what the TUI calls after the operator has checked the fingerprint
out of band and confirmed: it appends one line, ``host`` or ``[host]:port``, and refuses
if the host already has a different key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import asyncssh

from kataview.hosts.errors import HostKeyChanged, HostKeyRevoked, UnknownHostKey

DEFAULT_PORT = 22


def default_known_hosts() -> str:
    return str(Path("~", ".ssh", "known_hosts").expanduser())


def known_hosts_name(host: str, port: int) -> str:
    """How OpenSSH writes a host in known_hosts: ``host`` on 22, ``[host]:port`` otherwise."""
    return host if port == DEFAULT_PORT else f"[{host}]:{port}"


def keyscan_hint(host: str, port: int, known_hosts: str) -> str:
    port_flag = "" if port == DEFAULT_PORT else f"-p {port} "
    return f"ssh-keyscan {port_flag}{host} >> {known_hosts}"


def fingerprint(key: Any) -> str:
    return key.get_fingerprint("sha256") if key is not None else "(no key offered)"


def known_keys(known_hosts: str | Sequence[str], host: str, addr: str | None, port: int) -> list[Any]:
    """The keys known_hosts (one file, or several as UserKnownHostsFile lists them) trusts
    for this host (and address); [] when none or no file."""
    keys: list[Any] = []
    for path in _files(known_hosts):
        if not os.path.isfile(path):
            continue
        try:
            trusted = asyncssh.match_known_hosts(path, host, addr or "", None if port == DEFAULT_PORT else port)
        except (OSError, ValueError):
            continue
        keys += trusted[0]
    return keys


def _files(known_hosts: str | Sequence[str]) -> list[str]:
    return [known_hosts] if isinstance(known_hosts, str) else list(known_hosts)


def revoked_keys(known_hosts: str | Sequence[str], host: str, addr: str | None, port: int) -> list[Any]:
    """The keys known_hosts marks @revoked for this host; [] when none or no file.

    The @revoked lines are matched as plain entries: asyncssh drops a revoked entry for
    `[host]:port` when no trusted key matches that port (it retries without the port)."""
    lines = []
    for path in _files(known_hosts):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines += [line.strip()[len("@revoked"):].strip() for line in handle
                          if line.strip().startswith("@revoked ")]
        except OSError:
            continue
    try:
        if not lines:
            return []
        matched = asyncssh.match_known_hosts(asyncssh.import_known_hosts("\n".join(lines) + "\n"),
                                             host, addr or "", None if port == DEFAULT_PORT else port)
    except (OSError, ValueError, asyncssh.Error):
        return []
    return list(matched[0])


@dataclass
class OfferedKey:
    host: str
    addr: str
    port: int
    key: Any


class KeyRecorder(asyncssh.SSHClient):
    """An SSHClient that refuses untrusted host keys and remembers the one offered."""

    def __init__(self) -> None:
        self.offered: OfferedKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: Any) -> bool:
        self.offered = OfferedKey(host, addr, port, key)
        return False


def refusal(node: str, known_hosts: str | Sequence[str], host: str, port: int,
            offered: OfferedKey | None) -> UnknownHostKey | HostKeyChanged:
    """The error for a refused host key: revoked when known_hosts marks it @revoked, changed
    when it has another key. Several files: all are checked, the first is named (and is the
    one trusting writes to, as OpenSSH)."""
    files, known_hosts = known_hosts, _files(known_hosts)[0]
    key = offered.key if offered else None
    addr = offered.addr if offered else None
    if offered is not None:
        host, port = offered.host, offered.port
    print_fp = fingerprint(key)
    common = dict(host=host, port=port, key=key, fingerprint=print_fp, known_hosts=known_hosts)
    name = known_hosts_name(host, port)
    if key is not None and key in revoked_keys(files, host, addr, port):
        return HostKeyRevoked(node, (
            f"HOST KEY REVOKED for {node} ({name}): it offered {print_fp}, which {known_hosts} "
            f"marks @revoked. Refused; the key must not be used again: ask the node's owner."), **common)
    if known_keys(files, host, addr, port):
        return HostKeyChanged(node, (
            f"REMOTE HOST IDENTIFICATION HAS CHANGED for {node} ({name}): it offered {print_fp}, "
            f"which does not match {known_hosts}. Someone could be intercepting the connection, "
            f"or the host was reinstalled. Refused; kataview never replaces a known key: check "
            f"with the node's owner, then remove the old line yourself "
            f"(ssh-keygen -R '{name}' -f {known_hosts})."), **common)
    return UnknownHostKey(node, (
        f"unknown host key for {node} ({name}): {print_fp}. Refused. Check this fingerprint "
        f"out of band, then trust it ({keyscan_hint(host, port, known_hosts)})."), **common)


def trust_host_key(host: str, port: int, key: Any, known_hosts_path: str | os.PathLike) -> str:
    """Append ``key`` for ``host``/``port`` to known_hosts, after the operator confirmed.

    ``key`` is an asyncssh SSHKey or an OpenSSH public key line. Returns the line written.
    Raises :class:`HostKeyChanged` if known_hosts already holds a different key for the
    host (it is never overwritten), ``ValueError`` for a host that cannot be written safely.
    """
    if not host or any(c in host for c in " \t\n\r,[]#*?!") or not 0 < int(port) < 65536:
        raise ValueError(f"not a host known_hosts can hold: {host!r}:{port!r}")
    if isinstance(key, str):
        key = asyncssh.import_public_key(key)
    path = os.fspath(Path(known_hosts_path).expanduser())
    known = known_keys(path, host, None, int(port))
    if key in known:
        return ""  # already trusted: nothing to write
    if known:
        raise refusal(host, path, host, int(port), OfferedKey(host, "", int(port), key))
    key_text = key.export_public_key("openssh").decode().split()
    line = f"{known_hosts_name(host, int(port))} {key_text[0]} {key_text[1]}\n"
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        if handle.tell() > 0 and not _ends_with_newline(path):
            handle.write("\n")
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    return line


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
