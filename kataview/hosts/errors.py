"""What can go wrong reaching a node, each said in one line the operator can act on.

``str(error)`` is that line; the TUI and ``kataview vm`` print it as is. Host-key errors
carry the key so the TUI can offer to trust it (see :mod:`kataview.hosts.hostkeys`).
"""

from __future__ import annotations

from typing import Any


class NodeError(Exception):
    """Base: something about one node. ``node`` is the Kubernetes node name."""

    def __init__(self, node: str, message: str) -> None:
        super().__init__(message)
        self.node = node


class NodeUnreachable(NodeError):
    """No route, timeout, DNS failure."""


class ConnectionRefused(NodeError):
    """The address answers but nothing listens on the SSH port."""


class AuthenticationFailed(NodeError):
    """The server refused every key we offered."""


class SSHFailure(NodeError):
    """Any other SSH-level failure (protocol, disconnect, channel open refused)."""


class HostKeyError(NodeError):
    """Base of host-key refusals. ``key`` is the asyncssh SSHKey the server offered."""

    def __init__(self, node: str, message: str, *, host: str, port: int, key: Any,
                 fingerprint: str, known_hosts: str) -> None:
        super().__init__(node, message)
        self.host, self.port, self.key = host, port, key
        self.fingerprint, self.known_hosts = fingerprint, known_hosts
        self.jump_host = ""  # set when the key is a ProxyJump host's on the way to node


class UnknownHostKey(HostKeyError):
    """No known_hosts entry for this host: refused; the operator may choose to trust it."""


class HostKeyChanged(HostKeyError):
    """known_hosts has a different key for this host: refused, never overwritten."""


class HostKeyRevoked(HostKeyChanged):
    """known_hosts marks the offered key @revoked: refused, never offered for trust."""


class SudoPasswordRequired(NodeError):
    def __init__(self, node: str) -> None:
        super().__init__(node, f"sudo on {node} needs a password; allow NOPASSWD for the "
                               "read-only commands or connect as root")


class SudoMissing(NodeError):
    def __init__(self, node: str) -> None:
        super().__init__(node, f"sudo is not installed on {node}; connect as root or install "
                               "sudo with NOPASSWD for the read-only commands")


class CommandRefused(NodeError, ValueError):
    """The read-only guard: the command line is not on the allowlist. Nothing was sent."""


class CommandTimeout(NodeError):
    """The node did not finish a command in time; the channel was closed."""


class SandboxNotFound(NodeError):
    """No sandbox (or no VM) for the pod on its node."""


class SandboxAmbiguous(NodeError):
    def __init__(self, node: str, message: str, candidates: tuple[str, ...]) -> None:
        super().__init__(node, message)
        self.candidates = candidates


class VMGone(NodeError):
    """The hypervisor exited while kataview was reading it."""
