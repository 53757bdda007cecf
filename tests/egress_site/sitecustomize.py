"""The egress fence in every Python the test suite starts (this folder is put on PYTHONPATH).

The policy is kataview/hosts/egress.py, loaded by path where kataview cannot be imported
(the test hosts' system python3). Every socket of the process then
asks it before connect / connect_ex / sendto: asyncio's create_connection (aiohttp, asyncssh)
ends in socket.connect, so it is covered too. Without KATAVIEW_EGRESS_ALLOW nothing is done.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

_POLICY = Path(__file__).resolve().parents[2] / "kataview" / "hosts" / "egress.py"
_INET = (socket.AF_INET, socket.AF_INET6)


def load_policy():
    """kataview.hosts.egress (one EgressRefused class with kataview's), else the same file by path."""
    try:
        from kataview.hosts import egress
        return egress
    except ImportError:
        pass
    name = "kataview_egress_policy"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _POLICY)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def install_socket_fence(fence) -> None:
    """Wrap socket.socket's dialing methods; a second call (a pytest run inside a test) only
    swaps the policy. The wrappers carry ``egress_fence`` so the suite can see they still are."""
    cls = socket.socket
    holder = getattr(cls.connect, "egress_fence", None)
    if holder is not None:
        holder[0] = fence
        return
    holder = [fence]
    connect, connect_ex, sendto = cls.connect, cls.connect_ex, cls.sendto

    def check(sock, address, what):
        if sock.family in _INET and isinstance(address, tuple) and not holder[0].allows(str(address[0])):
            raise holder[0].refuse(address[0], address[1], what)

    def fenced_connect(self, address):
        check(self, address, "a socket connect")
        return connect(self, address)

    def fenced_connect_ex(self, address):
        check(self, address, "a socket connect")
        return connect_ex(self, address)

    def fenced_sendto(self, data, *rest):
        check(self, rest[-1] if rest else None, "a datagram")
        return sendto(self, data, *rest)

    for method, wrapper in (("connect", fenced_connect), ("connect_ex", fenced_connect_ex),
                            ("sendto", fenced_sendto)):
        wrapper.egress_fence = holder
        setattr(cls, method, wrapper)


def fence_installed() -> bool:
    return all(getattr(getattr(socket.socket, method), "egress_fence", None) is not None
               for method in ("connect", "connect_ex", "sendto"))


_fence = load_policy().fence_from_env()
if _fence is not None:
    install_socket_fence(_fence)
