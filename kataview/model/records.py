"""Frozen domain records: the compact shape of what kataview shows.

The kube layer decodes API bytes into these; the UI and the report only read them. Fields hold
what the operator sees, nothing more, so 150,000 pods stay small. Mappings are plain dicts by
convention never mutated after construction (a frozen dataclass cannot stop that, a test of
each builder does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

EMPTY: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str = ""
    effect: str = ""  # NoSchedule, PreferNoSchedule, NoExecute

    def __str__(self) -> str:
        value = f"={self.value}" if self.value else ""
        return f"{self.key}{value}:{self.effect}"


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str = ""  # empty key with operator Exists tolerates everything
    operator: str = "Equal"  # Equal or Exists
    value: str = ""
    effect: str = ""  # empty matches every effect

    def __str__(self) -> str:
        key = self.key or "*"
        if self.operator == "Exists":
            text = f"{key} exists"
        else:
            text = f"{key}={self.value}"
        return f"{text}:{self.effect}" if self.effect else text


@dataclass(frozen=True, slots=True)
class SelectorRequirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A metav1.LabelSelector. The empty selector matches everything."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    match_expressions: tuple[SelectorRequirement, ...] = ()


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str  # "True", "False", "Unknown"
    reason: str = ""
    message: str = ""
    last_transition: datetime | None = None


@dataclass(frozen=True, slots=True)
class NodeAddress:
    type: str  # InternalIP, ExternalIP, Hostname
    address: str


@dataclass(frozen=True, slots=True)
class RuntimeHandler:
    """One entry of node.status.runtimeHandlers (Kubernetes >= 1.30). Name "" is the default."""

    name: str
    recursive_read_only_mounts: bool | None = None
    user_namespaces: bool | None = None


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    uid: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    conditions: tuple[Condition, ...] = ()
    addresses: tuple[NodeAddress, ...] = ()
    # status.nodeInfo.containerRuntimeVersion as reported, e.g. "containerd://1.7.15-1"
    container_runtime_version: str | None = None
    kubelet_version: str | None = None
    os_image: str | None = None
    kernel_version: str | None = None
    architecture: str | None = None
    cpu_capacity_millis: int | None = None
    memory_capacity_bytes: int | None = None
    # None means the node does not report runtimeHandlers (older kubelet or runtime):
    # handler availability must then be inferred, and is marked so.
    runtime_handlers: tuple[RuntimeHandler, ...] | None = None
    created: datetime | None = None

    @property
    def ready(self) -> bool | None:
        for condition in self.conditions:
            if condition.type == "Ready":
                return condition.status == "True"
        return None

    @property
    def roles(self) -> tuple[str, ...]:
        prefix = "node-role.kubernetes.io/"
        roles = sorted(key[len(prefix):] for key in self.labels if key.startswith(prefix))
        if not roles and self.labels.get("kubernetes.io/role"):
            roles = [self.labels["kubernetes.io/role"]]
        return tuple(role for role in roles if role)

    @property
    def container_runtime(self) -> tuple[str | None, str | None]:
        """(name, version) from "containerd://1.7.15"; (None, None) when unparseable."""
        raw = self.container_runtime_version or ""
        name, sep, version = raw.partition("://")
        if not sep or not name:
            return None, None
        return name, version or None

    def address(self) -> str | None:
        """The address to reach the node at: InternalIP, then Hostname."""
        for wanted in ("InternalIP", "Hostname"):
            for address in self.addresses:
                if address.type == wanted and address.address:
                    return address.address
        return None


@dataclass(frozen=True, slots=True)
class RuntimeClass:
    name: str
    handler: str
    api_version: str = "node.k8s.io/v1"
    uid: str = ""
    # overhead.podFixed as written ("250m", "160Mi"), plus normalised figures
    overhead: Mapping[str, str] = field(default_factory=dict)
    overhead_cpu_millis: int | None = None
    overhead_memory_bytes: int | None = None
    # None: no scheduling block at all; {} would be an empty nodeSelector
    node_selector: Mapping[str, str] | None = None
    tolerations: tuple[Toleration, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    created: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContainerStatus:
    name: str
    image: str = ""
    ready: bool = False
    restart_count: int = 0
    state: str | None = None  # "running", "waiting", "terminated" or None (no status yet)
    reason: str = ""  # waiting/terminated reason, e.g. ContainerCreating, CrashLoopBackOff
    message: str = ""
    started_at: datetime | None = None
    container_id: str = ""  # "containerd://<64 hex>"
    last_termination_reason: str = ""


@dataclass(frozen=True, slots=True)
class OwnerRef:
    kind: str
    name: str
    controller: bool = False


@dataclass(frozen=True, slots=True)
class Pod:
    uid: str
    namespace: str
    name: str
    node_name: str | None = None
    runtime_class_name: str | None = None
    phase: str = "Unknown"  # Pending, Running, Succeeded, Failed, Unknown
    reason: str = ""  # status.reason, e.g. Evicted
    labels: Mapping[str, str] = field(default_factory=dict)
    # only the annotations kataview reads (legacy untrusted workload, Kata, CRI-O trust)
    annotations: Mapping[str, str] = field(default_factory=dict)
    owner: OwnerRef | None = None
    containers: tuple[ContainerStatus, ...] = ()
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    # spec.overhead as set by the RuntimeClass admission controller
    overhead: Mapping[str, str] = field(default_factory=dict)
    pod_ip: str = ""
    host_ip: str = ""
    qos_class: str = ""
    created: datetime | None = None
    started: datetime | None = None
    deleting: bool = False

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def finished(self) -> bool:
        """Succeeded or Failed: the pod will not run again."""
        return self.phase in ("Succeeded", "Failed")

    @property
    def ready_count(self) -> int:
        return sum(1 for container in self.containers if container.ready)

    @property
    def restarts(self) -> int:
        return sum(container.restart_count for container in self.containers)

    @property
    def status_text(self) -> str:
        """What kubectl's STATUS column says: a waiting/terminated reason wins over the phase."""
        if self.deleting:
            return "Terminating"
        if self.reason:
            return self.reason
        for container in self.containers:
            if container.state in ("waiting", "terminated") and container.reason:
                if container.reason != "Completed" or self.phase != "Running":
                    return container.reason
        return self.phase


