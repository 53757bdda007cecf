"""What a finding's detail view shows: its full text split into what is wrong and what to do,
what the check looks at, and every object involved (the RuntimeClass and the nodes that lack
its handler, the pods of a namespace no NetworkPolicy selects, ...), each with why it is
there. Stdlib only, pure.

Every finding's message ends with its advice after the last "; " (model/findings.py writes
them so); the objects come from the same analysis the finding came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from kataview.model.events import PodFinder, event_sandbox_failure
from kataview.model.findings import Finding

CHECKS = {
    "KV001": "A RuntimeClass names a CRI handler; a node runs its pods only when its container runtime "
             "has that handler configured. No node offers this one (reported in status.runtimeHandlers, "
             "or inferred from labels and running pods when nodes do not report them).",
    "KV002": "Without scheduling.nodeSelector the scheduler may place the RuntimeClass's pods on any node "
             "it tolerates, including nodes without the handler: those pods then fail to create their sandbox.",
    "KV003": "The kubelet asked the container runtime for a handler it does not have "
             "(FailedCreatePodSandBox): the pod stays in ContainerCreating until it lands elsewhere.",
    "KV004": "Pods name a RuntimeClass that does not exist: the API server rejects new ones, and the "
             "kubelet cannot start existing ones again.",
    "KV005": "A node tainted for untrusted workloads should run sandboxed pods only; a runc pod there "
             "shares the host kernel with them (node agents of DaemonSets are exempt).",
    "KV006": "A VM or gVisor sandbox isolates the kernel, not the network: without a NetworkPolicy the "
             "sandboxed pods can reach everything in the cluster.",
    "KV007": "Kata's runtime talks to the agent inside the VM over vsock; when it does not answer the "
             "sandbox is never created (vhost_vsock missing, guest kernel or image not booting).",
    "KV008": "The io.kubernetes.cri.untrusted-workload annotation predates RuntimeClass: containerd 2.0 "
             "ignores it, so those pods silently run with the default runtime there.",
}


@dataclass(frozen=True, slots=True)
class InvolvedObject:
    kind: str  # Pod, Node, RuntimeClass, Namespace, or an owner kind (ReplicaSet, ...)
    namespace: str
    name: str
    role: str  # why it is involved, in words
    key: str = ""  # what opens its detail: a pod's uid, a node's or RuntimeClass's name; "" if none

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class FindingDetail:
    finding: Finding
    statement: str  # what is wrong
    advice: str  # what to do ("" when the message has none)
    check: str  # what the check looks at
    objects: tuple[InvolvedObject, ...]


def split_advice(message: str) -> tuple[str, str]:
    statement, sep, advice = message.rpartition("; ")
    if not sep:
        return message, ""
    advice = advice[:1].upper() + advice[1:]
    return statement + ".", advice


def _pod(analysis, namespace: str, name: str, role: str) -> InvolvedObject:
    pod = PodFinder(analysis.snapshot)("", namespace, name)
    return InvolvedObject("Pod", namespace, name, role, pod.uid if pod is not None else "")


def _node(analysis, name: str, role: str) -> InvolvedObject:
    return InvolvedObject("Node", "", name, role, name if name in analysis.snapshot.nodes else "")


def _runtime_class(analysis, name: str, role: str) -> InvolvedObject:
    return InvolvedObject("RuntimeClass", "", name, role, name if name in analysis.snapshot.runtime_classes else "")


def _class_objects(finding: Finding, analysis) -> list[InvolvedObject]:
    rc = analysis.snapshot.runtime_classes.get(finding.name)
    if rc is None:  # KV004: it does not exist; the pods that ask for it are involved
        users = set(analysis.counts.missing_users.get(finding.name, {}).values())
        for event in analysis.snapshot.events:
            if event_sandbox_failure(event).runtime_class == finding.name:
                users.add(f"{event.involved_namespace}/{event.involved_name}")
        found = [_runtime_class(analysis, finding.name, "does not exist")]
        return found + [_pod(analysis, *user.split("/", 1), "asks for it") for user in sorted(users) if "/" in user]
    found = [_runtime_class(analysis, rc.name, f"handler {rc.handler!r}")]
    for fit in analysis.runtime_class_nodes(rc):
        if finding.code == "KV002" and fit.has_handler:
            found.append(_node(analysis, fit.node, f"has the handler: {fit.why}"))
        elif finding.code == "KV001" or (fit.schedulable and not fit.has_handler):
            found.append(_node(analysis, fit.node, f"lacks the handler: {fit.why}"))
    return found


def _pod_objects(finding: Finding, analysis) -> list[InvolvedObject]:
    found = [_pod(analysis, finding.namespace, finding.name, "the pod")]
    pod = PodFinder(analysis.snapshot)("", finding.namespace, finding.name)
    if pod is None:
        return found
    if pod.node_name:
        found.append(_node(analysis, pod.node_name, "its node"))
    if pod.runtime_class_name:
        found.append(_runtime_class(analysis, pod.runtime_class_name, "its RuntimeClass"))
    return found


def _namespace_objects(finding: Finding, analysis) -> list[InvolvedObject]:
    found = [InvolvedObject("Namespace", "", finding.name, "the namespace")]
    if finding.code == "KV006":
        for uid, name in sorted(analysis.counts.bare_ns.get(finding.name, {}).items(), key=lambda item: item[1]):
            found.append(InvolvedObject("Pod", finding.name, name, "sandboxed, no NetworkPolicy selects it", uid))
    elif finding.code == "KV008":
        for pod in sorted(analysis.snapshot.pods.values(), key=lambda pod: pod.name):
            if pod.namespace == finding.name and analysis.resolve(pod).source == "legacy-annotation":
                found.append(InvolvedObject("Pod", pod.namespace, pod.name, "uses the legacy annotation", pod.uid))
    return found


def _owner_objects(finding: Finding, analysis) -> list[InvolvedObject]:
    key = (finding.kind, finding.namespace, finding.name)
    leaked = analysis.counts.leaks.get(key, {})
    found = [InvolvedObject(finding.kind, finding.namespace, finding.name, "owns the runc pods",
                            next(iter(leaked)) if finding.kind == "Pod" and leaked else "")]
    if finding.kind != "Pod":
        found += [InvolvedObject("Pod", finding.namespace, name, f"runc on {node}", uid)
                  for uid, (name, node) in sorted(leaked.items(), key=lambda item: item[1])]
    for node in sorted({node for _name, node in leaked.values()}):
        found.append(_node(analysis, node, "tainted for untrusted workloads"))
    return found


def finding_detail(finding: Finding, analysis) -> FindingDetail:
    """The detail of a finding of `analysis` (a kataview.model.analysis.Analysis)."""
    if finding.code == "KV005":
        objects = _owner_objects(finding, analysis)
    elif finding.kind == "RuntimeClass":
        objects = _class_objects(finding, analysis)
    elif finding.kind == "Pod":
        objects = _pod_objects(finding, analysis)
    elif finding.kind == "Namespace":
        objects = _namespace_objects(finding, analysis)
    else:
        objects = [InvolvedObject(finding.kind, finding.namespace, finding.name, "the object")]
    statement, advice = split_advice(finding.message)
    return FindingDetail(finding, statement, advice, CHECKS.get(finding.code, ""), tuple(objects))
