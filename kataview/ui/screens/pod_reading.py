"""`y`, `d` and `l` on a pod, from the main screen or a pod's detail: which screen each opens."""

from __future__ import annotations


def pod_read_screen(what: str, pod):
    """`y`, `d` or `l` on a pod (a model Pod): its YAML, describe or container logs screen."""
    if what == "yaml":
        from kataview.ui.screens.pod_yaml import PodYamlScreen as screen
    elif what == "describe":
        from kataview.ui.screens.pod_describe import PodDescribeScreen as screen
    else:
        from kataview.ui.screens.pod_logs import PodLogsScreen as screen
    return screen(pod.uid, pod.namespace, pod.name)
