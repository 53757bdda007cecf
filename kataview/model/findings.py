"""Findings: what is wrong or risky in a snapshot, each with a stable code, a severity, the
object it is about and one sentence naming the object and what to do. Stdlib only.

=====  ========  ============  =============================================================
code   severity  kind          when
=====  ========  ============  =============================================================
KV001  error     RuntimeClass  no node offers the RuntimeClass's handler (warning when every
                               node's answer is inferred, i.e. no node reports runtimeHandlers)
KV002  warning   RuntimeClass  no ``scheduling.nodeSelector`` while some nodes (that its pods
                               could reach) lack the handler and at least one has it
KV003  error     Pod           sandbox creation fails: the pod's node has no such runtime
                               handler (FailedCreatePodSandBox, containerd ``no runtime for "X"
                               is configured`` / CRI-O ``failed to find runtime handler X``)
KV004  error     RuntimeClass  pods (or a rejected create) use a RuntimeClass that does not exist
KV005  warning   <owner>/Pod   runc workload (not DaemonSet-owned) on a node tainted for
                               untrusted workloads: the trust boundary leaks through a toleration
KV006  warning   Namespace     sandboxed (kata/gvisor/legacy untrusted) pods that no
                               NetworkPolicy selects
KV007  error     Pod           the Kata agent in the pod's VM did not answer over vsock
KV008  info      Namespace     pods ask for the untrusted runtime with the legacy annotation
=====  ========  ============  =============================================================

Findings that need a resource the snapshot could not read (``snapshot.unreadable``) are not
raised rather than raised wrongly: e.g. KV004 is skipped when RuntimeClasses are unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass

from kataview.model.events import PodFinder, event_sandbox_failure
from kataview.model.records import ClusterSnapshot
from kataview.model.runtime import KATA_NODE_LABEL, UNTRUSTED_ANNOTATION, runtime_family

SEVERITIES = ("error", "warning", "info")
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: str  # error | warning | info
    kind: str
    namespace: str
    name: str
    message: str

    @property
    def object(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


def in_namespace(finding, namespace: str | None) -> bool:
    """Whether a finding (or anything with its kind, namespace and name) belongs in the scope of
    one namespace (`-n`, `:ns`): about an object in that namespace, about the namespace itself,
    or about a cluster-scoped object (RuntimeClass, Node: their marks show in every scope).
    Not another namespace's. None: every namespace, everything."""
    if namespace is None:
        return True
    if finding.namespace:
        return finding.namespace == namespace
    if finding.kind == "Namespace":
        return finding.name == namespace
    return True


# -- helpers ---------------------------------------------------------------------------------


def _names(items, limit: int = 3) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# -- the checks ------------------------------------------------------------------------------


def _runtime_class_findings(analysis) -> list[Finding]:
    snapshot = analysis.snapshot
    out = []
    if not snapshot.nodes:
        return out
    for rc in analysis.node_facts.sorted_classes:
        fits = analysis.runtime_class_nodes(rc)
        having = [fit for fit in fits if fit.has_handler]
        if not having:
            inferred = any(fit.inferred for fit in fits)
            how = ("is known to offer" if inferred else "reports")
            why = " (nodes do not report runtimeHandlers and no label or running pod shows it)" if inferred else ""
            out.append(Finding(
                "KV001", "warning" if inferred else "error", "RuntimeClass", "", rc.name,
                f"RuntimeClass {rc.name}: no node {how} handler {rc.handler!r}{why}, so its pods cannot start; "
                f"install and configure {rc.handler!r} in the container runtime of the nodes meant for it.",
            ))
            continue
        if rc.node_selector:
            continue
        # without a nodeSelector, "schedulable" is: not cordoned and every blocking taint tolerated
        reachable = [fit for fit in fits if not fit.has_handler and fit.schedulable]
        if reachable:
            reachable_lacking = [fit.node for fit in reachable]
            example = (f'e.g. {KATA_NODE_LABEL}: "true"' if runtime_family(rc.handler) == "kata"
                       else f"a label you put on the nodes with {rc.handler!r}")
            inferred = " (inferred: those nodes do not report runtimeHandlers)" if any(
                fit.inferred for fit in reachable) else ""
            out.append(Finding(
                "KV002", "warning", "RuntimeClass", "", rc.name,
                f"RuntimeClass {rc.name} has no scheduling.nodeSelector but {len(reachable_lacking)} node(s) "
                f"({_names(reachable_lacking)}) lack handler {rc.handler!r}{inferred}; add a nodeSelector for the "
                f"nodes that have it ({example}) so its pods do not land there.",
            ))
    return out


