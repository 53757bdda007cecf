"""The smoke test: a pod with the new RuntimeClass on the node; wait for Running; find its VM
over SSH and show that the guest kernel is not the host's (the proof the pod runs in a VM).

The pod prints `uname -r` (so `kubectl logs` shows the guest kernel too) and sleeps. Undo
deletes it. `vm_kernel_probe` does the SSH part with the hosts layer's VMDetailGatherer.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any, Awaitable, Callable
from urllib.parse import quote

import msgspec

from kataview.hosts import commands as cmd
from kataview.hosts.ssh import SSHPool
from kataview.hosts.vmfacts import VMDetailGatherer
from kataview.kube import api_types
from kataview.kube.decode import pod_record
from kataview.kube.reader import get_object
from kataview.model.records import Node
from kataview.setup.manifests import to_yaml, tolerations_for
from kataview.setup.steps.base import SetupContext, StepPlan, StepState
from kataview.setup.steps.kube import KubeStep

__all__ = ["SmokeTest", "guest_kernel_version", "smoke_pod_manifest", "vm_kernel_probe"]

SMOKE_IMAGE = "docker.io/library/busybox:1.36"
Probe = Callable[[dict[str, Any]], Awaitable[tuple[str, str]]]  # pod JSON -> (guest, host)


def smoke_pod_manifest(runtime_class: str, node: str | None, *, namespace: str = "default",
                       name: str = "kataview-smoke", tolerations: list[dict[str, str]] | None = None,
                       image: str = SMOKE_IMAGE) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "runtimeClassName": runtime_class, "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "smoke", "image": image,
                        "command": ["sh", "-c", "uname -r; sleep 3600"],
                        "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}]}
    if node:
        spec["nodeName"] = node  # straight to the node being set up, past the scheduler
    if tolerations:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "kataview"}},
            "spec": spec}


_KERNEL_VERSION = re.compile(r"(?:vmlinu[xz]|bzImage|kernel)[-_]?(\d+\.\d+(?:\.\d+)?[\w.+~-]*)")


def guest_kernel_version(kernel_path: str | None) -> str:
    """The version in a guest kernel's file name (`vmlinux-6.1.62-132` -> `6.1.62-132`), or
    the path itself when the name carries none."""
    if not kernel_path:
        return "unknown"
    found = _KERNEL_VERSION.search(kernel_path.rsplit("/", 1)[-1])
    return found.group(1) if found else kernel_path


def vm_kernel_probe(pool: SSHPool, node: Node) -> Probe:
    """(guest kernel, host kernel) of the pod's VM, over SSH."""
    async def probe(pod_json: dict[str, Any]) -> tuple[str, str]:
        pod = pod_record(msgspec.json.decode(msgspec.json.encode(pod_json), type=api_types.PodObj))
        detail = await VMDetailGatherer(pool).fetch(pod, node)
        [uname] = await pool.run(node, [cmd.Uname()])
        guest = guest_kernel_version(detail.kernel)
        return f"{guest} ({detail.kind or 'VM'} pid {detail.pid})", uname.stdout.strip()
    return probe


class SmokeTest(KubeStep):
    name = "smoke-test"
    title = "Smoke test: a pod in a VM"

    def __init__(self, ctx: SetupContext, *, namespace: str = "default", timeout: float = 120.0,
                 probe: Probe | None = None) -> None:
        super().__init__(ctx)
        self.namespace, self.timeout, self.probe = namespace, timeout, probe
        self.created = False

    @property
    def runtime_class(self) -> str:
        return self.ctx.runtime_class_name or self.ctx.handler

    def manifest(self) -> dict[str, Any]:
        return smoke_pod_manifest(self.runtime_class, self.ctx.node, namespace=self.namespace,
                                  tolerations=tolerations_for(self.ctx.placement.taints) or None)

    def _path(self) -> str:
        meta = self.manifest()["metadata"]
        return f"/api/v1/namespaces/{quote(meta['namespace'], safe='')}/pods/{quote(meta['name'], safe='')}"

    async def _check(self) -> tuple[StepState, str, dict]:
        pod = await get_object(self.connected_transport(), self._path())
        if pod is None:
            return StepState.TODO, "no smoke-test pod yet", {}
        phase = pod.get("status", {}).get("phase", "Pending")
        if phase == "Running":
            return StepState.DONE, f"smoke-test pod is Running on {pod.get('spec', {}).get('nodeName')}", {}
        return StepState.TODO, f"smoke-test pod exists, phase {phase}", {}

    async def _plan(self) -> StepPlan:
        return StepPlan(self.name, f"create pod {self.namespace}/kataview-smoke with RuntimeClass "
                        f"{self.runtime_class!r}, wait up to {self.timeout:g} s for Running, then find "
                        "its VM over SSH and compare kernels", to_yaml(self.manifest()), "yaml")

    async def _apply(self) -> tuple[StepState, str, dict]:
        pod = await get_object(self.connected_transport(), self._path())
        if pod is None:
            manifest = self.manifest()
            await self.writer(True).create_pod(manifest)
            await self.writer(False).create_pod(manifest)
            self.created = True
        extra = {"created": True} if self.created else {}
        pod, waited = await self.wait_running()
        if pod is None:
            return StepState.FAILED, waited, extra
        if self.probe is None:
            return StepState.DONE, f"pod Running after {waited}", extra
        guest, host = await self.probe(pod)
        if guest.split()[0] == host:
            return StepState.FAILED, f"the pod's kernel {guest} is the host's ({host}): not in a VM?", extra
        return StepState.DONE, f"pod Running in a VM: guest kernel {guest}, host kernel {host}", {
            **extra, "guest_kernel": guest, "host_kernel": host}

    async def wait_running(self) -> tuple[dict[str, Any] | None, str]:
        """(pod, how long) once Running; (None, why) after the timeout or on a failure."""
        start, phase, reason = time.monotonic(), "absent", ""
        while time.monotonic() - start <= self.timeout:
            pod = await get_object(self.connected_transport(), self._path())
            status = (pod or {}).get("status", {})
            phase = status.get("phase", "Pending") if pod else "absent"
            waiting = [s.get("state", {}).get("waiting", {}) for s in status.get("containerStatuses") or []]
            reason = next((w.get("reason", "") for w in waiting if w), "") or status.get("reason", "")
            if phase == "Running":
                return pod, f"{time.monotonic() - start:.1f} s"
            if phase in ("Failed", "Succeeded"):
                break
            await asyncio.sleep(min(1.0, max(self.timeout / 20, 0.05)))
        because = f" ({reason})" if reason else ""
        return None, f"the smoke-test pod is not Running after {self.timeout:g} s: phase {phase}{because}"

    async def _undo(self) -> tuple[StepState, str, dict]:
        if not (self.created or self.last_applied().get("created") or self._failed_created()):
            return StepState.SKIPPED, "kataview did not create the smoke-test pod", {}
        if await get_object(self.connected_transport(), self._path()) is not None:
            await self.writer(False).delete_pod(self.namespace, "kataview-smoke")
        self.created = False
        return StepState.DONE, f"deleted pod {self.namespace}/kataview-smoke", {}

    def _failed_created(self) -> bool:
        """A failed apply (timeout) may still have created the pod: the transcript says so."""
        from kataview.setup.transcript import read_transcript
        path = self.ctx.transcript.path
        entries = read_transcript(path) if path is not None and path.exists() else self.ctx.transcript.entries
        mine = [e for e in entries if e.get("step") == self.name and e.get("action") in ("apply", "undo")]
        return bool(mine and mine[-1].get("action") == "apply" and mine[-1].get("created"))
