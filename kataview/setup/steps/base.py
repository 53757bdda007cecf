"""The guided setup's steps: check (already done?), plan (diff, YAML or commands), apply,
verify, undo. Every action is idempotent and recorded in the transcript; in read-only mode
check, plan and verify work and apply/undo of a step that changes something are refused.

This module holds the framework and the node-side steps (patch the runtime config, restart
the runtime, verify the handler through CRI status); `steps.kube` holds the Kubernetes steps
and `SetupFlow` strings them together.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

from kataview.kube.reader import get_object, node_path
from kataview.kube.transport import KubeTransport
from kataview.setup.containerd.patch import plan_containerd_patch
from kataview.setup.containerd.schema import DEFAULT_RUNTIME_TYPE, version_mismatch
from kataview.setup.containerd.version import containerd_check, parse_version
from kataview.setup.cri_status import CriStatus, CriStatusError, cri_status
from kataview.setup.crio import DEFAULT_SHIM, plan_crio_dropin
from kataview.setup.executor import Executor, LocalExecutor
from kataview.setup.manifests import DEFAULT_OVERHEAD, UNTRUSTED_SPLIT, Placement
from kataview.setup.toml_edit import ConfigError
from kataview.setup.transcript import Transcript, read_transcript

__all__ = ["PatchRuntimeConfig", "ReadOnlyRefused", "RestartRuntime", "SetupContext", "Step",
           "StepError", "StepPlan", "StepResult", "StepState", "VerifyHandler"]


class StepState(str, Enum):
    DONE = "done"
    TODO = "to do"
    FAILED = "failed"
    SKIPPED = "skipped"


class StepError(Exception):
    """A step cannot go on; the message says why and what to do."""


class ReadOnlyRefused(StepError):
    pass


@dataclass(frozen=True, slots=True)
class StepPlan:
    step: str
    summary: str
    text: str = ""
    kind: str = "none"  # diff | yaml | commands | none


@dataclass(frozen=True, slots=True)
class StepResult:
    step: str
    action: str
    state: StepState
    message: str

    @property
    def ok(self) -> bool:
        return self.state in (StepState.DONE, StepState.SKIPPED)


@dataclass
class SetupContext:
    executor: Executor = field(default_factory=LocalExecutor)
    transcript: Transcript = field(default_factory=lambda: Transcript(None))
    runtime: str = "containerd"  # or "crio"
    config_path: str = "/etc/containerd/config.toml"  # crio: the crio.conf.d directory
    crio_main_config: str | None = None
    handler: str = "kata"
    runtime_type: str | None = None  # None: io.containerd.kata.v2 / "vm"
    runtime_path: str = DEFAULT_SHIM  # CRI-O only
    kata_config: str | None = None
    force: bool = False
    restart_command: tuple[str, ...] = ("systemctl", "restart", "containerd")
    restart_timeout: float = 60.0
    cri_socket: str = "/run/containerd/containerd.sock"
    status_source: Callable[[], Awaitable[CriStatus]] | None = None
    node: str | None = None
    transport: KubeTransport | None = None
    writer_factory: Callable[[bool], Any] | None = None  # dry_run -> ClusterWriter
    placement: Placement = UNTRUSTED_SPLIT
    overhead: Mapping[str, str] | None = field(default_factory=lambda: dict(DEFAULT_OVERHEAD))
    runtime_class_name: str | None = None  # default: the handler
    untrusted_namespace: str = "untrusted"
    read_only: bool = False
    containerd_version: str | None = None  # as the node reports it ("1.6.20~ds1"); None: unknown

    @property
    def refuses_changes(self) -> bool:
        return self.read_only or bool(self.transport is not None and self.transport.read_only)

    async def status(self) -> CriStatus:
        if self.status_source is not None:
            return await self.status_source()
        return await cri_status(self.cri_socket)


class Step:
    """Base: public actions wrap `_check/_plan/_apply/_verify/_undo` with the read-only guard,
    the transcript and error handling (an exception becomes a FAILED result)."""

    name = "step"
    title = ""
    mutates = True

    def __init__(self, ctx: SetupContext) -> None:
        self.ctx = ctx

    async def check(self) -> StepResult:
        return await self._run("check", self._check)

    async def plan(self) -> StepPlan:
        plan = await self._plan()
        self.ctx.transcript.record(self.name, "plan", "ok", plan.summary, kind=plan.kind)
        return plan

    async def apply(self) -> StepResult:
        return await self._run("apply", self._apply, guarded=self.mutates)

    async def verify(self) -> StepResult:
        return await self._run("verify", self._verify)

    async def undo(self) -> StepResult:
        return await self._run("undo", self._undo, guarded=self.mutates)

    async def _run(self, action: str, body: Callable[[], Awaitable[tuple[StepState, str, dict]]],
                   guarded: bool = False) -> StepResult:
        if guarded and self.ctx.refuses_changes:
            message = f"read-only mode: {action} of {self.name!r} refused; nothing was changed"
            self.ctx.transcript.record(self.name, action, "refused", message)
            return StepResult(self.name, action, StepState.FAILED, message)
        try:
            state, message, extra = await body()
        except (StepError, ConfigError, CriStatusError, OSError, ValueError) as exc:
            state, message, extra = StepState.FAILED, _one_line(exc), {}
        except Exception as exc:  # Kubernetes errors and the like: reported, not raised
            state, message, extra = StepState.FAILED, f"{type(exc).__name__}: {_one_line(exc)}", {}
        self.ctx.transcript.record(self.name, action, state.name.lower(), message, **extra)
        return StepResult(self.name, action, state, message)

    def last_applied(self) -> dict[str, Any]:
        """Extras of this step's last successful apply in the transcript file (for an undo in a
        later session); {} when none or undone since."""
        path = self.ctx.transcript.path
        if path is None or not path.exists():
            return {}
        found: dict[str, Any] = {}
        for entry in read_transcript(path):
            if entry.get("step") == self.name and entry.get("action") in ("apply", "undo"):
                found = entry if entry["action"] == "apply" and entry.get("result") == "done" else {}
        return found

    async def _check(self) -> tuple[StepState, str, dict]:
        raise NotImplementedError

    async def _plan(self) -> StepPlan:
        raise NotImplementedError

    async def _apply(self) -> tuple[StepState, str, dict]:
        raise NotImplementedError

    async def _verify(self) -> tuple[StepState, str, dict]:
        return await self._check()

    async def _undo(self) -> tuple[StepState, str, dict]:
        return StepState.SKIPPED, "nothing to undo", {}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass(frozen=True, slots=True)
class _Patch:
    target: str
    exists: bool
    new_text: str
    diff: str
    already: bool
    conflicts: tuple[str, ...]
    backup_dir: str | None
    check_with_containerd: bool
    warning: str = ""


class PatchRuntimeConfig(Step):
    name = "patch-runtime-config"
    title = "Patch the container runtime's config"

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(ctx)
        self.backup_path: str | None = None
        self.created = False

    async def _compute(self) -> _Patch:
        if self.ctx.runtime == "crio":
            return await self._compute_crio()
        ex, path = self.ctx.executor, self.ctx.config_path
        text = await ex.read_text(path)
        if text is None:
            raise StepError(f"{path}: not found; create it with `containerd config default` first")
        try:
            plan = plan_containerd_patch(text, handler=self.ctx.handler, force=self.ctx.force,
                                         runtime_type=self.ctx.runtime_type or DEFAULT_RUNTIME_TYPE,
                                         kata_config=self.ctx.kata_config, name=Path(path).name)
        except ConfigError as exc:
            raise exc.located(path) from None
        version = parse_version(self.ctx.containerd_version or "")
        mismatch = version_mismatch(plan.info.version, version, "on the node", self.ctx.handler)
        return _Patch(path, True, plan.new_text, plan.diff, plan.already_configured,
                      tuple(c.describe() for c in plan.conflicts) if plan.needs_force else (), None,
                      plan.info.version <= 2, mismatch.message if mismatch else "")

    async def _compute_crio(self) -> _Patch:
        ex, folder = self.ctx.executor, self.ctx.config_path
        dropins = [(p, await ex.read_text(p) or "") for p in await ex.list_files(folder)]
        main_path = self.ctx.crio_main_config or str(Path(folder).parent / "crio.conf")
        main_text = await ex.read_text(main_path)
        plan = plan_crio_dropin(dropins, main=(main_path, main_text) if main_text is not None else None,
                                handler=self.ctx.handler, runtime_path=self.ctx.runtime_path,
                                runtime_type=self.ctx.runtime_type or "vm",
                                kata_config=self.ctx.kata_config, force=self.ctx.force)
        return _Patch(str(Path(folder) / plan.dropin), bool(plan.text), plan.new_text, plan.diff,
                      plan.already_configured, tuple(c.describe() for c in plan.conflicts) if plan.needs_force else (),
                      str(Path(folder).parent / f"{Path(folder).name}.kataview-backup"), False)

    async def _check(self) -> tuple[StepState, str, dict]:
        patch = await self._compute()
        if patch.already:
            return StepState.DONE, f"handler {self.ctx.handler!r} already configured ({patch.target})" + (
                f"; warning: {patch.warning}" if patch.warning else ""), {}
        if patch.conflicts:
            return StepState.FAILED, ("handler exists with other settings: " + "; ".join(patch.conflicts)
                                      + " (enable force to change them)"), {}
        return StepState.TODO, f"{patch.target} needs the {self.ctx.handler!r} handler", {}

    async def _plan(self) -> StepPlan:
        patch = await self._compute()
        if patch.already:
            return StepPlan(self.name, f"already configured: {patch.target}")
        if patch.conflicts:
            return StepPlan(self.name, "handler exists with other settings (needs force)",
                            "\n".join(patch.conflicts), "none")
        warning = f"; warning: {patch.warning}" if patch.warning else ""
        return StepPlan(self.name, f"write {patch.target}{warning}", patch.diff, "diff")

    async def _apply(self) -> tuple[StepState, str, dict]:
        patch = await self._compute()
        if patch.already:
            return StepState.DONE, f"already configured: {patch.target}; nothing written", {}
        if patch.conflicts:
            raise StepError("handler exists with other settings: " + "; ".join(patch.conflicts))
        ex = self.ctx.executor
        if patch.exists:
            self.backup_path = await ex.backup(patch.target, patch.backup_dir)
        self.created = not patch.exists
        check = None
        if patch.check_with_containerd and isinstance(ex, LocalExecutor):
            check = containerd_check(Path(patch.target), self.ctx.handler, None)
        await ex.write_text(patch.target, patch.new_text, before_rename=check)
        saved = f" (backup {self.backup_path})" if self.backup_path else " (new file)"
        return StepState.DONE, f"wrote {patch.target}{saved}", {
            "target": patch.target, "backup": self.backup_path, "created": self.created}

    async def _undo(self) -> tuple[StepState, str, dict]:
        saved = self.last_applied() if not (self.backup_path or self.created) else {}
        backup_path = self.backup_path or saved.get("backup")
        created = self.created or bool(saved.get("created"))
        target = saved.get("target") or (await self._compute()).target
        if backup_path:
            await self.ctx.executor.restore(backup_path, target)
            message = f"restored {target} from {backup_path}"
        elif created:
            await self.ctx.executor.remove(target)
            message = f"removed {target}"
        else:
            return StepState.SKIPPED, "nothing to undo: kataview did not change the config", {}
        self.backup_path, self.created = None, False
        return StepState.DONE, message, {"target": target}


class RestartRuntime(Step):
    name = "restart-runtime"
    title = "Restart the container runtime"

    async def _check(self) -> tuple[StepState, str, dict]:
        try:
            handlers = (await self.ctx.status()).runtime_handlers
        except CriStatusError as exc:
            return StepState.TODO, f"runtime not answering: {exc}", {}
        if self.ctx.handler in handlers:
            return StepState.DONE, f"the running runtime has loaded {self.ctx.handler!r}", {}
        return StepState.TODO, f"the running runtime has not loaded {self.ctx.handler!r} yet", {}

    async def _plan(self) -> StepPlan:
        command = " ".join(self.ctx.restart_command)
        return StepPlan(self.name, f"run `{command}` and wait for the runtime to answer",
                        f"{command}\n# then wait up to {self.ctx.restart_timeout:g} s for CRI "
                        f"Status on {self.ctx.cri_socket}", "commands")

    async def _apply(self) -> tuple[StepState, str, dict]:
        result = await self.ctx.executor.run(self.ctx.restart_command, timeout=self.ctx.restart_timeout)
        if not result.ok:
            raise StepError(result.summary())
        waited = await self.wait_ready()
        node = await self.wait_node_ready()
        return StepState.DONE, f"restarted; the runtime answered after {waited:.2f} s{node}", {
            "command": list(self.ctx.restart_command)}

    async def wait_node_ready(self) -> str:
        """Wait for the node's Ready condition to be True again (when a cluster is connected)."""
        if not (self.ctx.node and self.ctx.transport):
            return ""
        start = time.monotonic()
        while True:
            node = await get_object(self.ctx.transport, node_path(self.ctx.node)) or {}
            ready = [c for c in node.get("status", {}).get("conditions") or [] if c.get("type") == "Ready"]
            if ready and ready[0].get("status") == "True":
                return f"; node {self.ctx.node} Ready after {time.monotonic() - start:.2f} s"
            if time.monotonic() - start > self.ctx.restart_timeout:
                raise StepError(f"node {self.ctx.node} is not Ready {self.ctx.restart_timeout:g} s after "
                                "the restart (kubelet lost the runtime?)")
            await asyncio.sleep(0.5)

    async def wait_ready(self) -> float:
        start = time.monotonic()
        last = "no answer"
        while time.monotonic() - start < self.ctx.restart_timeout:
            try:
                status = await self.ctx.status()
                if status.runtime_ready:
                    return time.monotonic() - start
                last = "RuntimeReady is false"
            except CriStatusError as exc:
                last = str(exc)
            await asyncio.sleep(0.1)
        raise StepError(f"the runtime is not ready {self.ctx.restart_timeout:g} s after the restart: {last}")

    async def _verify(self) -> tuple[StepState, str, dict]:
        status = await self.ctx.status()
        if status.runtime_ready:
            return StepState.DONE, "the runtime answers and reports RuntimeReady", {}
        return StepState.FAILED, "the runtime answers but RuntimeReady is false", {}


