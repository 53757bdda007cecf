"""The Kubernetes objects the guided setup creates, built from the operator's choices.

`Placement` is the trusted/untrusted split chosen for the node: the labels it gets and the
taints it carries. A RuntimeClass built with it schedules its pods there (nodeSelector = the
labels) and lets them past the taints (one toleration per taint).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import yaml

from kataview.model.runtime import KATA_NODE_LABEL
from kataview.setup.containerd.schema import handler_name_problem

__all__ = ["KATA_DEPLOY", "PLACEMENTS", "UNTRUSTED_SPLIT", "Placement", "network_policy_manifest",
           "runtime_class_manifest", "to_yaml", "tolerations_for"]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DEFAULT_OVERHEAD = {"cpu": "250m", "memory": "160Mi"}  # kata-deploy's RuntimeClasses


@dataclass(frozen=True, slots=True)
class Placement:
    name: str
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, str], ...] = field(default=())

    def kubectl_commands(self, node: str) -> list[str]:
        labels = " ".join(f"{k}={v}" for k, v in self.labels.items())
        lines = [f"kubectl label node {node} {labels}"] if labels else []
        lines += [f"kubectl taint node {node} {t['key']}={t.get('value', '')}:{t['effect']}"
                  for t in self.taints]
        return lines


UNTRUSTED_SPLIT = Placement(
    "untrusted", {"example.org/workload": "untrusted"},
    ({"key": "example.org/workload", "value": "untrusted", "effect": "NoSchedule"},))
KATA_DEPLOY = Placement("kata-deploy", {KATA_NODE_LABEL: "true"})
PLACEMENTS = {p.name: p for p in (UNTRUSTED_SPLIT, KATA_DEPLOY)}


def tolerations_for(taints: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    result = []
    for taint in taints:
        toleration = {"key": taint["key"], "operator": "Equal" if taint.get("value") else "Exists"}
        if taint.get("value"):
            toleration["value"] = taint["value"]
        toleration["effect"] = taint["effect"]
        result.append(toleration)
    return result


def _check_name(name: str, what: str) -> None:
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        raise ValueError(f"{what} {name!r} is not a valid Kubernetes object name (DNS subdomain)")


def runtime_class_manifest(name: str, handler: str, *, overhead: Mapping[str, str] | None = None,
                           placement: Placement | None = None) -> dict[str, Any]:
    """A node.k8s.io/v1 RuntimeClass; overhead {} or None leaves podFixed out."""
    _check_name(name, "RuntimeClass name")
    problem = handler_name_problem(handler)
    if problem:
        raise ValueError(problem)
    manifest: dict[str, Any] = {
        "apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kataview"}},
        "handler": handler}
    if overhead:
        manifest["overhead"] = {"podFixed": dict(overhead)}
    if placement is not None and (placement.labels or placement.taints):
        scheduling: dict[str, Any] = {}
        if placement.labels:
            scheduling["nodeSelector"] = dict(placement.labels)
        if placement.taints:
            scheduling["tolerations"] = tolerations_for(placement.taints)
        manifest["scheduling"] = scheduling
    return manifest


def network_policy_manifest(namespace: str, name: str = "kataview-isolate-untrusted") -> dict[str, Any]:
    """Deny traffic into and out of `namespace` except between its own pods, plus DNS out."""
    _check_name(namespace, "namespace")
    _check_name(name, "NetworkPolicy name")
    dns_ports = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "kataview"}},
        "spec": {
            "podSelector": {}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]},
                       {"to": [{"namespaceSelector": {"matchLabels": {
                           "kubernetes.io/metadata.name": "kube-system"}}}], "ports": dns_ports}]}}


def to_yaml(obj: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(obj), sort_keys=False, default_flow_style=False)
