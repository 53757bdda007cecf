"""What is broken, pod by pod: the problems view. Stdlib only, pure.

A pod is listed when it is not Running and Ready (Pending, Failed, Unknown, a container not
ready), when it has restarted, or when its RuntimeClass does not exist. Each gets its reasons
in words, from what the snapshot holds: the sandbox-failure events about it (a missing runtime
handler, a Kata agent that did not answer, a missing RuntimeClass), the containers' waiting
and last-termination reasons, how long it has been creating, and, for a pod no node took,
which nodes its RuntimeClass could run on. Finished pods (Succeeded) are not problems.

`is_troubled` is the cheap test run over every pod (kept per analysis, updated by the pods
that changed); `problems_of` explains the pods that pass it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from kataview.model.age import human_duration
from kataview.model.events import event_sandbox_failure
from kataview.model.records import ClusterSnapshot, Event, Pod
from kataview.model.runtime import PodRuntime

STUCK_AFTER_S = 5 * 60  # ContainerCreating for longer than this is a stuck sandbox
# what is worst first: the pod cannot start at all, then it runs badly, then it recovered
KIND_ORDER = ("sandbox", "runtimeclass", "unschedulable", "failed", "crashing", "pending", "not-ready",
              "restarts")
KIND_TITLES = {"sandbox": "stuck sandbox", "runtimeclass": "missing RuntimeClass",
               "unschedulable": "unschedulable", "failed": "failed", "crashing": "crashing",
               "pending": "pending", "not-ready": "not ready", "restarts": "restarted"}


@dataclass(frozen=True, slots=True)
class Problem:
    uid: str
    namespace: str
    name: str
    node: str  # "" while no node took it
    runtime: str  # the runtime group label
    status: str  # what kubectl's STATUS column says
    kind: str  # the worst of its problems, one of KIND_ORDER
    reasons: tuple[str, ...]  # each a sentence, worst first
    restarts: int = 0

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def title(self) -> str:
        return KIND_TITLES.get(self.kind, self.kind)


def is_troubled(pod: Pod, runtime: PodRuntime) -> bool:
    """Whether the problems view lists the pod (cheap: run over every pod)."""
    if runtime.source == "missing-runtimeclass":
        return True
    phase = pod.phase
    if phase == "Succeeded":
        return False
    if phase != "Running":
        return True
    if pod.deleting:
        return False  # a running pod on its way out is not broken
    for container in pod.containers:
        if not container.ready or container.restart_count:
            return True
    return False


def _ago(moment: datetime | None, now: datetime | None) -> str:
    if moment is None or now is None:
        return ""
    return human_duration((now - moment).total_seconds())


def _event_reason(event: Event, pod: Pod, now: datetime | None) -> tuple[str, str] | None:
    """(kind, words) for a sandbox-failure event about a pod that did not start."""
    if pod.phase == "Running" or pod.finished:
        return None  # it started after all
    failure = event_sandbox_failure(event)
    seen = f"{event.reason} ×{event.count}" if event.count > 1 else event.reason
    last = _ago(event.last_seen, now)
    seen += f", last {last} ago" if last else ""
    where = f"node {pod.node_name}" if pod.node_name else "its node"
    if failure.class_ == "no-runtime-configured":
        return "sandbox", (f"its sandbox cannot be created: {where} has no runtime handler "
                           f"{failure.handler!r} configured ({seen})")
    if failure.class_ == "agent-vsock-timeout":
        return "sandbox", (f"its sandbox cannot be created: the Kata agent in its VM on {where} did not "
                           f"answer over vsock ({seen})")
    if failure.class_ == "runtimeclass-not-found":
        return "runtimeclass", f"the kubelet cannot find RuntimeClass {failure.runtime_class!r} ({seen})"
    if event.type == "Warning":
        return "sandbox", f"{event.reason}: {event.message} ({seen})"
    return None


def _container_reasons(pod: Pod, now: datetime | None) -> list[tuple[str, str]]:
    found = []
    creating = [c.name for c in pod.containers if c.state == "waiting" and c.reason == "ContainerCreating"]
    if creating and pod.created is not None and now is not None:
        waited = (now - pod.created).total_seconds()
        if waited > STUCK_AFTER_S:
            found.append(("sandbox", f"ContainerCreating for {human_duration(waited)} (since it was created)"))
    for container in pod.containers:
        if container.state == "waiting" and container.reason not in ("", "ContainerCreating", "PodInitializing"):
            words = f"container {container.name} is waiting: {container.reason}"
            found.append(("crashing", words + (f" ({container.message})" if container.message else "")))
        elif container.state == "terminated" and pod.phase == "Running" and container.reason not in ("", "Completed"):
            found.append(("crashing", f"container {container.name} ended: {container.reason}"))
    if pod.phase == "Running":
        unready = [c.name for c in pod.containers if not c.ready]
        if unready:
            found.append(("not-ready", f"{pod.ready_count}/{len(pod.containers)} ready: "
                                       f"{', '.join(unready)} not ready"))
    for container in pod.containers:
        if container.restart_count:
            last = f", last ended {container.last_termination_reason}" if container.last_termination_reason else ""
            times = "once" if container.restart_count == 1 else f"{container.restart_count} times"
            found.append(("restarts", f"container {container.name} restarted {times}{last}"))
    return found


def _phase_reasons(pod: Pod, runtime: PodRuntime, fits: Callable[[str], list] | None) -> list[tuple[str, str]]:
    found = []
    if runtime.source == "missing-runtimeclass":
        then = ("it runs, but a new pod like it is rejected" if pod.phase == "Running"
                else "so the kubelet cannot start it")
        found.append(("runtimeclass", f"it asks for RuntimeClass {runtime.runtime_class!r}, which does not exist: {then}"))
    if pod.phase == "Failed":
        found.append(("failed", f"Failed{': ' + pod.reason if pod.reason else ''}"))
    elif pod.phase == "Unknown":
        found.append(("failed", "phase Unknown: its node stopped reporting it"))
    elif pod.phase == "Pending" and not pod.node_name:
        able = fits(runtime.runtime_class) if fits is not None and runtime.runtime_class else None
        if able is not None and able and not any(fit.can_run for fit in able):
            why = "; ".join(f"{fit.node}: {fit.why}" for fit in able[:3])
            more = f" and {len(able) - 3} more" if len(able) > 3 else ""
            found.append(("unschedulable", f"unschedulable for RuntimeClass {runtime.runtime_class}: no node can run "
                                           f"it ({why}{more})"))
        else:
            found.append(("pending", "Pending: no node has taken it yet"))
    elif pod.deleting:
        found.append(("pending", "Terminating"))
    return found


def explain(pod: Pod, runtime: PodRuntime, events: list[Event], now: datetime | None,
            fits: Callable[[str], list] | None = None) -> Problem:
    """One troubled pod with its reasons; `events`: the sandbox-failure events about it;
    `fits`: RuntimeClass name -> its NodeFits (for a pod no node took)."""
    reasons = [found for event in events if (found := _event_reason(event, pod, now)) is not None]
    reasons += _phase_reasons(pod, runtime, fits)
    reasons += _container_reasons(pod, now)
    if not reasons:
        reasons.append(("pending", f"{pod.status_text}: not Running and Ready"))
    rank = {kind: index for index, kind in enumerate(KIND_ORDER)}
    reasons.sort(key=lambda item: rank.get(item[0], len(KIND_ORDER)))  # stable: same kind keeps its order
    return Problem(pod.uid, pod.namespace, pod.name, pod.node_name or "", runtime.label, pod.status_text,
                   reasons[0][0], tuple(dict.fromkeys(words for _kind, words in reasons)), pod.restarts)


def events_by_pod(snapshot: ClusterSnapshot) -> dict[tuple[str, str], list[Event]]:
    """(namespace, name) -> the events about that pod, newest last."""
    found: dict[tuple[str, str], list[Event]] = {}
    for event in snapshot.events:
        if event.involved_kind in ("Pod", ""):
            found.setdefault((event.involved_namespace, event.involved_name), []).append(event)
    return found


def problems_of(analysis) -> list[Problem]:
    """The problems of a kataview.model.analysis.Analysis's snapshot, worst first, then by
    namespace and name."""
    snapshot = analysis.snapshot
    now = snapshot.taken_at
    events = events_by_pod(snapshot)
    rcs = snapshot.runtime_classes

    def fits(name: str) -> list | None:
        rc = rcs.get(name)
        return analysis.runtime_class_nodes(rc) if rc is not None else None

    found = []
    for pod in analysis.troubled().values():
        mine = [event for event in events.get((pod.namespace, pod.name), ())
                if not event.involved_uid or not pod.uid or event.involved_uid == pod.uid]
        found.append(explain(pod, analysis.resolve(pod), mine, now, fits))
    rank = {kind: index for index, kind in enumerate(KIND_ORDER)}
    found.sort(key=lambda problem: (rank.get(problem.kind, len(KIND_ORDER)), problem.namespace, problem.name))
    return found
