"""The model's analysis, as the UI imports it (one place to adapt if its interface moves)."""

from __future__ import annotations

from kataview.model.analysis import (  # noqa: F401
    find_findings,
    group_pods_by_runtime,
    node_handlers,
    pod_runtime,
    pods_per_runtime_on_node,
    runtime_class_nodes,
    runtime_family,
)
