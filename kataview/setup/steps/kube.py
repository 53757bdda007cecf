"""The guided setup's Kubernetes steps (RuntimeClass, node labels and taints, NetworkPolicy)
and `SetupFlow`, which runs all steps in order and undoes them in reverse.

Every change goes through `kataview.kube.writer.ClusterWriter`, first with a server-side dry
run (dryRun=All), then for real. Reads use the transport's GET.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

from kataview.kube.reader import get_object, node_path
from kataview.kube.transport import KubeTransport
from kataview.kube.writer import RUNTIME_CLASSES, ClusterWriter
from kataview.setup.cri_status import CriStatusError
from kataview.setup.manifests import network_policy_manifest, runtime_class_manifest, to_yaml
from kataview.setup.steps.base import (PatchRuntimeConfig, RestartRuntime, SetupContext, Step, StepError,
                                  StepPlan, StepResult, StepState, VerifyHandler)

__all__ = ["CreateRuntimeClass", "IsolateNamespace", "KubeStep", "LabelAndTaintNode", "SetupFlow"]


class KubeStep(Step):
    """A step that reads and changes the cluster (it needs a connected transport)."""

    def connected_transport(self) -> KubeTransport:
        if self.ctx.transport is None:
            raise StepError("not connected to a cluster")
        return self.ctx.transport

    def writer(self, dry_run: bool) -> Any:
        if self.ctx.writer_factory is not None:
            return self.ctx.writer_factory(dry_run)
        return ClusterWriter(self.connected_transport(), dry_run=dry_run)


class CreateRuntimeClass(KubeStep):
    name = "runtime-class"
    title = "Create the RuntimeClass"

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(ctx)
        self.created = False

    @property
    def class_name(self) -> str:
        return self.ctx.runtime_class_name or self.ctx.handler

    def manifest(self) -> dict[str, Any]:
        return runtime_class_manifest(self.class_name, self.ctx.handler, overhead=self.ctx.overhead,
                                      placement=self.ctx.placement)

    def _path(self) -> str:
        return f"{RUNTIME_CLASSES}/{quote(self.class_name, safe='')}"

    async def _check(self) -> tuple[StepState, str, dict]:
        found = await get_object(self.connected_transport(), self._path())
        if found is None:
            return StepState.TODO, f"RuntimeClass {self.class_name!r} does not exist", {}
        if found.get("handler") != self.ctx.handler:
            return StepState.FAILED, (f"RuntimeClass {self.class_name!r} exists with handler "
                                      f"{found.get('handler')!r}, not {self.ctx.handler!r}; choose "
                                      "another name or delete it"), {}
        return StepState.DONE, f"RuntimeClass {self.class_name!r} exists with handler {self.ctx.handler!r}", {}

    async def _plan(self) -> StepPlan:
        return StepPlan(self.name, f"create RuntimeClass {self.class_name!r} (server-side dry run "
                        "first)", to_yaml(self.manifest()), "yaml")

    async def _apply(self) -> tuple[StepState, str, dict]:
        state, message, _ = await self._check()
        if state != StepState.TODO:
            return state, message, {}
        manifest = self.manifest()
        await self.writer(True).create_runtime_class(manifest)
        await self.writer(False).create_runtime_class(manifest)
        self.created = True
        return StepState.DONE, f"created RuntimeClass {self.class_name!r} (dry run passed first)", {
            "created": True, "name": self.class_name}

    async def _undo(self) -> tuple[StepState, str, dict]:
        if not (self.created or self.last_applied().get("created")):
            return StepState.SKIPPED, f"kataview did not create RuntimeClass {self.class_name!r}", {}
        if await get_object(self.connected_transport(), self._path()) is not None:
            await self.writer(False).delete_runtime_class(self.class_name)
        self.created = False
        return StepState.DONE, f"deleted RuntimeClass {self.class_name!r}", {"name": self.class_name}


def _same_taint(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    return all(a.get(k, "") == b.get(k, "") for k in ("key", "value", "effect"))


class LabelAndTaintNode(KubeStep):
    name = "label-and-taint-node"
    title = "Label and taint the node"

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(ctx)
        self.previous_labels: dict[str, str | None] | None = None
        self.added_taints: list[dict[str, str]] = []

    async def _node(self) -> dict[str, Any]:
        if not self.ctx.node:
            raise StepError("no node chosen")
        node = await get_object(self.connected_transport(), node_path(self.ctx.node))
        if node is None:
            raise StepError(f"node {self.ctx.node!r} not found")
        return node

    def _missing(self, node: dict[str, Any]) -> tuple[dict[str, str], list[dict[str, str]]]:
        labels = node.get("metadata", {}).get("labels") or {}
        taints = node.get("spec", {}).get("taints") or []
        want_labels = {k: v for k, v in self.ctx.placement.labels.items() if labels.get(k) != v}
        want_taints = [dict(t) for t in self.ctx.placement.taints
                       if not any(_same_taint(t, have) for have in taints)]
        return want_labels, want_taints

    async def _check(self) -> tuple[StepState, str, dict]:
        labels, taints = self._missing(await self._node())
        if not labels and not taints:
            return StepState.DONE, f"node {self.ctx.node} has the labels and taints", {}
        return StepState.TODO, (f"node {self.ctx.node} lacks {len(labels)} label(s) and "
                                f"{len(taints)} taint(s)"), {}

    async def _plan(self) -> StepPlan:
        commands = self.ctx.placement.kubectl_commands(self.ctx.node or "<node>")
        return StepPlan(self.name, f"label and taint node {self.ctx.node} ({self.ctx.placement.name})",
                        "\n".join(commands), "commands")

    async def _apply(self) -> tuple[StepState, str, dict]:
        node = await self._node()
        labels, taints = self._missing(node)
        if not labels and not taints:
            return StepState.DONE, f"node {self.ctx.node} already labelled and tainted", {}
        current = node.get("metadata", {}).get("labels") or {}
        previous = {k: current.get(k) for k in labels}
        all_taints = list(node.get("spec", {}).get("taints") or []) + taints
        version = node.get("metadata", {}).get("resourceVersion")
        for dry_run in (True, False):
            if labels:
                answer = await self.writer(dry_run).patch_node_labels(self.ctx.node, labels)
                version = answer.get("metadata", {}).get("resourceVersion", version) if not dry_run else version
            if taints:
                await self.writer(dry_run).set_node_taints(self.ctx.node, all_taints, version)
        self.previous_labels, self.added_taints = previous, taints
        return StepState.DONE, (f"node {self.ctx.node}: set {sorted(labels)}, added "
                                f"{len(taints)} taint(s)"), {"previous_labels": previous, "added_taints": taints}

    async def _undo(self) -> tuple[StepState, str, dict]:
        saved = self.last_applied() if self.previous_labels is None else {}
        previous = self.previous_labels if self.previous_labels is not None else saved.get("previous_labels")
        added = self.added_taints or saved.get("added_taints") or []
        if previous is None and not added:
            return StepState.SKIPPED, "kataview did not label or taint the node", {}
        node = await self._node()
        if previous:
            await self.writer(False).patch_node_labels(self.ctx.node, previous)
            node = await self._node()
        if added:
            taints = node.get("spec", {}).get("taints") or []
            kept = [t for t in taints if not any(_same_taint(t, a) for a in added)]
            await self.writer(False).set_node_taints(self.ctx.node, kept,
                                                     node.get("metadata", {}).get("resourceVersion"))
        self.previous_labels, self.added_taints = None, []
        return StepState.DONE, f"node {self.ctx.node}: labels restored, {len(added)} taint(s) removed", {}


class IsolateNamespace(KubeStep):
    """Optional. Needs ClusterWriter.create_network_policy / delete_network_policy."""

    name = "network-policy"
    title = "Isolate the untrusted namespace (NetworkPolicy)"

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(ctx)
        self.created = False

    def manifest(self) -> dict[str, Any]:
        return network_policy_manifest(self.ctx.untrusted_namespace)

    def _path(self) -> str:
        meta = self.manifest()["metadata"]
        return f"/apis/networking.k8s.io/v1/namespaces/{meta['namespace']}/networkpolicies/{meta['name']}"

    def _writer_method(self, dry_run: bool, method: str) -> Any:
        found = getattr(self.writer(dry_run), method, None)
        if found is None:
            raise StepError(f"kataview.kube.writer.ClusterWriter has no {method}(); the NetworkPolicy "
                            "step needs it")
        return found

    async def _check(self) -> tuple[StepState, str, dict]:
        found = await get_object(self.connected_transport(), self._path())
        name = self.manifest()["metadata"]["name"]
        if found is None:
            return StepState.TODO, f"NetworkPolicy {name!r} not in {self.ctx.untrusted_namespace}", {}
        return StepState.DONE, f"NetworkPolicy {name!r} exists in {self.ctx.untrusted_namespace}", {}

    async def _plan(self) -> StepPlan:
        return StepPlan(self.name, f"create a NetworkPolicy in {self.ctx.untrusted_namespace}",
                        to_yaml(self.manifest()), "yaml")

    async def _apply(self) -> tuple[StepState, str, dict]:
        state, message, _ = await self._check()
        if state == StepState.DONE:
            return state, message, {}
        await self._writer_method(True, "create_network_policy")(self.manifest())
        await self._writer_method(False, "create_network_policy")(self.manifest())
        self.created = True
        return StepState.DONE, f"created NetworkPolicy in {self.ctx.untrusted_namespace}", {"created": True}

    async def _undo(self) -> tuple[StepState, str, dict]:
        if not (self.created or self.last_applied().get("created")):
            return StepState.SKIPPED, "kataview did not create the NetworkPolicy", {}
        meta = self.manifest()["metadata"]
        if await get_object(self.connected_transport(), self._path()) is not None:
            await self._writer_method(False, "delete_network_policy")(meta["namespace"], meta["name"])
        self.created = False
        return StepState.DONE, f"deleted NetworkPolicy {meta['name']!r}", {}


class SetupFlow:
    """All steps in order. `run_all` skips steps already done and stops at the first failure;
    `undo_all` undoes the Kubernetes steps, restores the config, restarts the runtime and
    checks the handler is gone."""

    def __init__(self, ctx: SetupContext, *, kubernetes: bool = True, network_policy: bool = False) -> None:
        self.ctx = ctx
        self.patch, self.restart, self.verify = PatchRuntimeConfig(ctx), RestartRuntime(ctx), VerifyHandler(ctx)
        self.steps: list[Step] = [self.patch, self.restart, self.verify]
        if kubernetes:
            self.steps += [CreateRuntimeClass(ctx), LabelAndTaintNode(ctx)]
            if network_policy:
                self.steps.append(IsolateNamespace(ctx))

    async def plans(self) -> list[StepPlan]:
        return [await step.plan() for step in self.steps]

    async def run_all(self) -> list[StepResult]:
        results = []
        for step in self.steps:
            checked = await step.check()
            if checked.state == StepState.DONE:
                results.append(checked)
                continue
            applied = await step.apply()
            results.append(applied)
            if not applied.ok:
                break
            verified = await step.verify()
            results.append(verified)
            if not verified.ok:
                break
        return results

    async def undo_all(self) -> list[StepResult]:
        results = [await step.undo() for step in reversed(self.steps[3:])]
        restored = await self.patch.undo()
        results.append(restored)
        if restored.state == StepState.DONE:
            results.append(await self.restart.apply())
            results.append(await self._handler_gone())
        return results

    async def _handler_gone(self) -> StepResult:
        try:
            handlers = (await self.ctx.status()).runtime_handlers
        except CriStatusError as exc:
            state, message = StepState.FAILED, f"cannot ask the runtime after the undo: {exc}"
        else:
            gone = self.ctx.handler not in handlers
            state = StepState.DONE if gone else StepState.FAILED
            message = (f"the runtime no longer has {self.ctx.handler!r} (it has {', '.join(sorted(handlers))})"
                       if gone else f"the runtime still has {self.ctx.handler!r} after the undo")
        self.ctx.transcript.record("undo-all", "verify", state.name.lower(), message)
        return StepResult("undo-all", "verify", state, message)
