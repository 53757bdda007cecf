"""Where each kind is listed and watched, which events are watched, and the one line an
operator acts on when RBAC denies a read."""

from __future__ import annotations

import re

SANDBOX_FAILURE_SELECTOR = "reason=FailedCreatePodSandBox"
NAMESPACED = frozenset({"pods", "events", "networkpolicies"})
RBAC_FILE = "deploy/rbac-readonly.yaml"
_USER = re.compile(r'User "([^"]*)"')
_PATHS: dict[str, tuple[str, ...]] = {
    "nodes": ("/api/v1/{ns}nodes",),
    "runtimeclasses": ("/apis/node.k8s.io/v1/runtimeclasses",
                       "/apis/node.k8s.io/v1beta1/runtimeclasses"),
    "pods": ("/api/v1/{ns}pods",),
    "events": ("/api/v1/{ns}events",),
    "networkpolicies": ("/apis/networking.k8s.io/v1/{ns}networkpolicies",),
}


def resource_paths(kind: str, namespace: str | None = None) -> tuple[str, ...]:
    """The list/watch paths of a kind, preferred first (later ones are fallbacks on 404)."""
    prefix = f"namespaces/{namespace}/" if namespace and kind in NAMESPACED else ""
    return tuple(path.format(ns=prefix) for path in _PATHS[kind])


def field_selector_for(kind: str) -> str | None:
    """Events are watched for sandbox failures only."""
    return SANDBOX_FAILURE_SELECTOR if kind == "events" else None


def permission_missing(kind: str, verb: str, error: BaseException) -> str:
    """The one line an operator acts on when RBAC denies a read: which verb, which resource,
    which user, and the file that grants it."""
    found = _USER.search(str(error))
    user = f' for user "{found.group(1)}"' if found else ""
    return (f'cannot {verb} {kind}: RBAC denies "{verb}" on "{kind}"{user}; '
            f"grant it with {RBAC_FILE}")
