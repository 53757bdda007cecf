"""What sandbox-creation failure events say (a missing handler, a missing RuntimeClass, a
Kata agent that did not answer), and which pod an event is about. Stdlib only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kataview.model.records import ClusterSnapshot, Event, Pod

SANDBOX_FAILURE_CLASSES = ("no-runtime-configured", "agent-vsock-timeout", "runtimeclass-not-found", "other")

_Q = r'\\*"'  # a double quote, possibly escaped (\"kata\" in logfmt / JSON-in-text)
_NO_RUNTIME = (
    re.compile(r"no runtime for " + _Q + r'([^"\\]+)' + _Q + r" is configured"),  # containerd
    re.compile(r"failed to find runtime handler " + r'(?:\\*")?' + r"([A-Za-z0-9][A-Za-z0-9._-]*)"),  # CRI-O
)
_RC_NOT_FOUND = re.compile(
    r"(?:RuntimeClass|runtimeclass\.node\.k8s\.io|runtimeclasses\.node\.k8s\.io) " + _Q + r'([^"\\]+)' + _Q + r" not found",
    re.IGNORECASE,
)
_VSOCK = re.compile(
    r"timed out connecting to vsock|vsock[^\n]*(?:deadline ?exceeded|timed? ?out)|"
    r"failed to check if grpc server is working",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class SandboxFailure:
    class_: str  # no-runtime-configured | agent-vsock-timeout | runtimeclass-not-found | other
    handler: str | None = None  # the missing handler (no-runtime-configured)
    runtime_class: str | None = None  # the missing RuntimeClass (runtimeclass-not-found)


def event_sandbox_failure(event: Event | str) -> SandboxFailure:
    """Classify a sandbox-creation failure from an Event (its message) or any text (a log line,
    a kubectl error). Anything not recognised is class "other"."""
    text = event if isinstance(event, str) else event.message
    for pattern in _NO_RUNTIME:
        match = pattern.search(text)
        if match:
            return SandboxFailure("no-runtime-configured", handler=match.group(1))
    match = _RC_NOT_FOUND.search(text)
    if match:
        return SandboxFailure("runtimeclass-not-found", runtime_class=match.group(1))
    if _VSOCK.search(text):
        return SandboxFailure("agent-vsock-timeout")
    return SandboxFailure("other")


class PodFinder:
    """Find an event's pod by uid, else by namespace/name (index built on first need)."""

    def __init__(self, snapshot: ClusterSnapshot) -> None:
        self._pods = snapshot.pods
        self._by_name: dict[tuple[str, str], Pod] | None = None

    def __call__(self, uid: str, namespace: str, name: str) -> Pod | None:
        pod = self._pods.get(uid) if uid else None
        if pod is not None:
            return pod
        if self._by_name is None:
            self._by_name = {(p.namespace, p.name): p for p in self._pods.values()}
        pod = self._by_name.get((namespace, name))
        if pod is not None and uid and pod.uid and pod.uid != uid:
            return None  # same name, another pod (recreated)
        return pod