@dataclass(frozen=True, slots=True)
class Event:
    uid: str
    namespace: str
    name: str
    reason: str
    type: str = "Normal"  # Normal or Warning
    message: str = ""
    involved_kind: str = ""
    involved_namespace: str = ""
    involved_name: str = ""
    involved_uid: str = ""
    count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    source: str = ""  # reporting component, e.g. kubelet


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    namespace: str
    name: str
    pod_selector: LabelSelector = field(default_factory=LabelSelector)
    policy_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    """Everything kataview knows about the cluster at one moment. Never mutated: informers
    build a new one (sharing unchanged records) and post it."""

    nodes: Mapping[str, Node] = field(default_factory=dict)  # by name
    runtime_classes: Mapping[str, RuntimeClass] = field(default_factory=dict)  # by name
    pods: Mapping[str, Pod] = field(default_factory=dict)  # by uid
    events: tuple[Event, ...] = ()  # sandbox-failure events only
    network_policies: tuple[NetworkPolicy, ...] = ()
    # resource -> why it could not be read (e.g. RBAC 403); the rest is still valid
    unreadable: Mapping[str, str] = field(default_factory=dict)
    taken_at: datetime | None = None
    # resource -> objects that came from the server but could not be decoded (not in the maps)
    skipped: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WatchState:
    """How fresh the snapshot is, for the header: syncing n/N, live, reconnecting, stale."""

    phase: str = "syncing"  # "syncing" | "live" | "reconnecting" | "stale"
    synced: int = 0  # informers that finished their first list
    total: int = 5
    stale_since: datetime | None = None  # set while the data may be out of date
    # resource -> short reason it cannot be read or watched right now ("forbidden", "HTTP 500")
    errors: Mapping[str, str] = field(default_factory=dict)
    last_error: str | None = None  # the most recent error seen, even if since recovered
    # resource -> objects received so far by a first list still in progress (a 150,000-pod
    # list takes seconds: the header shows it moving)
    listing: Mapping[str, int] = field(default_factory=dict)
    # resource -> its total as the list's remainingItemCount estimates it (paginated lists only)
    expected: Mapping[str, int] = field(default_factory=dict)
    # resources whose first list is not complete yet (RBAC-denied ones aside): what is shown
    # of them is partial, and findings drawn from them provisional
    unsynced: tuple[str, ...] = ()
    retry_at: datetime | None = None  # while failing: the next attempt, soonest first
    denied: tuple[str, ...] = ()  # resources RBAC does not let kataview read or watch

    def loading(self, kind: str) -> str:
        """How far the first list of a kind is: "55,000 of ~150,000", or "55,000" when the
        server gave no estimate (a watch-list, or a list without remainingItemCount)."""
        number = self.listing.get(kind, 0)
        total = self.expected.get(kind)
        return f"{number:,} of ~{total:,}" if total else f"{number:,}"

    @property
    def never_connected(self) -> bool:
        """Failing before any resource was ever listed: there is no data to be stale."""
        return self.synced == 0 and self.phase in ("reconnecting", "stale") and bool(self.errors)

    @property
    def label(self) -> str:
        """Short status text, e.g. "live", "syncing 3/5 · pods 45,500 of ~150,000",
        "stale since 12:03:07"."""
        if self.phase == "syncing":
            progress = "".join(f" · {kind} {self.loading(kind)}" for kind in self.listing)
            return f"syncing {self.synced}/{self.total}{progress}"
        if self.phase == "live" or self.stale_since is None:
            return self.phase
        return f"{self.phase} since {self.stale_since.astimezone():%H:%M:%S}"
