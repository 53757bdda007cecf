"""CRI-O: read its runtime tables and plan one drop-in that adds a Kata handler.

CRI-O reads its main file (`/etc/crio/crio.conf`) and then every file of `crio.conf.d/` in
lexical order; a later file wins key by key. A table declared twice in *one* file is invalid
TOML and CRI-O refuses to start ("... has already been defined"), which is how repeated
`>> crio.conf` scripts have taken nodes down. kataview therefore never edits an existing file:
it writes its own `50-kataview-<handler>.conf` holding only `[crio.runtime.runtimes.<handler>]`,
after checking every existing file parses and that no other file defines the handler
differently. Everything here is pure: texts in, a `CrioPlan` out, `ConfigError` to refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from kataview.setup.containerd.patch import Conflict, PlanVerdict, unified_diff
from kataview.setup.containerd.schema import CRIO_KEY_REASONS, Finding, handler_name_problem
from kataview.setup.toml_edit import ConfigError, parse_toml, render_header, render_value, scan_layout

DEFAULT_SHIM = "/usr/bin/containerd-shim-kata-v2"
KATA_ANNOTATIONS = ("io.katacontainers.*",)
RUNTIME_KEYS = frozenset({
    "runtime_path", "runtime_type", "runtime_root", "runtime_config_path",
    "privileged_without_host_devices", "allowed_annotations", "default_annotations",
    "monitor_path", "monitor_cgroup", "monitor_env", "monitor_exec_cgroup", "platform_runtime_paths",
    "container_min_memory", "no_sync_log", "stream_websockets", "seccomp_profile",
    "exec_cpu_affinity", "container_create_timeout"})
LEGACY_KEYS = ("runtime", "runtime_untrusted_workload", "default_workload_trust")
_COMMENTED = re.compile(r"^\s*#\s*\[\s*crio\.runtime\.runtimes\.([A-Za-z0-9_.-]+)\s*\]")


@dataclass(frozen=True, slots=True)
class CrioRuntime:
    name: str
    runtime_type: str  # "oci" when omitted (CRI-O's default)
    runtime_type_explicit: bool
    runtime_path: str | None  # "" = look the handler name up in $PATH; None = key absent
    runtime_root: str | None
    settings: Mapping[str, Any]  # every key as written
    is_kata: bool
    line: int | None = None


@dataclass(frozen=True, slots=True)
class CrioConfigInfo:
    default_runtime: str | None
    runtimes: Mapping[str, CrioRuntime]
    kata_runtimes: tuple[str, ...]
    workloads: tuple[str, ...] = ()
    legacy: Mapping[str, Any] = field(default_factory=dict)
    commented_out: tuple[str, ...] = ()  # `#[crio.runtime.runtimes.x]` with no live table
    findings: tuple[Finding, ...] = ()

    @property
    def kata_legacy_untrusted(self) -> str | None:
        path = self.legacy.get("runtime_untrusted_workload")
        return path if isinstance(path, str) and "kata" in path else None


def _is_kata(table: Mapping[str, Any]) -> bool:
    path = str(table.get("runtime_path") or "")
    return "kata" in path.rsplit("/", 1)[-1]


def _runtime_table(data: Mapping[str, Any]) -> Mapping[str, Any]:
    crio = data.get("crio") if isinstance(data.get("crio"), Mapping) else {}
    runtime = crio.get("runtime") if isinstance(crio.get("runtime"), Mapping) else {}
    return runtime


def crio_runtimes(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The `[crio.runtime.runtimes.*]` tables of one parsed file, as written."""
    tables = _runtime_table(data).get("runtimes")
    if not isinstance(tables, Mapping):
        return {}
    return {name: dict(table) for name, table in tables.items() if isinstance(table, Mapping)}


