"""A fence on where kataview may connect, switched on by the environment (the test suite does).

``KATAVIEW_EGRESS_ALLOW=127.0.0.0/8,::1/128,10.213.0.0/16`` limits dials to those networks;
unset, there is no fence (a real cluster's nodes are anywhere). Under the fence a refused
dial raises :class:`EgressRefused` (not an ``OSError``: no handler may turn it into "node
unreachable") and, with ``KATAVIEW_EGRESS_RECORD=FILE``, appends one JSON line to FILE, so a
process that swallowed the error is still caught: the suite fails any test after which the
file grew.

The SSH layer asks :func:`check_dial` before every leg it opens; the test suite puts the same
policy in front of every socket of its own processes. Names are not resolved here (a lookup
is itself traffic to a resolver): under the fence only addresses and ``localhost`` pass.

Stdlib only, with no kataview import: the suite loads this file into any Python it starts.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from collections.abc import Mapping

ALLOW_ENV = "KATAVIEW_EGRESS_ALLOW"
RECORD_ENV = "KATAVIEW_EGRESS_RECORD"
LOCAL_NAMES = ("localhost",)


class EgressRefused(RuntimeError):
    """A dial outside the allowed networks was stopped before it left the process."""


class Fence:
    def __init__(self, networks: str, record: str | None = None) -> None:
        self.text = networks
        self.networks = tuple(ipaddress.ip_network(item.strip(), strict=False)
                              for item in networks.split(",") if item.strip())
        self.record = record

    def allows(self, host: str) -> bool:
        if host in LOCAL_NAMES:
            return True
        try:
            address = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            return False  # a name: not resolved here, see the module docstring
        if getattr(address, "ipv4_mapped", None) is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def refuse(self, host: str, port: object, what: str) -> EgressRefused:
        """Record the refusal (when a record file is set) and return the error to raise."""
        message = (f"egress fence ({ALLOW_ENV}={self.text}): refused {what} to {host}:{port}; "
                   "only those networks may be dialed")
        if self.record:
            line = json.dumps({"pid": os.getpid(), "argv": sys.argv[:6], "host": str(host),
                               "port": str(port), "what": what})
            with open(self.record, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        return EgressRefused(message)


def fence_from_env(environ: Mapping[str, str] = os.environ) -> Fence | None:
    networks = environ.get(ALLOW_ENV)
    if networks is None:
        return None
    return Fence(networks, environ.get(RECORD_ENV) or None)


def check_dial(host: str, port: object, what: str) -> None:
    """Raise EgressRefused if a fence is set and does not allow ``host``."""
    fence = fence_from_env()
    if fence is not None and not fence.allows(host):
        raise fence.refuse(host, port, what)
