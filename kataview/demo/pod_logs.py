"""The pod log subresource of the API server double: GET .../pods/NAME/log, answered as the
real kube-apiserver (pkg/registry/core/pod: LogLocation) and the kubelet behind it do.

- no `container` and several in the pod: 400 "a container name must be specified for pod
  NAME, choose one of: [a b]" (plus " or one of the init containers: [...]");
- an unknown container: 400 "container X is not valid for pod NAME";
- `previous=true` for a container that never terminated: 400 from the kubelet, "previous
  terminated container "X" in pod "NAME" not found";
- `tailLines` keeps the last N lines, `limitBytes` cuts the answer after N bytes;
- `follow=true` keeps the stream open and writes a line now and then (text/plain, chunked).

The lines are made up per pod and container from its image and status, deterministically,
so the demo, the screenshots and the tests read the same text; a container that restarted
with reason Error shows its failure in `previous`.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta

from . import status as st
from .reads import ApiError

FOLLOW_INTERVAL = 2.0  # seconds between made-up lines on a followed log


def bad_request(message: str) -> ApiError:
    return ApiError(st.bad_request(message))


def pick_container(pod: dict, wanted: str | None) -> str:
    """The container a log request addresses, or the 400 the real server gives."""
    spec = pod.get("spec") or {}
    names = [c.get("name", "") for c in spec.get("containers") or ()]
    init = [c.get("name", "") for c in spec.get("initContainers") or ()]
    name = pod.get("metadata", {}).get("name", "")
    if not wanted:
        if len(names) == 1:
            return names[0]
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        if init:
            message += f" or one of the init containers: [{' '.join(init)}]"
        raise bad_request(message)
    if wanted not in names + init:
        raise bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


def _status_of(pod: dict, container: str) -> dict:
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") == container:
            return entry
    return {}


def _started(pod: dict, container: str, previous: bool) -> datetime:
    entry = _status_of(pod, container)
    if previous:
        stamp = ((entry.get("lastState") or {}).get("terminated") or {}).get("startedAt")
    else:
        stamp = ((entry.get("state") or {}).get("running") or {}).get("startedAt")
    stamp = stamp or pod.get("metadata", {}).get("creationTimestamp") or "2024-06-01T00:00:00Z"
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y/%m/%d %H:%M:%S")


def nginx_lines(pod: dict, started: datetime, count: int) -> list[str]:
    seed = int(hashlib.sha256(pod.get("metadata", {}).get("uid", "").encode()).hexdigest()[:8], 16)
    lines = ["/docker-entrypoint.sh: Configuration complete; ready for start up",
             f"{_stamp(started)} [notice] 1#1: nginx/1.27.3",
             f"{_stamp(started)} [notice] 1#1: start worker processes"]
    paths = ("/", "/healthz", "/index.html", "/api/v1/items", "/favicon.ico")
    for index in range(count):
        moment = started + timedelta(seconds=30 * (index + 1))
        path = paths[(seed + index) % len(paths)]
        code = 404 if path == "/favicon.ico" else 200
        lines.append(f'10.244.0.{(seed + index) % 200 + 2} - - [{moment.strftime("%d/%b/%Y:%H:%M:%S +0000")}] '
                     f'"GET {path} HTTP/1.1" {code} {612 if code == 200 else 153} "-" "kube-probe/1.31"')
    return lines


def curl_lines(started: datetime, failed: bool) -> list[str]:
    lines = [f"{_stamp(started)} sidecar: probing http://localhost:80/ every 30s"]
    if failed:
        lines += [f"{_stamp(started + timedelta(minutes=9))} sidecar: curl: (7) Failed to connect to localhost "
                  "port 80 after 0 ms: Couldn't connect to server",
                  f"{_stamp(started + timedelta(minutes=9))} sidecar: fatal: upstream unreachable 5 times, "
                  "exiting with status 1"]
    else:
        lines += [f"{_stamp(started + timedelta(seconds=30 * (i + 1)))} sidecar: GET / 200 (612 bytes)" for i in range(8)]
    return lines


def kube_proxy_lines(started: datetime) -> list[str]:
    stamp = started.strftime("I%m%d %H:%M:%S.000000")
    return [f'{stamp}       1 server_linux.go:66] "Using iptables proxy"',
            f'{stamp}       1 server.go:677] "Successfully retrieved node IP(s)" IPs=["10.0.0.1"]',
            f'{stamp}       1 config.go:199] "Starting service config controller"',
            f'{stamp}       1 shared_informer.go:320] Caches are synced for service config']


def log_lines(pod: dict, container: str, previous: bool) -> list[str]:
    """The made-up log of one container (its last terminated run with previous)."""
    entry = _status_of(pod, container)
    if previous and not (entry.get("lastState") or {}).get("terminated"):
        name = pod.get("metadata", {}).get("name", "")
        raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
    if not previous and not (entry.get("state") or {}).get("running") and not (entry.get("state") or {}).get("terminated"):
        reason = ((entry.get("state") or {}).get("waiting") or {}).get("reason") or "ContainerCreating"
        name = pod.get("metadata", {}).get("name", "")
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    started = _started(pod, container, previous)
    if container == "kube-proxy":
        return kube_proxy_lines(started)
    if container == "curl":
        return curl_lines(started, failed=previous)
    return nginx_lines(pod, started, 12)


def cut(lines: list[str], query: dict[str, str]) -> bytes:
    """tailLines, then limitBytes, as the kubelet applies them."""
    tail = query.get("tailLines")
    if tail is not None:
        try:
            count = int(tail)
        except ValueError:
            raise bad_request(f'tailLines: Invalid value: "{tail}": must be an integer') from None
        lines = lines[-count:] if count > 0 else []
    body = "".join(line + "\n" for line in lines).encode()
    limit = query.get("limitBytes")
    if limit is not None:
        try:
            size = int(limit)
        except ValueError:
            raise bad_request(f'limitBytes: Invalid value: "{limit}": must be an integer') from None
        if size < 1:
            raise bad_request("limitBytes: Invalid value: must be greater than 0")
        body = body[:size]
    return body


def follow_line(pod: dict, container: str, index: int, moment: datetime) -> str:
    """A line written while a log is followed."""
    if container == "curl":
        return f"{_stamp(moment)} sidecar: GET / 200 (612 bytes)"
    if container == "kube-proxy":
        return f'{moment.strftime("I%m%d %H:%M:%S.000000")}       1 proxier.go:810] "SyncProxyRules complete"'
    return (f'10.244.0.{index % 200 + 2} - - [{moment.strftime("%d/%b/%Y:%H:%M:%S +0000")}] '
            f'"GET /healthz HTTP/1.1" 200 612 "-" "kube-probe/1.31"')


async def follow(response, pod: dict, container: str, clock, interval: float = FOLLOW_INTERVAL) -> None:
    """Write followed lines until the client goes away."""
    index = 0
    while True:
        await asyncio.sleep(interval)
        await response.write((follow_line(pod, container, index, clock()) + "\n").encode())
        index += 1