def _event_findings(snapshot: ClusterSnapshot, missing_rc: dict[str, list[str]]) -> list[Finding]:
    out = []
    pods_readable = "pods" not in snapshot.unreadable
    find = PodFinder(snapshot)
    seen: set[tuple[str, str, str]] = set()
    handler_classes: dict[str, list[str]] = {}
    for rc in snapshot.runtime_classes.values():
        handler_classes.setdefault(rc.handler, []).append(rc.name)
    for event in sorted(snapshot.events, key=lambda e: (e.involved_namespace, e.involved_name)):
        failure = event_sandbox_failure(event)
        if failure.class_ == "runtimeclass-not-found":
            missing_rc.setdefault(failure.runtime_class, []).append(
                f"{event.involved_namespace}/{event.involved_name}".strip("/"))
            continue
        if failure.class_ not in ("no-runtime-configured", "agent-vsock-timeout"):
            continue
        pod = find(event.involved_uid, event.involved_namespace, event.involved_name)
        if pod is None and pods_readable:
            continue  # the pod is gone: a stale event
        if pod is not None and (pod.phase == "Running" or pod.finished):
            continue  # it started after all, or finished
        key = (failure.class_, event.involved_namespace, event.involved_name)
        if key in seen:
            continue
        seen.add(key)
        node = pod.node_name if pod is not None and pod.node_name else None
        where = f"node {node}" if node else "its node"
        target = f"Pod {event.involved_namespace}/{event.involved_name}"
        if failure.class_ == "no-runtime-configured":
            classes = handler_classes.get(failure.handler or "", [])
            fix = (f"configure handler {failure.handler!r} there or give RuntimeClass {_names(classes)} a "
                   f"scheduling.nodeSelector that excludes {where}") if classes else (
                   f"configure handler {failure.handler!r} there or move the pod to a node that has it")
            out.append(Finding(
                "KV003", "error", "Pod", event.involved_namespace, event.involved_name,
                f"{target} is stuck: no runtime handler {failure.handler!r} is configured on {where}, "
                f"so its sandbox cannot be created; {fix}.",
            ))
        else:
            out.append(Finding(
                "KV007", "error", "Pod", event.involved_namespace, event.involved_name,
                f"{target} is stuck: the Kata agent in its VM on {where} did not answer over vsock, so its "
                f"sandbox cannot be created; check that vhost_vsock is loaded and the guest kernel/image boot (kata-runtime check).",
            ))
    return out


def _pod_findings(analysis) -> list[Finding]:
    """KV005, KV006, KV008 from the per-pod inputs gathered in the snapshot's one pod pass."""
    snapshot = analysis.snapshot
    out = []
    untrusted_nodes = analysis.node_facts.untrusted
    memo = analysis.finding_memo
    for (kind, namespace, name), leaked in sorted(analysis.counts.leaks.items()):
        known = memo.get(("KV005", kind, namespace, name))
        if known is not None and known[0] is leaked:
            out.append(known[1])
            continue
        pods = sorted(pod_name for pod_name, _node in leaked.values())
        nodes = sorted({node for _pod_name, node in leaked.values()})
        taint = untrusted_nodes[nodes[0]][0]
        out.append(Finding(
            "KV005", "warning", kind, namespace, name,
            f"{kind} {namespace}/{name} runs {len(pods)} runc pod(s) ({_names(pods)}) on node(s) {_names(nodes)} "
            f"tainted for untrusted workloads ({taint}): a toleration lets trusted-runtime pods past the boundary; "
            f"remove that toleration or give the pods a sandboxed RuntimeClass.",
        ))
        memo[("KV005", kind, namespace, name)] = (leaked, out[-1])
    if "networkpolicies" not in snapshot.unreadable:
        for namespace, bare_pods in sorted(analysis.counts.bare_ns.items()):
            known = memo.get(("KV006", namespace))
            if known is not None and known[0] is bare_pods:
                out.append(known[1])
                continue
            bare = sorted(bare_pods.values())
            out.append(Finding(
                "KV006", "warning", "Namespace", "", namespace,
                f"Namespace {namespace} runs {len(bare)} sandboxed pod(s) ({_names(bare)}) that no "
                f"NetworkPolicy selects: the VM boundary does not limit their network reach; add a "
                f"NetworkPolicy (e.g. default-deny) for them.",
            ))
            memo[("KV006", namespace)] = (bare_pods, out[-1])
    for namespace, count in sorted(analysis.counts.legacy_ns.items()):
        out.append(Finding(
            "KV008", "info", "Namespace", "", namespace,
            f"Namespace {namespace} has {count} pod(s) asking for the untrusted runtime with the legacy "
            f"annotation {UNTRUSTED_ANNOTATION!r} (deprecated since containerd 1.2, removed in 2.0); "
            f"give them a RuntimeClass instead.",
        ))
    return out


def findings_of(analysis) -> list[Finding]:
    """The findings of a kataview.model.analysis.Analysis, errors first, then by code and object."""
    snapshot = analysis.snapshot
    missing_rc: dict[str, list[str]] = {}
    findings = _runtime_class_findings(analysis)
    findings += _event_findings(snapshot, missing_rc)
    for name, users in analysis.counts.missing_users.items():
        missing_rc.setdefault(name, []).extend(users.values())
    findings += _pod_findings(analysis)
    if "runtimeclasses" not in snapshot.unreadable:
        for name, users in sorted(missing_rc.items()):
            if not name or name in snapshot.runtime_classes:
                continue
            users = sorted(set(u for u in users if u))
            findings.append(Finding(
                "KV004", "error", "RuntimeClass", "", name,
                f"RuntimeClass {name} does not exist but {len(users)} pod(s) use it ({_names(users)}); "
                f"create it or fix the pods' runtimeClassName.",
            ))
    findings.sort(key=lambda f: (_SEVERITY_RANK.get(f.severity, 9), f.code, f.namespace, f.name))
    return findings
