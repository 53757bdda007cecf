"""`kataview report`: a one-shot inventory of runtimes, RuntimeClasses, pods and findings.

`build_report` is pure (snapshot in, JSON-ready dict out) so the JSON is tested without a
cluster; `run_report` connects, lists every resource once (paginated, GET only) and prints.
The JSON shape is documented in the README and versioned by `apiVersion`; within v1 fields
are only ever added.

Exit codes (kataview.model.exit_codes): 0 when no finding reaches the `--fail-on` threshold,
1 when one does; failures to read the cluster have codes of their own (`kube_exit_code`).
With `--fail-on warning` a resource RBAC does not let kataview read, and an object the server
sent that could not be decoded, count as a warning: the findings may be incomplete. `--fail-on info` fails on any finding.
"""

from __future__ import annotations

import asyncio
import gc
import re
import sys
from datetime import datetime, timezone
from operator import attrgetter
from typing import Any

import msgspec

from kataview.cli.logsetup import print_error
from kataview.model.analysis import (
    KATA_NODE_LABEL,
    RuntimeResolver,
    find_findings,
    group_pods_by_runtime,
    node_handlers,
    pods_per_runtime_on_node,
    runtime_class_nodes,
)
from kataview.model.exit_codes import Exit
from kataview.model.findings import in_namespace
from kataview.model.records import ClusterSnapshot, Node, Pod, RuntimeClass
from kataview.sources.base import SourceInfo
from kataview.sources.settings import Settings

REPORT_API_VERSION = "kataview.report/v1"
REPORT_KIND = "Report"
FAIL_ON = ("info", "warning", "error")
_RANK = {"error": 0, "warning": 1, "info": 2}
_VERB = re.compile(r'cannot (\w+) resource')


def unreadable_reason(resource: str, reason: str) -> str:
    """`forbidden: <the server's words>` becomes the line an operator acts on: the missing
    verb, resource and user, and the file that grants them."""
    if not reason.startswith("forbidden: ") or reason.startswith("forbidden: cannot "):
        return reason
    from kataview.kube.informer import permission_missing

    verb = _VERB.search(reason)
    return "forbidden: " + permission_missing(resource, verb.group(1) if verb else "list",
                                              reason[len("forbidden: "):])


def kube_exit_code(error: BaseException) -> Exit:
    """The exit code for an error of the kube layer (report and vm share it)."""
    from kataview.kube.errors import KubeConfigError, KubeUnreachable, ReadOnlyViolation

    if isinstance(error, KubeConfigError):
        return Exit.CONFIG
    if isinstance(error, KubeUnreachable):
        return Exit.UNREACHABLE
    if isinstance(error, ReadOnlyViolation):
        return Exit.READ_ONLY
    return Exit.API_ERROR


def failing(report: dict[str, Any], fail_on: str | None) -> list[str]:
    """What makes `--fail-on` fail: the codes of findings at or above the threshold, and
    (for warning) every unreadable resource. Empty: exit 0."""
    if fail_on is None:
        return []
    limit = _RANK[fail_on]
    reasons = [f"{f['code']} {f['severity']}" for f in report["findings"]
               if _RANK.get(f["severity"], 9) <= limit]
    if limit >= _RANK["warning"]:
        reasons += [f"{resource} unreadable" for resource in sorted(report["unreadable"])]
        reasons += [f"{number} {resource} undecodable"
                    for resource, number in report.get("skipped", {}).items()]
    return reasons


def node_entry(node: Node, snapshot: ClusterSnapshot, pods_on_node: dict[str, int]) -> dict[str, Any]:
    runtime_name, runtime_version = node.container_runtime
    handlers = node_handlers(node, snapshot)
    return {
        "name": node.name,
        "ready": node.ready,
        "roles": list(node.roles),
        "containerRuntime": {"name": runtime_name, "version": runtime_version,
                             "raw": node.container_runtime_version},
        "kubeletVersion": node.kubelet_version,
        "handlers": list(handlers.names),
        "handlersInferred": handlers.inferred,
        "kataLabel": node.labels.get(KATA_NODE_LABEL),
        "taints": [str(taint) for taint in node.taints],
        "podsByRuntime": dict(sorted(pods_on_node.items())),
    }


