"""The only module that changes the cluster. Every call goes through KubeTransport.request,
so a read-only transport refuses it (ReadOnlyViolation) before anything is sent.

Small on purpose: the guided setup adds what it needs here.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from .reader import node_path
from .transport import KubeTransport

RUNTIME_CLASSES = "/apis/node.k8s.io/v1/runtimeclasses"
MERGE_PATCH = "application/merge-patch+json"
FIELD_MANAGER = "kataview"


class ClusterWriter:
    """dry_run=True asks the server to validate without persisting (dryRun=All)."""

    def __init__(self, transport: KubeTransport, *, dry_run: bool = False) -> None:
        self.transport = transport
        self.dry_run = dry_run

    def _query(self) -> dict[str, str]:
        query = {"fieldManager": FIELD_MANAGER}
        if self.dry_run:
            query["dryRun"] = "All"
        return query

    async def _call(self, method: str, path: str, body: Any = None,
                    content_type: str = "application/json") -> dict[str, Any]:
        data = await self.transport.request(method, path, body, query=self._query(),
                                            content_type=content_type)
        return json.loads(data) if data else {}

    async def create_runtime_class(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """POST a node.k8s.io/v1 RuntimeClass manifest; 409 Conflict if it exists."""
        return await self._call("POST", RUNTIME_CLASSES, dict(manifest))

    async def delete_runtime_class(self, name: str) -> dict[str, Any]:
        return await self._call("DELETE", f"{RUNTIME_CLASSES}/{quote(name, safe='')}")

    async def create_network_policy(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        namespace = manifest["metadata"]["namespace"]
        return await self._call("POST", _policies_path(namespace), dict(manifest))

    async def delete_network_policy(self, namespace: str, name: str) -> dict[str, Any]:
        return await self._call("DELETE", f"{_policies_path(namespace)}/{quote(name, safe='')}")

    async def create_pod(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """POST a v1 Pod into its metadata.namespace (the setup's smoke test)."""
        namespace = manifest["metadata"]["namespace"]
        return await self._call("POST", _pods_path(namespace), dict(manifest))

    async def delete_pod(self, namespace: str, name: str) -> dict[str, Any]:
        return await self._call("DELETE", f"{_pods_path(namespace)}/{quote(name, safe='')}")

    async def patch_node_labels(self, node: str,
                                labels: Mapping[str, str | None]) -> dict[str, Any]:
        """Set labels on a node; a value of None removes that label (JSON merge patch)."""
        body = {"metadata": {"labels": dict(labels)}}
        return await self._call("PATCH", node_path(node), body, MERGE_PATCH)

    async def set_node_taints(self, node: str, taints: Sequence[Mapping[str, str]],
                              resource_version: str | None = None) -> dict[str, Any]:
        """Replace spec.taints (a merge patch replaces lists whole). With resource_version
        the server refuses (409) if the node changed since it was read."""
        body: dict[str, Any] = {"spec": {"taints": [dict(taint) for taint in taints]}}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version}
        return await self._call("PATCH", node_path(node), body, MERGE_PATCH)


def _policies_path(namespace: str) -> str:
    return f"/apis/networking.k8s.io/v1/namespaces/{quote(namespace, safe='')}/networkpolicies"


def _pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/pods"
