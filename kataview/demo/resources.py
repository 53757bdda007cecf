"""The resources the API server double serves, described once.

Each `Resource` names its kind, plural, group, the versions it is served at, whether it is
namespaced, its short names and the field selectors the real apiserver accepts for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

FieldGetter = Callable[[dict], str]


def _path(*keys: str) -> FieldGetter:
    def get(obj: dict) -> str:
        value: Any = obj
        for key in keys:
            if not isinstance(value, dict):
                return ""
            value = value.get(key)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


META_FIELDS: dict[str, FieldGetter] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}

POD_FIELDS = {
    **META_FIELDS,
    "spec.nodeName": _path("spec", "nodeName"),
    "spec.restartPolicy": _path("spec", "restartPolicy"),
    "spec.schedulerName": _path("spec", "schedulerName"),
    "spec.serviceAccountName": _path("spec", "serviceAccountName"),
    "spec.hostNetwork": lambda o: "true" if o.get("spec", {}).get("hostNetwork") else "false",
    "status.phase": _path("status", "phase"),
    "status.podIP": _path("status", "podIP"),
    "status.nominatedNodeName": _path("status", "nominatedNodeName"),
}

EVENT_FIELDS = {
    **META_FIELDS,
    **{f"involvedObject.{k}": _path("involvedObject", k) for k in (
        "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": _path("reason"),
    "reportingComponent": _path("reportingComponent"),
    "source": _path("source", "component"),
    "type": _path("type"),
}

NODE_FIELDS = {
    "metadata.name": _path("metadata", "name"),
    "spec.unschedulable": lambda o: "true" if o.get("spec", {}).get("unschedulable") else "false",
}

NAMESPACE_FIELDS = {"metadata.name": _path("metadata", "name"), "status.phase": _path("status", "phase")}


@dataclass(frozen=True)
class Resource:
    kind: str
    plural: str
    singular: str
    group: str  # "" for the core group
    versions: tuple[str, ...]
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    fields: dict[str, FieldGetter] | None = None

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def qualified(self) -> str:
        """`pods` or `runtimeclasses.node.k8s.io`, as messages of the real server say."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def api_version(self, version: str | None = None) -> str:
        version = version or self.versions[0]
        return f"{self.group}/{version}" if self.group else version

    def field_getters(self) -> dict[str, FieldGetter]:
        return self.fields if self.fields is not None else META_FIELDS


RESOURCES: tuple[Resource, ...] = (
    Resource("Namespace", "namespaces", "namespace", "", ("v1",), False, ("ns",),
             fields=NAMESPACE_FIELDS),
    Resource("Node", "nodes", "node", "", ("v1",), False, ("no",), fields=NODE_FIELDS),
    Resource("Pod", "pods", "pod", "", ("v1",), True, ("po",), ("all",), fields=POD_FIELDS),
    Resource("Event", "events", "event", "", ("v1",), True, ("ev",), fields=EVENT_FIELDS),
    Resource("RuntimeClass", "runtimeclasses", "runtimeclass", "node.k8s.io", ("v1", "v1beta1"),
             False),
    Resource("NetworkPolicy", "networkpolicies", "networkpolicy", "networking.k8s.io", ("v1",),
             True, ("netpol",)),
)

BY_KIND: dict[str, Resource] = {r.kind: r for r in RESOURCES}
BY_PLURAL: dict[str, Resource] = {r.plural: r for r in RESOURCES}
GROUPS: dict[str, tuple[str, ...]] = {}
for _r in RESOURCES:
    if _r.group:
        GROUPS.setdefault(_r.group, _r.versions)


def resource_for(name: str) -> Resource:
    """A resource by kind (`Pod`), plural (`pods`) or singular, case-insensitively."""
    lowered = name.lower()
    for resource in RESOURCES:
        if lowered in (resource.kind.lower(), resource.plural, resource.singular):
            return resource
        if lowered in resource.short_names or lowered == resource.qualified:
            return resource
    raise KeyError(f"unknown resource {name!r}")


def resources_in(group: str, version: str) -> list[Resource]:
    return [r for r in RESOURCES if r.group == group and version in r.versions]
