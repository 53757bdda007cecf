"""msgspec mirrors of the Kubernetes API objects, holding only the fields kataview shows.

Every field has a default (None or empty), so a missing or null field never fails decoding;
unknown fields are ignored, which is what keeps decoding cheap: msgspec skips them without
building Python objects. Field names are the JSON names (camelCase) on purpose: error paths
reported by msgspec then match the JSON, which the tolerant repair in decode.py relies on.

These types are internal to kataview/kube/decode.py; the rest of kataview sees the frozen
records of kataview/model/records.py.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec import Raw, Struct

# Quantities are strings in the API, but hand-written YAML (and the 2014 minion) has numbers.
Quantity = str | int | float

StrMap = dict[str, str]


class Base(Struct, omit_defaults=True, gc=False):
    pass


# -- metadata --------------------------------------------------------------------------------


class OwnerReference(Base):
    kind: str | None = None
    name: str | None = None
    controller: bool | None = None


class ObjectMeta(Base):
    name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resourceVersion: str | None = None
    labels: StrMap | None = None
    annotations: StrMap | None = None
    creationTimestamp: datetime | None = None
    deletionTimestamp: datetime | None = None
    ownerReferences: list[OwnerReference] | None = None


class ListMeta(Base):
    resourceVersion: str | None = None
    continue_: str | None = msgspec.field(default=None, name="continue")
    remainingItemCount: int | None = None  # on a page with a continue token, when counted


class Status(Base):
    """metav1.Status, as sent in watch ERROR events and error bodies."""

    kind: str | None = None
    status: str | None = None
    message: str | None = None
    reason: str | None = None
    code: int | None = None


# -- shared pieces ---------------------------------------------------------------------------


class TaintT(Base):
    key: str | None = None
    value: str | None = None
    effect: str | None = None


class TolerationT(Base):
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None


class SelectorRequirementT(Base):
    key: str | None = None
    operator: str | None = None
    values: list[str] | None = None


class LabelSelectorT(Base):
    matchLabels: StrMap | None = None
    matchExpressions: list[SelectorRequirementT] | None = None


# -- Node ------------------------------------------------------------------------------------


class NodeSpec(Base):
    taints: list[TaintT] | None = None
    unschedulable: bool | None = None


class ConditionT(Base):
    type: str | None = None
    status: str | None = None
    reason: str | None = None
    message: str | None = None
    lastTransitionTime: datetime | None = None


class AddressT(Base):
    type: str | None = None
    address: str | None = None


class NodeInfo(Base):
    containerRuntimeVersion: str | None = None
    kubeletVersion: str | None = None
    osImage: str | None = None
    kernelVersion: str | None = None
    architecture: str | None = None


class HandlerFeatures(Base):
    recursiveReadOnlyMounts: bool | None = None
    userNamespaces: bool | None = None


class RuntimeHandlerT(Base):
    name: str | None = None
    features: HandlerFeatures | None = None


class NodeStatus(Base):
    conditions: list[ConditionT] | None = None
    addresses: list[AddressT] | None = None
    nodeInfo: NodeInfo | None = None
    capacity: dict[str, Quantity] | None = None
    runtimeHandlers: list[RuntimeHandlerT] | None = None


class MinionResources(Base):
    capacity: dict[str, Quantity] | None = None


class NodeObj(Base):
    metadata: ObjectMeta | None = None
    spec: NodeSpec | None = None
    status: NodeStatus | None = None
    # Kubernetes v1beta1 "Minion" (2014): top-level id, labels and resources.capacity
    id: str | None = None
    labels: StrMap | None = None
    resources: MinionResources | None = None


# -- RuntimeClass ----------------------------------------------------------------------------


class OverheadT(Base):
    podFixed: dict[str, Quantity] | None = None


class SchedulingT(Base):
    nodeSelector: StrMap | None = None
    tolerations: list[TolerationT] | None = None


class RuntimeClassSpecAlpha(Base):
    """node.k8s.io/v1alpha1 kept everything under spec."""

    runtimeHandler: str | None = None
    overhead: OverheadT | None = None
    scheduling: SchedulingT | None = None


class RuntimeClassObj(Base):
    apiVersion: str | None = None
    metadata: ObjectMeta | None = None
    handler: str | None = None  # v1, v1beta1
    overhead: OverheadT | None = None
    scheduling: SchedulingT | None = None
    spec: RuntimeClassSpecAlpha | None = None  # v1alpha1


# -- Pod -------------------------------------------------------------------------------------


class ContainerSpec(Base):
    name: str | None = None
    image: str | None = None


class PodSpec(Base):
    nodeName: str | None = None
    runtimeClassName: str | None = None
    nodeSelector: StrMap | None = None
    tolerations: list[TolerationT] | None = None
    overhead: dict[str, Quantity] | None = None
    containers: list[ContainerSpec] | None = None


class StateRunning(Base):
    startedAt: datetime | None = None


class StateWaiting(Base):
    reason: str | None = None
    message: str | None = None


class StateTerminated(Base):
    reason: str | None = None
    message: str | None = None
    startedAt: datetime | None = None


class ContainerState(Base):
    running: StateRunning | None = None
    waiting: StateWaiting | None = None
    terminated: StateTerminated | None = None


class ContainerStatusT(Base):
    name: str | None = None
    image: str | None = None
    ready: bool | None = None
    restartCount: int | None = None
    state: ContainerState | None = None
    lastState: ContainerState | None = None
    containerID: str | None = None


class PodStatus(Base):
    phase: str | None = None
    reason: str | None = None
    podIP: str | None = None
    hostIP: str | None = None
    qosClass: str | None = None
    startTime: datetime | None = None
    containerStatuses: list[ContainerStatusT] | None = None


class PodObj(Base):
    metadata: ObjectMeta | None = None
    spec: PodSpec | None = None
    status: PodStatus | None = None


# -- Event (core/v1, with the events.k8s.io/v1 names as fallbacks) ---------------------------


class ObjectReferenceT(Base):
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None


class EventSourceT(Base):
    component: str | None = None
    host: str | None = None


class EventSeriesT(Base):
    count: int | None = None
    lastObservedTime: datetime | None = None


class EventObj(Base):
    metadata: ObjectMeta | None = None
    involvedObject: ObjectReferenceT | None = None
    regarding: ObjectReferenceT | None = None  # events.k8s.io/v1
    reason: str | None = None
    type: str | None = None
    message: str | None = None
    note: str | None = None  # events.k8s.io/v1
    count: int | None = None
    deprecatedCount: int | None = None
    firstTimestamp: datetime | None = None
    lastTimestamp: datetime | None = None
    deprecatedFirstTimestamp: datetime | None = None
    deprecatedLastTimestamp: datetime | None = None
    eventTime: datetime | None = None
    series: EventSeriesT | None = None
    source: EventSourceT | None = None
    deprecatedSource: EventSourceT | None = None
    reportingComponent: str | None = None
    reportingController: str | None = None  # events.k8s.io/v1


# -- NetworkPolicy ---------------------------------------------------------------------------


class NetworkPolicySpec(Base):
    podSelector: LabelSelectorT | None = None
    policyTypes: list[str] | None = None


class NetworkPolicyObj(Base):
    metadata: ObjectMeta | None = None
    spec: NetworkPolicySpec | None = None


# -- lists and watch lines -------------------------------------------------------------------


def list_type(item_type: type) -> type:
    return msgspec.defstruct(
        f"{item_type.__name__}List",
        [
            ("apiVersion", str | None, None),
            ("metadata", ListMeta | None, None),
            ("items", list[item_type] | None, None),
        ],
        bases=(Base,),
    )


class RawList(Base):
    """A list whose items are kept raw, for the per-item fallback."""

    apiVersion: str | None = None
    metadata: ListMeta | None = None
    items: list[Raw] | None = None


class WatchLine(Base):
    type: str | None = None
    object: Raw = msgspec.field(default_factory=Raw)  # empty when absent


class MetaOnly(Base):
    """Any object, of which only metadata.resourceVersion is read (BOOKMARK events)."""

    metadata: ObjectMeta | None = None


OBJECT_TYPES: dict[str, type] = {
    "nodes": NodeObj,
    "runtimeclasses": RuntimeClassObj,
    "pods": PodObj,
    "events": EventObj,
    "networkpolicies": NetworkPolicyObj,
}

LIST_TYPES: dict[str, type] = {kind: list_type(cls) for kind, cls in OBJECT_TYPES.items()}


def watch_line_type(item_type: type) -> type:
    """A watch line whose object is decoded as `item_type` in the same pass."""
    return msgspec.defstruct(f"{item_type.__name__}WatchLine",
                             [("type", str | None, None), ("object", item_type | None, None)],
                             bases=(Base,))


TYPED_WATCH_LINES: dict[str, type] = {kind: watch_line_type(cls) for kind, cls in OBJECT_TYPES.items()}