class VerifyHandler(Step):
    name = "verify-handler"
    title = "Verify the runtime loaded the handler"
    mutates = False

    async def _plan(self) -> StepPlan:
        return StepPlan(self.name, f"ask the runtime (CRI Status, verbose) whether {self.ctx.handler!r} "
                        "is loaded" + (f"; read node {self.ctx.node}'s status.runtimeHandlers"
                                       if self.ctx.node else ""), kind="none")

    async def _check(self) -> tuple[StepState, str, dict]:
        handlers = (await self.ctx.status()).runtime_handlers
        names = sorted(handlers)
        if self.ctx.handler not in handlers:
            return StepState.FAILED, (f"the runtime has not loaded {self.ctx.handler!r} (it has: "
                                      f"{', '.join(names) or 'none'}); restart it?"), {"handlers": names}
        kind = handlers[self.ctx.handler].get("runtimeType") or handlers[self.ctx.handler].get("runtime_type", "")
        message = f"the runtime loaded {self.ctx.handler!r} ({kind or 'type not reported'})"
        return StepState.DONE, message + await self._node_note(), {"handlers": names}

    async def _apply(self) -> tuple[StepState, str, dict]:
        return await self._check()

    async def _node_note(self) -> str:
        if not (self.ctx.node and self.ctx.transport):
            return ""
        node = await get_object(self.ctx.transport, node_path(self.ctx.node))
        reported = (node or {}).get("status", {}).get("runtimeHandlers")
        if reported is None:
            return f"; node {self.ctx.node} does not report runtimeHandlers (containerd < 2.0 or kubelet < 1.30)"
        names = [h.get("name", "") for h in reported]
        if self.ctx.handler in names:
            return f"; node {self.ctx.node} reports it in status.runtimeHandlers"
        return f"; node {self.ctx.node} does not list it in status.runtimeHandlers yet (kubelet refreshes it)"
