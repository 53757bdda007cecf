"""model.problems: which pods the problems view lists and why (issue 16.4b), checked against
the demo scenario's own objects (the raw dicts a real apiserver would serve)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from kataview.demo.scenario import STUCK_MESSAGE, classic_objects
from kataview.model.analysis import analyze, forget
from kataview.model.problems import KIND_ORDER, problems_of
from kataview.model.records import ContainerStatus, RuntimeClass
from kataview.sources.static import snapshot_from_objects
from ui_fixtures import FROZEN_NOW, classic_snapshot


def demo():
    objects = classic_objects(FROZEN_NOW)
    return objects, snapshot_from_objects(objects, taken_at=FROZEN_NOW)


def raw_pods(objects):
    return [obj for obj in objects if obj.get("kind") == "Pod"]


def expected_troubled(objects) -> dict[str, dict]:
    """From the raw pods: not Running, a container not ready or restarted, or a RuntimeClass
    that is not among the scenario's RuntimeClasses."""
    classes = {obj["metadata"]["name"] for obj in objects if obj.get("kind") == "RuntimeClass"}
    found = {}
    for obj in raw_pods(objects):
        status = obj.get("status") or {}
        statuses = status.get("containerStatuses") or []
        runtime_class = (obj.get("spec") or {}).get("runtimeClassName")
        if (status.get("phase") != "Running" or any(not c.get("ready") for c in statuses)
                or any(c.get("restartCount") for c in statuses)
                or (runtime_class and runtime_class not in classes)):
            found[obj["metadata"]["uid"]] = obj
    return found


def test_demo_problems_are_the_pods_that_are_not_well():
    objects, snapshot = demo()
    problems = problems_of(analyze(snapshot))
    expected = expected_troubled(objects)
    assert expected and len(expected) < len(raw_pods(objects))
    assert {problem.uid for problem in problems} == set(expected)
    for problem in problems:
        assert problem.reasons and all(problem.reasons)


def test_demo_reasons_come_from_the_pods_and_events():
    objects, snapshot = demo()
    by_name = {problem.name: problem for problem in problems_of(analyze(snapshot))}
    events = [obj for obj in objects if obj.get("kind") == "Event" and obj["message"] == STUCK_MESSAGE]
    assert len(events) == 1
    stuck = by_name[events[0]["involvedObject"]["name"]]
    assert stuck.kind == "sandbox"
    handler = STUCK_MESSAGE.split('no runtime for "')[1].split('"')[0]
    node = next(obj["spec"]["nodeName"] for obj in raw_pods(objects) if obj["metadata"]["uid"] == stuck.uid)
    assert f"node {node} has no runtime handler {handler!r}" in stuck.reason
    assert f"×{events[0]['count']}" in stuck.reason
    for obj in raw_pods(objects):
        for container in (obj.get("status") or {}).get("containerStatuses") or []:
            if container.get("restartCount"):
                problem = by_name[obj["metadata"]["name"]]
                last = container["lastState"]["terminated"]["reason"]
                assert f"container {container['name']} restarted {container['restartCount']} times, last ended {last}" \
                    in problem.reasons
    classes = {obj["metadata"]["name"] for obj in objects if obj.get("kind") == "RuntimeClass"}
    for obj in raw_pods(objects):
        wanted = obj["spec"].get("runtimeClassName")
        if wanted and wanted not in classes:
            problem = by_name[obj["metadata"]["name"]]
            assert problem.kind == "runtimeclass" and repr(wanted) in problem.reason
    # worst first
    ranks = [KIND_ORDER.index(problem.kind) for problem in by_name.values()]
    assert ranks == sorted(ranks)


def test_fixture_kinds_crash_unschedulable_failed_and_finished():
    snapshot = classic_snapshot()
    pods = dict(snapshot.pods)
    crash = next(pod for pod in pods.values() if pod.status_text == "CrashLoopBackOff")
    healthy = [pod for pod in pods.values() if pod.status_text == "Running" and not pod.restarts]
    gone, done, lost = healthy[0], healthy[1], healthy[2]
    # a pod no node took, of a RuntimeClass whose nodeSelector no node matches
    nowhere = RuntimeClass("kata-nowhere", "kata-qemu", node_selector={"pool": "nowhere"})
    pods[lost.uid] = dataclasses.replace(lost, runtime_class_name=nowhere.name, node_name=None, phase="Pending",
                                         containers=())
    pods[gone.uid] = dataclasses.replace(gone, phase="Failed", reason="Evicted")
    pods[done.uid] = dataclasses.replace(done, phase="Succeeded", containers=tuple(
        dataclasses.replace(c, ready=False, state="terminated", reason="Completed") for c in done.containers))
    snapshot = dataclasses.replace(snapshot, pods=pods,
                                   runtime_classes={**snapshot.runtime_classes, nowhere.name: nowhere})
    by_uid = {problem.uid: problem for problem in problems_of(analyze(snapshot))}
    assert by_uid[crash.uid].kind == "crashing" and "CrashLoopBackOff" in by_uid[crash.uid].reason
    assert by_uid[gone.uid].kind == "failed" and "Evicted" in by_uid[gone.uid].reason
    assert done.uid not in by_uid
    fits = analyze(snapshot).runtime_class_nodes(nowhere)
    assert fits and not any(fit.can_run for fit in fits)
    unschedulable = by_uid[lost.uid]
    assert unschedulable.kind == "unschedulable"
    assert f"{fits[0].node}: {fits[0].why}" in unschedulable.reason
    for pod in healthy[3:]:
        assert pod.uid not in by_uid


def test_creating_is_stuck_only_after_five_minutes_without_an_event():
    snapshot = classic_snapshot(events=())
    creating = next(pod for pod in snapshot.pods.values() if pod.status_text == "ContainerCreating")
    young = dataclasses.replace(creating, created=FROZEN_NOW - timedelta(minutes=2))
    old = dataclasses.replace(creating, created=FROZEN_NOW - timedelta(minutes=9))
    for pod, stuck in ((young, False), (old, True)):
        forget()
        view = dataclasses.replace(snapshot, pods={**snapshot.pods, pod.uid: pod})
        problem = next(p for p in problems_of(analyze(view)) if p.uid == pod.uid)
        assert (problem.kind == "sandbox") is stuck
        assert ("ContainerCreating for 9m" in problem.reason) is stuck


def test_troubled_pods_follow_pod_changes_from_the_base():
    _objects, snapshot = demo()
    forget()
    base = analyze(snapshot)
    assert base.troubled()
    restarted = next(pod for pod in snapshot.pods.values() if pod.restarts)
    healthy = next(pod for pod in snapshot.pods.values() if pod.status_text == "Running" and not pod.restarts
                   and pod.uid not in base.troubled())
    pods = dict(snapshot.pods)
    pods[restarted.uid] = dataclasses.replace(restarted, containers=tuple(
        dataclasses.replace(c, restart_count=0) for c in restarted.containers))
    pods[healthy.uid] = dataclasses.replace(healthy, containers=(
        ContainerStatus("app", ready=False, state="waiting", reason="ImagePullBackOff"),))
    changed = analyze(dataclasses.replace(snapshot, pods=pods), base=base)
    assert changed.pod_changes is not None  # updated from the base, not counted again
    forget()
    fresh = analyze(dataclasses.replace(snapshot, pods=pods))
    assert changed.troubled() == fresh.troubled()
    assert healthy.uid in changed.troubled() and restarted.uid not in changed.troubled()