def inspect_crio_config(text: str) -> CrioConfigInfo:
    """What one CRI-O config file (main file or drop-in) declares. Raises ConfigError."""
    data = parse_toml(text)
    layout = scan_layout(text)
    runtime = _runtime_table(data)
    runtimes: dict[str, CrioRuntime] = {}
    findings: list[Finding] = []
    for name, table in crio_runtimes(data).items():
        at = layout.find(("crio", "runtime", "runtimes", name))
        runtimes[name] = CrioRuntime(
            name, str(table.get("runtime_type", "oci")), "runtime_type" in table,
            table.get("runtime_path"), table.get("runtime_root"), table, _is_kata(table),
            at[0] if at else None)
        for key in sorted(set(table) - RUNTIME_KEYS):
            findings.append(Finding("unknown-key", "warning", f"[crio.runtime.runtimes.{name}] has "
                                    f"unknown key {key!r}; CRI-O ignores it", line=at[0] if at else None))
    legacy = {key: value for scope in (data, runtime) for key, value in scope.items() if key in LEGACY_KEYS}
    workloads = runtime.get("workloads")
    commented = [m[1] for line in text.splitlines() if (m := _COMMENTED.match(line))]
    default = runtime.get("default_runtime")
    return CrioConfigInfo(
        default_runtime=default if isinstance(default, str) else None, runtimes=runtimes,
        kata_runtimes=tuple(n for n, r in runtimes.items() if r.is_kata),
        workloads=tuple(workloads) if isinstance(workloads, Mapping) else (),
        legacy=legacy, commented_out=tuple(n for n in commented if n not in runtimes),
        findings=tuple(findings))


def desired_crio_settings(runtime_path: str = DEFAULT_SHIM, runtime_type: str = "vm",
                          kata_config: str | None = None) -> dict[str, Any]:
    settings: dict[str, Any] = {"runtime_path": runtime_path, "runtime_type": runtime_type,
                                "runtime_root": "/run/vc", "privileged_without_host_devices": True,
                                "allowed_annotations": list(KATA_ANNOTATIONS)}
    if kata_config:
        settings["runtime_config_path"] = kata_config
    return settings


