"""Screens: main, the three detail screens, a pod's YAML, describe and logs, help, log and the
namespace picker."""

from __future__ import annotations


def detail_screen_for(kind: str, key: str):
    """The detail screen of one object; kind is "Pod" (key = uid), "Node", "RuntimeClass" or "Finding"."""
    if kind == "Pod":
        from kataview.ui.screens.pod_detail import PodDetailScreen

        return PodDetailScreen(key)
    if kind == "Node":
        from kataview.ui.screens.node_detail import NodeDetailScreen

        return NodeDetailScreen(key)
    if kind == "RuntimeClass":
        from kataview.ui.screens.runtime_class_detail import RuntimeClassDetailScreen

        return RuntimeClassDetailScreen(key)
    if kind == "Finding":  # key: finding_detail.finding_key (code, kind, namespace, name)
        from kataview.ui.screens.finding_detail import FindingDetailScreen

        return FindingDetailScreen(key)
    return None
