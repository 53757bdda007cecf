"""Which containers of a pod (as served, parsed JSON) have a log, and which one `l` shows
first: the one the `kubectl.kubernetes.io/default-container` annotation names (as kubectl
logs does), else the first container of the spec. Pure, stdlib only."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


@dataclass(frozen=True)
class LogContainer:
    name: str
    kind: str  # "container", "init container" or "ephemeral container"
    state: str  # running, waiting (reason), terminated (reason), or "no status yet"
    restarts: int = 0
    has_previous: bool = False  # a terminated earlier run: `previous` has a log


def _state_text(status: dict) -> str:
    state = status.get("state") or {}
    if not state:
        return "no status yet"
    kind, detail = next(iter(state.items()))
    reason = (detail or {}).get("reason")
    return f"{kind} ({reason})" if reason else kind


def log_containers(pod: dict) -> list[LogContainer]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = {s.get("name"): s for key in ("containerStatuses", "initContainerStatuses",
                                             "ephemeralContainerStatuses")
                for s in status.get(key) or ()}
    found = []
    for key, kind in (("containers", "container"), ("initContainers", "init container"),
                      ("ephemeralContainers", "ephemeral container")):
        for container in spec.get(key) or ():
            name = container.get("name", "")
            entry = statuses.get(name, {})
            found.append(LogContainer(name, kind, _state_text(entry), int(entry.get("restartCount") or 0),
                                      bool((entry.get("lastState") or {}).get("terminated"))))
    return found


def default_container(pod: dict) -> str | None:
    """The container `kubectl logs` picks without -c: the annotated one when it exists."""
    names = [c.name for c in log_containers(pod)]
    wanted = ((pod.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if wanted and wanted in names:
        return wanted
    regular = [c.name for c in log_containers(pod) if c.kind == "container"]
    return regular[0] if regular else (names[0] if names else None)