def render_crio_dropin(handler: str, settings: Mapping[str, Any]) -> str:
    lines = [f"# Written by kataview: Kata Containers runtime handler {handler!r} for CRI-O.",
             "# Undo: delete this file and restart CRI-O (kataview keeps a backup when it replaces it).",
             render_header(("crio", "runtime", "runtimes", handler))]
    lines += [f"{key} = {render_value(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def dropin_name(handler: str) -> str:
    return f"50-kataview-{handler}.conf"


@dataclass(frozen=True, slots=True)
class CrioPlan(PlanVerdict):
    handler: str
    dropin: str  # file name inside the config dir
    text: str  # current content of our drop-in ("" when absent)
    new_text: str
    diff: str
    already_configured: bool
    conflicts: tuple[Conflict, ...]
    defined_in: tuple[str, ...]  # other files declaring the handler, in merge order
    effective: Mapping[str, Any]  # the handler's settings as CRI-O would merge them now
    warnings: tuple[Finding, ...] = ()


def _conflicts(have: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[Conflict]:
    found = []
    for key, value in wanted.items():
        current = have.get(key, "oci" if key == "runtime_type" else None)
        if key == "allowed_annotations" and isinstance(current, list):
            ok = all(a in current for a in value)
        else:
            ok = current == value and type(current) is type(value)
        if not ok:
            found.append(Conflict(key, current, value, key in have or key == "runtime_type",
                                  CRIO_KEY_REASONS.get(key, "")))
    return found


def _parse_all(files: Sequence[tuple[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    parsed = []
    for name, text in files:
        try:
            parsed.append((name, parse_toml(text)))
        except ConfigError as exc:
            exc.remedy = ("fix this file first: CRI-O refuses to start with it (or ignores it); "
                          "kataview wrote nothing")
            raise exc.located(name) from None
    return parsed


def _refuse_clashes(handler: str, defs: list[tuple[str, dict[str, Any]]]) -> None:
    """Two existing files setting one key of the handler to different values: refuse."""
    for key in sorted({k for _, table in defs for k in table}):
        values = {(name, repr(table[key])) for name, table in defs if key in table}
        if len({v for _, v in values}) > 1:
            where = ", ".join(f"{n} sets {v}" for n, v in sorted(values))
            raise ConfigError(
                f"[crio.runtime.runtimes.{handler}] is declared in several files that disagree on "
                f"{key!r} ({where}); CRI-O merges them key by key, last file wins",
                "keep the handler in one file (remove the others), restart CRI-O, then run again",
                source=defs[-1][0])


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def plan_crio_dropin(dropins: Sequence[tuple[str, str]], *, main: tuple[str, str] | None = None,
                     handler: str = "kata", runtime_path: str = DEFAULT_SHIM,
                     runtime_type: str = "vm", kata_config: str | None = None,
                     force: bool = False) -> CrioPlan:
    """Plan our drop-in. `dropins`: (path, text) of every file in crio.conf.d (ours included
    when it exists); `main`: the main crio.conf, read first. Raises ConfigError to refuse."""
    problem = handler_name_problem(handler)
    if problem:
        raise ConfigError(f"{problem}; Kubernetes RuntimeClass handlers must be DNS labels",
                          "choose a name such as 'kata' or 'kata-qemu'", source="--handler")
    name = dropin_name(handler)
    ordered = ([main] if main else []) + sorted(dropins, key=lambda f: _basename(f[0]))
    parsed = _parse_all(ordered)
    own_at = next((i for i, (p, _) in enumerate(parsed)
                   if (main is None or i > 0) and _basename(p) == name), None)
    own_text = ordered[own_at][1] if own_at is not None else None
    _refuse_handler(handler, parsed)
    if own_at is not None and _strip(parsed[own_at][1], handler):
        raise ConfigError(f"{name} exists and holds more than kataview's handler table",
                          "it was not written by kataview: rename it, then run again",
                          source=parsed[own_at][0])
    defs = [(path, crio_runtimes(data)[handler]) for i, (path, data) in enumerate(parsed)
            if i != own_at and handler in crio_runtimes(data)]
    _refuse_clashes(handler, defs)
    effective = _merge([crio_runtimes(data).get(handler, {}) for _, data in parsed])
    wanted = desired_crio_settings(runtime_path, runtime_type, kata_config)
    conflicts = tuple(_conflicts(effective, wanted))
    text = own_text or ""
    common = dict(handler=handler, dropin=name, text=text, defined_in=tuple(p for p, _ in defs),
                  effective=effective, conflicts=conflicts, warnings=_warnings(parsed, handler, defs))
    if not conflicts:
        return CrioPlan(new_text=text, diff="", already_configured=True, **common)
    if (defs or own_text is not None) and not force:
        return CrioPlan(new_text=text, diff="", already_configured=False, **common)
    _refuse_overridden(name, handler, defs, main)
    own_table = crio_runtimes(parsed[own_at][1]).get(handler, {}) if own_at is not None else {}
    new_text = render_crio_dropin(handler, _merge([own_table, wanted]))
    return CrioPlan(new_text=new_text, diff=unified_diff(text, new_text, name),
                    already_configured=False, **common)


def _refuse_handler(handler: str, parsed: list[tuple[str, dict[str, Any]]]) -> None:
    default = None
    for _, data in parsed:
        default = _runtime_table(data).get("default_runtime", default)
    if handler in {"runc", "crun", default or "runc"}:
        raise ConfigError(f"{handler!r} is CRI-O's default runtime or a standard OCI runtime; "
                          "kataview never changes it", "choose another name, e.g. 'kata'",
                          source="--handler")


def _strip(data: Mapping[str, Any], handler: str) -> bool:
    """Does `data` hold anything but crio.runtime.runtimes.<handler>?"""
    return data != {"crio": {"runtime": {"runtimes": {handler: crio_runtimes(data).get(handler, {})}}}}


def _merge(tables: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for table in tables:
        merged.update(table)
    return merged


def _refuse_overridden(name: str, handler: str, defs: list[tuple[str, dict]],
                       main: tuple[str, str] | None) -> None:
    later = [p for p, _ in defs if (main is None or p != main[0]) and _basename(p) > name]
    if later:
        raise ConfigError(
            f"{later[-1]} also declares [crio.runtime.runtimes.{handler}] and sorts after {name}, "
            "so its values would win over kataview's", f"edit or remove {later[-1]} by hand, or "
            "choose another --handler", source=later[-1])


def _warnings(parsed: list[tuple[str, dict]], handler: str, defs: list[tuple[str, dict]]) -> tuple[Finding, ...]:
    found = []
    for path, _ in defs:
        found.append(Finding("defined-elsewhere", "info", f"{path} already declares "
                             f"[crio.runtime.runtimes.{handler}]; CRI-O merges it key by key with "
                             "kataview's drop-in (last file wins)"))
    for path, data in parsed:
        for runtime_name, table in crio_runtimes(data).items():
            for key in sorted(set(table) - RUNTIME_KEYS):
                found.append(Finding("unknown-key", "warning", f"{path}: [crio.runtime.runtimes."
                                     f"{runtime_name}] has unknown key {key!r}; CRI-O ignores it"))
    return tuple(found)