def runtime_class_entry(rc: RuntimeClass, snapshot: ClusterSnapshot, pod_count: int) -> dict[str, Any]:
    fits = runtime_class_nodes(rc, snapshot)
    return {
        "name": rc.name,
        "handler": rc.handler,
        "apiVersion": rc.api_version,
        "overhead": dict(rc.overhead),
        "overheadCpuMillis": rc.overhead_cpu_millis,
        "overheadMemoryBytes": rc.overhead_memory_bytes,
        "scheduling": None if rc.node_selector is None and not rc.tolerations else {
            "nodeSelector": dict(rc.node_selector or {}),
            "tolerations": [str(toleration) for toleration in rc.tolerations],
        },
        "pods": pod_count,
        "nodesAble": sum(1 for fit in fits if fit.can_run),
        "nodesAbleInferred": any(fit.inferred for fit in fits),
        "nodes": [{"name": fit.node, "canRun": fit.can_run, "hasHandler": fit.has_handler,
                   "schedulable": fit.schedulable, "inferred": fit.inferred, "why": fit.why}
                  for fit in fits],
    }


def pod_overhead(pod: Pod, rc: RuntimeClass | None) -> tuple[dict[str, str] | None, str | None]:
    """(overhead, source): spec.overhead as admission set it, else the RuntimeClass's; the
    same order the vm command uses."""
    if pod.overhead:
        return dict(pod.overhead), "pod"
    if rc is not None and rc.overhead:
        return dict(rc.overhead), f"runtimeclass/{rc.name}"
    return None, None


def pod_entries(snapshot: ClusterSnapshot) -> list[dict[str, Any]]:
    """One entry per pod, by namespace and name. Status is the TUI's STATUS column
    (Pod.status_text), runtime/handler/family the TUI's RUNTIME (the same resolver)."""
    resolve = RuntimeResolver(snapshot)
    classes = snapshot.runtime_classes
    entries = []
    for pod in sorted(snapshot.pods.values(), key=attrgetter("namespace", "name")):
        runtime = resolve(pod)
        overhead, source = pod_overhead(pod, classes.get(pod.runtime_class_name or ""))
        entries.append({
            "namespace": pod.namespace, "name": pod.name, "node": pod.node_name,
            "status": pod.status_text, "phase": pod.phase,
            "runtimeClassName": pod.runtime_class_name, "runtime": runtime.label,
            "handler": runtime.handler or None, "family": runtime.family, "runtimeSource": runtime.source,
            "overhead": overhead, "overheadSource": source,
        })
    return entries


