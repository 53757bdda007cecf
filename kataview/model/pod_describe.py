"""`d` on a pod: what `kubectl describe pod` tells, from the pod as served (parsed JSON) and
every event about it: a spec summary, the conditions, each container with its state, last
state and restart reason, and the events (all of them, not only the sandbox ones).

Returns (heading, lines) sections of plain text; the screen makes them terminal-safe and
styles them. Pure, stdlib only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from kataview.model.age import human_duration
from kataview.model.records import Event

Section = tuple[str, list[str]]


def _since(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return f"{stamp} ({human_duration((now - moment).total_seconds())} ago)"


def pairs(items: Iterable[tuple[str, object]], indent: str = "") -> list[str]:
    kept = [(label, str(value)) for label, value in items if value not in (None, "", [], {})]
    width = max((len(label) for label, _ in kept), default=0)
    return [f"{indent}{label + ':':<{width + 1}}  {value}" for label, value in kept]


def spec_summary(pod: dict, now: datetime) -> Section:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    owners = ", ".join(f"{o.get('kind')}/{o.get('name')}" for o in meta.get("ownerReferences") or ())
    overhead = ", ".join(f"{k}={v}" for k, v in sorted((spec.get("overhead") or {}).items()))
    tolerations = ", ".join(t.get("key", "<all>") + (f"={t['value']}" if t.get("value") else "")
                            + (f":{t['effect']}" if t.get("effect") else "") for t in spec.get("tolerations") or ())
    return "Pod", pairs([
        ("Name", meta.get("name")), ("Namespace", meta.get("namespace")),
        ("Node", spec.get("nodeName") or "<none>"), ("Start Time", _since(status.get("startTime"), now)),
        ("Labels", ", ".join(f"{k}={v}" for k, v in sorted((meta.get("labels") or {}).items()))),
        ("Status", status.get("phase")), ("Reason", status.get("reason")), ("Message", status.get("message")),
        ("IP", status.get("podIP")), ("Controlled By", owners), ("QoS Class", status.get("qosClass")),
        ("Runtime Class", spec.get("runtimeClassName") or "<none: the node's default handler>"),
        ("Overhead", overhead), ("Service Account", spec.get("serviceAccountName")),
        ("Restart Policy", spec.get("restartPolicy")),
        ("Node-Selectors", ", ".join(f"{k}={v}" for k, v in sorted((spec.get("nodeSelector") or {}).items()))
         or "<none>"),
        ("Tolerations", tolerations),
    ])


def conditions(pod: dict) -> Section:
    rows = (pod.get("status") or {}).get("conditions") or []
    lines = [f"{c.get('type', ''):<26}{c.get('status', '')}"
             + (f"  {c.get('reason')}" if c.get("reason") else "")
             + (f": {c.get('message')}" if c.get("message") else "") for c in rows]
    return "Conditions", lines or ["<none reported>"]


def state_lines(label: str, state: dict | None, now: datetime) -> list[str]:
    if not state:
        return [f"{label}: <none>"] if label == "State" else []
    kind, detail = next(iter(state.items()))
    detail = detail or {}
    lines = [f"{label}: {kind.capitalize()}"]
    lines += pairs([("Reason", detail.get("reason")), ("Message", detail.get("message")),
                    ("Exit Code", detail.get("exitCode")), ("Signal", detail.get("signal")),
                    ("Started", _since(detail.get("startedAt"), now)),
                    ("Finished", _since(detail.get("finishedAt"), now))], indent="  ")
    return lines


def containers(pod: dict, now: datetime) -> Section:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = {s.get("name"): s for s in (status.get("containerStatuses") or [])
                + (status.get("initContainerStatuses") or [])}
    lines: list[str] = []
    for kind, items in (("init container", spec.get("initContainers") or ()),
                        ("container", spec.get("containers") or ())):
        for container in items:
            name = container.get("name", "")
            entry = statuses.get(name, {})
            last = entry.get("lastState") or {}
            restart_reason = ((last.get("terminated") or {}).get("reason")
                              or ((entry.get("state") or {}).get("waiting") or {}).get("reason"))
            lines.append(f"{name} ({kind}):")
            lines += pairs([("Image", container.get("image")), ("Command", " ".join(container.get("command") or ())),
                            ("Ready", entry.get("ready")), ("Restart Count", entry.get("restartCount", 0)),
                            ("Restart Reason", restart_reason if entry.get("restartCount") else "")], indent="  ")
            lines += ["  " + line for line in state_lines("State", entry.get("state"), now)]
            lines += ["  " + line for line in state_lines("Last State", last, now)]
    return "Containers", lines or ["<none>"]


def pod_events(pod: dict, events: Iterable[Event]) -> list[Event]:
    """Every event about the pod (by uid, or by namespace/name for events without one), newest first."""
    meta = pod.get("metadata") or {}
    uid, name, namespace = meta.get("uid"), meta.get("name"), meta.get("namespace")
    mine = [e for e in events if (uid and e.involved_uid == uid)
            or (e.involved_kind == "Pod" and e.involved_name == name and e.involved_namespace == namespace)]
    floor = datetime.min.replace(tzinfo=None)
    return sorted(mine, key=lambda e: (e.last_seen or e.first_seen).replace(tzinfo=None)
                  if (e.last_seen or e.first_seen) else floor, reverse=True)


def events_section(pod: dict, events: Iterable[Event], now: datetime) -> Section:
    mine = pod_events(pod, events)
    lines = []
    for event in mine:
        when = event.last_seen or event.first_seen
        seen = human_duration((now - when).total_seconds()) if when else "?"
        count = f" (x{event.count})" if event.count > 1 else ""
        lines.append(f"{seen:>6}  {event.type:<7} {event.reason:<22} {event.source or '-':<10} {event.message}{count}")
    return f"Events ({len(mine)})", lines or ["<none>"]


def describe_pod(pod: dict, events: Iterable[Event], now: datetime) -> list[Section]:
    return [spec_summary(pod, now), conditions(pod), containers(pod, now), events_section(pod, events, now)]
