"""Kubeconfig text for the API server double (never written under ~/.kube by this package)."""

from __future__ import annotations

import base64

import yaml


SECOND_CONTEXT_NAMESPACE = "sandboxed"


def kubeconfig_yaml(server: str, token: str, ca_pem: bytes | None, context: str) -> str:
    """Two contexts on the one double: ``context`` (current) and ``context-sandboxed`` (the
    same cluster and user, namespace sandboxed), so a context switch can be tried on it."""
    cluster: dict = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    user = f"{context}-user"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user, "namespace": "default"}},
                     {"name": f"{context}-{SECOND_CONTEXT_NAMESPACE}",
                      "context": {"cluster": context, "user": user, "namespace": SECOND_CONTEXT_NAMESPACE}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)
