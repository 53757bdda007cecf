"""Read a containerd config the way containerd does: version, CRI layout, handlers, Kata.

`inspect_containerd_config(text)` is pure and raises `ConfigError` (with line and column) for
text that is not TOML. It never follows `imports`: the caller decides whether to read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from kataview.setup.containerd.schema import (
    CRI_PLUGIN, CRI_PLUGIN_IDS, DEPRECATED_RUNTIME_TABLES, PLUGIN_OF_SCHEMA, SCHEMA_OF_VERSION,
    Finding, check_runtime_keys, dig, flatten, is_kata_runtime)
from kataview.setup.toml_edit import ConfigError, Layout, parse_toml, scan_layout


@dataclass(frozen=True, slots=True)
class HandlerInfo:
    """One runtime handler; `settings` is flattened (`options.ConfigPath`)."""

    name: str
    runtime_type: str
    settings: Mapping[str, Any]
    is_kata: bool
    line: int | None = None


@dataclass(frozen=True, slots=True)
class DeprecatedRuntime:
    """`default_runtime` / `untrusted_workload_runtime` (containerd 1.x only)."""

    table: str
    settings: Mapping[str, Any]
    ignored: bool  # containerd ignores the table when runtime_type is empty


@dataclass(frozen=True, slots=True)
class ConfigInfo:
    version: int  # as containerd reads it: 1 when the key is absent
    version_key: int | None  # the literal top-level `version`, None when absent
    schema: int | None  # layout of the CRI tables: 1, 2 or 3 (see schema_reason)
    schema_reason: str
    runtimes_path: tuple[str, ...]  # where `version` wants runtime handlers
    default_runtime_name: str | None  # as written
    effective_default_runtime_name: str
    handlers: Mapping[str, HandlerInfo]
    deprecated_tables: Mapping[str, DeprecatedRuntime] = field(default_factory=dict)
    effective_extra_handlers: Mapping[str, HandlerInfo] = field(default_factory=dict)
    kata_handlers: tuple[str, ...] = ()
    disabled_plugins: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def cri_disabled(self) -> bool:
        return any(p in CRI_PLUGIN_IDS for p in self.disabled_plugins)

    @property
    def layout_mismatch(self) -> bool:
        """The CRI tables use another layout than the one containerd reads for this version."""
        return self.schema is not None and self.schema != SCHEMA_OF_VERSION.get(self.version)


def _version(data: Mapping[str, Any]) -> tuple[int, int | None]:
    raw = data.get("version")
    if raw is None:
        return 1, None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw not in SCHEMA_OF_VERSION:
        raise ConfigError(f"unsupported config version {raw!r}",
                          "containerd knows versions 1 to 4; fix the `version` line")
    return raw, raw


def _infer_schema(data: Mapping[str, Any], version_key: int | None) -> tuple[int | None, str]:
    if version_key is not None:
        return SCHEMA_OF_VERSION[version_key], f"version = {version_key}"
    plugins = data.get("plugins")
    plugins = plugins if isinstance(plugins, Mapping) else {}
    for schema, plugin in ((1, "cri"), (3, "io.containerd.cri.v1.runtime"), (2, "io.containerd.grpc.v1.cri")):
        if plugin in plugins:
            return schema, f"no version key; tables use plugin id {plugin!r}"
    if data.get("imports"):
        return None, "no version key and no CRI tables; the imported files decide"
    return 1, "no version key and no CRI tables: containerd reads it as version 1"


def _handlers(containerd: Any, base: tuple[str, ...], layout: Layout) -> dict[str, HandlerInfo]:
    runtimes = containerd.get("runtimes") if isinstance(containerd, Mapping) else None
    found: dict[str, HandlerInfo] = {}
    for name, table in (runtimes or {}).items():
        if isinstance(table, Mapping):
            at = layout.find(base + ("runtimes", name))
            found[name] = HandlerInfo(name, str(table.get("runtime_type", "")), flatten(table),
                                      is_kata_runtime(table), at[0] if at else None)
    return found


def _deprecated(containerd: Any, base: tuple[str, ...], layout: Layout
                ) -> tuple[dict[str, DeprecatedRuntime], dict[str, HandlerInfo]]:
    tables: dict[str, DeprecatedRuntime] = {}
    extra: dict[str, HandlerInfo] = {}
    for key, handler in DEPRECATED_RUNTIME_TABLES.items():
        table = containerd.get(key) if isinstance(containerd, Mapping) else None
        if not isinstance(table, Mapping):
            continue
        ignored = not table.get("runtime_type")
        tables[key] = DeprecatedRuntime(key, flatten(table), ignored)
        if not ignored:
            at = layout.find(base + (key,))
            extra[handler] = HandlerInfo(handler, str(table["runtime_type"]), flatten(table),
                                         is_kata_runtime(table), at[0] if at else None)
    return tables, extra


def _locate(findings: list[Finding], layout: Layout) -> tuple[Finding, ...]:
    located = []
    for f in findings:
        at = layout.find(f.path) if f.path else None
        located.append(Finding(f.code, f.severity, f.message, f.path, at[0] if at else f.line))
    return tuple(located)


def inspect_data(data: Mapping[str, Any], layout: Layout) -> ConfigInfo:
    version, version_key = _version(data)
    schema, reason = _infer_schema(data, version_key)
    base = PLUGIN_OF_SCHEMA[schema] + ("containerd",) if schema else ()
    containerd = dig(data, base) if schema else None
    handlers = _handlers(containerd, base, layout)
    written = containerd.get("default_runtime_name") if isinstance(containerd, Mapping) else None
    deprecated, extra = _deprecated(containerd, base, layout) if schema in (1, 2) else ({}, {})
    effective_default = "default" if "default" in extra else (written or "runc")
    kata = tuple(n for n, h in {**handlers, **extra}.items() if h.is_kata)
    findings = check_runtime_keys(data, {1: 1, 2: 2, 3: 3}[schema]) if schema else []
    disabled = data.get("disabled_plugins") or []
    imports = data.get("imports") or []
    return ConfigInfo(
        version=version, version_key=version_key, schema=schema, schema_reason=reason,
        runtimes_path=CRI_PLUGIN[version] + ("containerd", "runtimes"),
        default_runtime_name=written, effective_default_runtime_name=effective_default,
        handlers=handlers, deprecated_tables=deprecated, effective_extra_handlers=extra,
        kata_handlers=kata, disabled_plugins=tuple(str(p) for p in disabled),
        imports=tuple(str(p) for p in imports), findings=_locate(findings, layout))


def inspect_containerd_config(text: str) -> ConfigInfo:
    """What containerd would make of this config file (without following imports)."""
    data = parse_toml(text)
    return inspect_data(data, scan_layout(text))
