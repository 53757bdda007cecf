"""model.pod_describe on the demo scenario's pods: last state and restart reason, conditions,
and every event about the pod (not only sandbox ones)."""

from __future__ import annotations

from datetime import datetime, timezone

from kataview.demo.scenario import classic_objects
from kataview.model.pod_describe import describe_pod
from kataview.sources.static import snapshot_from_objects

NOW = datetime(2025, 3, 14, 12, 30, tzinfo=timezone.utc)


def sections(prefix: str, restarted: bool = False) -> dict[str, list[str]]:
    objects = classic_objects(NOW)
    snapshot = snapshot_from_objects(objects, NOW)
    for pod in objects:
        if pod.get("kind") == "Pod" and pod["metadata"]["name"].startswith(prefix):
            if restarted and not any(s.get("restartCount") for s in pod["status"]["containerStatuses"]):
                continue
            return {heading.split(" (")[0]: lines for heading, lines in describe_pod(pod, snapshot.events, NOW)}
    raise AssertionError(prefix)


def test_restarted_container_shows_last_state_and_reason():
    text = "\n".join(sections("nginx-kata-qemu", restarted=True)["Containers"])
    assert "Restart Count:   3" in text and "Restart Reason:  Error" in text
    assert "Last State: Terminated" in text and "Exit Code:  137" in text


def test_all_events_of_the_pod_are_listed_with_conditions():
    described = sections("nginx-kata-fc")
    events = "\n".join(described["Events"])
    assert "FailedCreatePodSandBox" in events and "Scheduled" in events  # not only sandbox events
    assert any(line.startswith("Ready") and "ContainersNotReady" in line for line in described["Conditions"])
    assert any("Runtime Class:" in line and "kata-fc" in line for line in described["Pod"])