def build_report(snapshot: ClusterSnapshot, info: SourceInfo, *, with_pods: bool = True) -> dict[str, Any]:
    """The report; without `with_pods` no `pods` array (the plain text form does not show it,
    and at 150,000 pods it costs ~0.5 s to build and make terminal-safe)."""
    groups = group_pods_by_runtime(snapshot)
    per_node = pods_per_runtime_on_node(snapshot)
    pods_per_class: dict[str, int] = {}
    for pod in snapshot.pods.values():
        if pod.runtime_class_name:
            pods_per_class[pod.runtime_class_name] = pods_per_class.get(pod.runtime_class_name, 0) + 1
    taken_at = snapshot.taken_at or datetime.now(timezone.utc)
    return {
        "apiVersion": REPORT_API_VERSION,
        "kind": REPORT_KIND,
        "context": info.context,
        "server": info.server,
        "namespace": info.namespace,
        "generatedAt": taken_at.isoformat().replace("+00:00", "Z"),
        "counts": {"nodes": len(snapshot.nodes), "runtimeClasses": len(snapshot.runtime_classes),
                   "pods": len(snapshot.pods)},
        "nodes": [node_entry(node, snapshot, per_node.get(name, {}))
                  for name, node in sorted(snapshot.nodes.items())],
        "runtimeClasses": [runtime_class_entry(rc, snapshot, pods_per_class.get(name, 0))
                           for name, rc in sorted(snapshot.runtime_classes.items())],
        "podsByRuntime": [{"runtime": group.label, "handler": group.handler or None, "family": group.family,
                           "pods": group.count} for group in groups],
        **({"pods": pod_entries(snapshot)} if with_pods else {}),
        "findings": [{"code": f.code, "severity": f.severity, "kind": f.kind, "namespace": f.namespace,
                      "name": f.name, "message": f.message} for f in find_findings(snapshot)
                     if in_namespace(f, info.namespace)],  # the rule the TUI's findings pane uses
        "unreadable": {resource: unreadable_reason(resource, reason)
                       for resource, reason in sorted(snapshot.unreadable.items())},
        # resource -> objects the server sent that could not be decoded (not counted above)
        "skipped": dict(sorted(snapshot.skipped.items())),
    }


def json_text(document: Any) -> str:
    """Indented JSON, byte for byte what json.dumps(indent=2, ensure_ascii=False) writes plus
    a newline, from msgspec's C encoder: the stdlib's indenting encoder is pure Python
    (~0.3 s for a 150,000-pod report)."""
    return msgspec.json.format(msgspec.json.encode(document), indent=2).decode() + "\n"


def yaml_text(document: Any) -> str:
    """The report as YAML, kubectl -o yaml's style (block style, keys in the JSON's order),
    with libyaml's C emitter when PyYAML has it."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(document, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)


def write_in_pieces(text: str, piece: int = 1 << 16) -> None:
    """Write a large text to stdout in pieces: one big write into a pipe whose reader leaves
    (`| head`) ends in a short write, and CPython then reports no error at all; a piece written
    after the reader left raises BrokenPipeError, which the CLI turns into a quiet exit 1."""
    for start in range(0, len(text), piece):
        sys.stdout.write(text[start:start + piece])
    sys.stdout.flush()


def run_report(settings: Settings, *, output: str | None = None, fail_on: str | None = None) -> int:
    """output: None (the tables), "wide" (the tables and one line per pod), "json", "yaml"."""
    from kataview.cli.logsetup import setup_logging

    setup_logging(interactive=False)
    # One shot over a heap that only grows: the cyclic collector would rescan every record
    # many times (about a fifth of the CPU at 50,000 pods); refcounting still frees the rest.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return report_and_exit_code(settings, output, fail_on)
    finally:
        # At exit the interpreter runs one last full collection over everything still
        # tracked, gc.disable() or not: ~2.5 s at 150,000 pods, spent after the report is out.
        # Frozen objects are skipped; the process is about to end anyway.
        gc.freeze()
        if was_enabled:
            gc.enable()


def report_and_exit_code(settings: Settings, output: str | None, fail_on: str | None) -> int:
    from kataview.kube.errors import KubeError
    from kataview.sources.live import gather_once

    try:
        info, snapshot = asyncio.run(gather_once(settings))
    except KubeError as error:
        print_error("kataview report", error)
        return kube_exit_code(error)
    report = build_report(snapshot, info, with_pods=output is not None)
    if output == "json":
        write_in_pieces(json_text(report))
    elif output == "yaml":
        write_in_pieces(yaml_text(report))
    else:
        from kataview.cli.report_text import print_report

        print_report(report, wide=output == "wide")
    reasons = failing(report, fail_on)
    if reasons:
        shown = ", ".join(reasons[:5]) + (f" and {len(reasons) - 5} more" if len(reasons) > 5 else "")
        print(f"kataview report: --fail-on {fail_on}: {shown}", file=sys.stderr)
        return Exit.FINDINGS
    return Exit.OK
