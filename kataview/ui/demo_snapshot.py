"""The demo scenario as one ClusterSnapshot (screenshots, tests): raw objects -> records."""

from __future__ import annotations

from datetime import datetime

from kataview.model.records import ClusterSnapshot

KIND_TO_RESOURCE = {"Node": "nodes", "RuntimeClass": "runtimeclasses", "Pod": "pods", "Event": "events",
                    "NetworkPolicy": "networkpolicies"}


def snapshot_from_objects(objects: list[dict], taken_at: datetime | None = None) -> ClusterSnapshot:
    from kataview.kube.decode import record_from_dict

    nodes, classes, pods, events, policies = {}, {}, {}, [], []
    for obj in objects:
        resource = KIND_TO_RESOURCE.get(obj.get("kind", ""))
        if resource is None:
            continue
        record = record_from_dict(resource, obj)
        if resource == "nodes":
            nodes[record.name] = record
        elif resource == "runtimeclasses":
            classes[record.name] = record
        elif resource == "pods":
            pods[record.uid or f"{record.namespace}/{record.name}"] = record
        elif resource == "events":
            events.append(record)
        else:
            policies.append(record)
    return ClusterSnapshot(nodes=nodes, runtime_classes=classes, pods=pods, events=tuple(events),
                           network_policies=tuple(policies), taken_at=taken_at)


def classic_demo_snapshot(now: datetime) -> ClusterSnapshot:
    from kataview.demo.scenario import classic_objects

    return snapshot_from_objects(classic_objects(now), taken_at=now)
