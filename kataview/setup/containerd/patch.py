"""Add a Kata runtime handler to a containerd config without disturbing anything else.

`plan_containerd_patch(text, ...)` is pure: it returns a `PatchPlan` (new text, unified diff,
what changes, conflicts, warnings) or raises `ConfigError` for input it must refuse. It writes
the handler where the file's `version` wants it (absent = 1), as whole new lines appended after
the CRI plugin's last table, in the file's own indentation, quoting and line endings; only when
a parent table is an inline table, or `force` updates an existing handler, does tomlkit edit in
place. Every result is re-parsed and must equal the intended document exactly (nothing else
changed, handler at the right path with the right keys), or the plan is refused.

containerd 1.x replaces its built-in handler list as soon as a file declares any runtime: a file
that relied on the built-in `runc` would lose its default runtime and the CRI plugin would fail
to start. In that case the plan also writes `runc` out with its built-in settings.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from typing import Any, Mapping

import tomlkit
from tomlkit.items import InlineTable

from kataview.setup.containerd.inspect import ConfigInfo, inspect_containerd_config, inspect_data
from kataview.setup.containerd.schema import (
    CRI_PLUGIN, DEFAULT_RUNTIME_TYPE, KATA_POD_ANNOTATIONS, KEY_REASONS, PLUGIN_OF_SCHEMA, Finding,
    describe_change, dig, flatten, handler_name_problem, runtime_key_findings)
from kataview.setup.containerd.text import append_runtime_blocks, update_runtime_block
from kataview.setup.toml_edit import ConfigError, Layout, fix_newlines, newline_of, parse_toml, scan_layout

__all__ = ["ConfigError", "ConfigInfo", "Conflict", "PatchPlan", "desired_settings",
           "inspect_containerd_config", "plan_containerd_patch", "unified_diff", "verify_result"]

BUILTIN_RUNC = {"runtime_type": "io.containerd.runc.v2"}
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Conflict:
    """An existing setting of the handler that differs from what kataview would write."""

    key: str  # flattened: "options.ConfigPath"
    current: Any  # None when the key is absent (see `present`)
    wanted: Any
    present: bool
    why: str = ""  # why kataview sets this key

    def __str__(self) -> str:
        have = repr(self.current) if self.present else "(not set)"
        return f"{self.key}: {have} -> {self.wanted!r}"

    def describe(self) -> str:
        return describe_change(self.key, self.current, self.wanted, self.present, self.why)


class PlanVerdict:
    """What a plan means for the command: shared by the containerd and CRI-O plans, which
    have `text`, `new_text` and `conflicts`."""

    __slots__ = ()

    @property
    def changed(self) -> bool:
        return self.new_text != self.text

    @property
    def needs_force(self) -> bool:
        return bool(self.conflicts) and not self.changed


@dataclass(frozen=True, slots=True)
class PatchPlan(PlanVerdict):
    text: str
    new_text: str
    diff: str
    handler: str
    handler_path: tuple[str, ...]
    already_configured: bool
    changes: tuple[str, ...]
    conflicts: tuple[Conflict, ...]
    warnings: tuple[Finding, ...]
    info: ConfigInfo



def desired_settings(runtime_type: str = DEFAULT_RUNTIME_TYPE, kata_config: str | None = None) -> dict[str, Any]:
    settings: dict[str, Any] = {"runtime_type": runtime_type, "privileged_without_host_devices": True,
                                "pod_annotations": list(KATA_POD_ANNOTATIONS)}
    if kata_config:
        settings["options"] = {"ConfigPath": kata_config}
    return settings


def unified_diff(old: str, new: str, name: str = "config.toml") -> str:
    """A unified diff; a last line without line ending is marked as git and patch(1) do."""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"a/{name}", f"b/{name}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def _conflicts(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> list[Conflict]:
    have_all = flatten(existing)
    found = []
    for key, wanted in flatten(desired).items():
        have = have_all.get(key, _MISSING)
        if key == "pod_annotations" and isinstance(have, list):
            ok = all(a in have for a in wanted)
        else:
            ok = have == wanted and type(have) is type(wanted)
        if not ok:
            present = have is not _MISSING
            found.append(Conflict(key, have if present else None, wanted, present, KEY_REASONS.get(key, "")))
    return found


def _merged(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The existing handler with our keys set; other keys and other annotations kept."""
    result = copy.deepcopy(dict(existing))
    for key, value in desired.items():
        if key == "options":
            options = result.get("options")
            result["options"] = {**(options if isinstance(options, Mapping) else {}), **value}
        elif key == "pod_annotations" and isinstance(result.get(key), list):
            result[key] = result[key] + [a for a in value if a not in result[key]]
        else:
            result[key] = value
    return result


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


def _position(layout: Layout, path: tuple[str, ...], needle: str | None = None) -> tuple[int | None, int | None]:
    at = layout.find(path)
    if at is None:
        return None, None
    if needle is not None:
        column = layout.lines[at[0] - 1].find(needle)
        if column >= 0:
            return at[0], column + 1
    return at


def _refuse_cri_disabled(info: ConfigInfo, layout: Layout) -> None:
    if not info.cri_disabled:
        return
    plugin = next(p for p in info.disabled_plugins if p in ("cri", "io.containerd.grpc.v1.cri",
                                                             "io.containerd.cri.v1.runtime"))
    line, column = _position(layout, ("disabled_plugins",), f'"{plugin}"')
    if column is not None and layout.lines[line - 1][column - 1] != '"':
        line, column = _position(layout, ("disabled_plugins",), f"'{plugin}'")
    raise ConfigError(
        f"the CRI plugin is disabled (disabled_plugins contains {plugin!r}), so Kubernetes cannot "
        "use this containerd and a runtime handler would have no effect; this is Docker's "
        "packaged config",
        f"remove {plugin!r} from disabled_plugins (or start from `containerd config default`), "
        "restart containerd, check that Docker still works, then run this command again",
        line=line, column=column)


def _refuse_layout(info: ConfigInfo, data: Mapping[str, Any], layout: Layout, version: int) -> None:
    plugins = data.get("plugins") if isinstance(data.get("plugins"), Mapping) else {}
    if version >= 2 and "cri" in plugins:
        line, column = _position(layout, ("plugins", "cri"))
        raise ConfigError(
            f"version = {version} but the file has a version 1 table [plugins.cri]; containerd "
            'refuses to start with it ("invalid plugin key URI")',
            'rename [plugins.cri...] to [plugins."io.containerd.grpc.v1.cri"...] or remove the '
            "`version` line, then run again", line=line, column=column)
    if info.schema is not None and info.schema != {1: 1, 2: 2, 3: 3, 4: 3}[version]:
        plugin = PLUGIN_OF_SCHEMA[info.schema]
        line, column = _position(layout, plugin)
        raise ConfigError(
            f"this file has no `version` key, so containerd reads it as version 1 and ignores its "
            f"version {info.schema} tables [plugins.{tomlkit.item(plugin[1]).as_string()}...]; "
            "adding a version 1 table beside them would hide the mistake",
            f"if this is the main config, add `version = {info.schema}` as its first line and run "
            "again; if it is a drop-in, run with the main config as --config and --drop-in "
            "pointing at this file", line=line, column=column)


def _refuse_handler(handler: str, info: ConfigInfo) -> None:
    problem = handler_name_problem(handler)
    if problem:
        raise ConfigError(f"{problem}; Kubernetes RuntimeClass handlers must be DNS labels",
                          "choose a name such as 'kata' or 'kata-qemu'", source="--handler")
    default = info.handlers.get(info.effective_default_runtime_name)
    reserved = {"runc", *info.effective_extra_handlers}
    if default is not None and not default.is_kata:
        reserved.add(default.name)
    if handler in reserved:
        raise ConfigError(
            f"{handler!r} is the default runtime or a handler containerd derives itself; kataview "
            "never changes it", "choose another name for the Kata handler, e.g. 'kata'",
            source="--handler")


def _check_parents(data: Mapping[str, Any], path: tuple[str, ...], layout: Layout) -> None:
    node: Any = data
    for depth, key in enumerate(path):
        if key not in node:
            return
        node = node[key]
        if not isinstance(node, Mapping):
            line, column = _position(layout, path[: depth + 1])
            raise ConfigError(f"{'.'.join(path[: depth + 1])} is a {type(node).__name__}, not a table",
                              "fix that key by hand (containerd cannot read it either)",
                              line=line, column=column)


def _warnings(info: ConfigInfo, data: Mapping[str, Any], runtime_type: str,
              kata_config: str | None, version: int) -> list[Finding]:
    found = list(info.findings)
    if version == 1:
        found.append(Finding("config-version-1", "info", "config version 1 (no `version` key) is "
                             "deprecated since containerd 1.6; containerd 2.x migrates it on load"))
    if version >= 3 and dig(data, CRI_PLUGIN[2] + ("containerd", "runtimes")):
        found.append(Finding("ignored-v2-runtimes", "warning", "runtimes under "
                             '[plugins."io.containerd.grpc.v1.cri".containerd] are ignored in '
                             f"version {version}; containerd 2.x reads io.containerd.cri.v1.runtime"))
    if not (runtime_type.startswith("io.containerd.") or runtime_type.startswith("/")):
        found.append(Finding("odd-runtime-type", "warning", f"runtime_type {runtime_type!r} is "
                             "neither io.containerd.<name>.<version> nor an absolute shim path"))
    if kata_config and not kata_config.startswith("/"):
        found.append(Finding("relative-config-path", "warning", f"ConfigPath {kata_config!r} is "
                             "relative; the Kata shim resolves it against its own working directory"))
    if info.imports:
        found.append(Finding("imports", "warning", "this file imports " + ", ".join(info.imports)
                             + "; on containerd < 2.2 an imported file that has a CRI section "
                             "replaces this file's whole CRI section, including the new handler"))
    return found


def verify_result(new_text: str, expected: Mapping[str, Any], newline: str, what: str) -> str:
    """`new_text`, if it parses to exactly `expected` and keeps the line endings; else refuse."""
    try:
        result = parse_toml(new_text)
    except ConfigError as exc:
        result = {"<unparsable>": exc.problem}
    if result != expected or (newline == "\r\n" and "\n" in new_text.replace("\r\n", "")):
        raise ConfigError(
            f"internal check failed: the edited file would not hold exactly {what}; nothing was "
            "written", "add the handler by hand (see --dry-run of a simpler file) and report this "
            "file to the kataview maintainers")
    return new_text


def _inline_ancestor(doc: Any, path: tuple[str, ...]) -> int | None:
    """Depth of the first inline table along `path` in the tomlkit document, if any."""
    node = doc
    for depth, key in enumerate(path):
        if key not in node:
            return None
        node = node[key]
        if isinstance(node, InlineTable):
            return depth + 1
    return None


def _as_inline(value: Mapping[str, Any]) -> InlineTable:
    table = tomlkit.inline_table()
    for key, item in value.items():
        table[key] = _as_inline(item) if isinstance(item, Mapping) else item
    return table


def _edit_with_tomlkit(text: str, path: tuple[str, ...], tables: Mapping[str, Mapping[str, Any]]) -> str:
    """Set runtimes `tables` under `path`, creating inline tables inside an inline ancestor."""
    doc = tomlkit.parse(text)
    node: Any = doc
    for key in path:
        if key not in node:
            node[key] = tomlkit.inline_table() if isinstance(node, InlineTable) else tomlkit.table()
        node = node[key]
    for name, settings in tables.items():
        if name not in node:
            node[name] = _as_inline(settings) if isinstance(node, InlineTable) else settings
            continue
        target = node[name]
        for key, value in settings.items():
            if key == "options" and "options" in target and isinstance(value, Mapping):
                for option, option_value in value.items():
                    target["options"][option] = option_value
            elif isinstance(value, Mapping) and isinstance(target, InlineTable):
                target[key] = _as_inline(value)
            else:
                target[key] = value
    return doc.as_string()


def plan_containerd_patch(text: str, *, handler: str = "kata", runtime_type: str = DEFAULT_RUNTIME_TYPE,
                          kata_config: str | None = None, force: bool = False, version: int | None = None,
                          keep_builtin_runc: bool = True, name: str = "config.toml") -> PatchPlan:
    """Plan adding `handler` to a containerd config. Pure; raises ConfigError to refuse.

    `version` overrides the version for a file without a `version` key (a drop-in is read with
    its main file's version). `keep_builtin_runc=False` skips writing out runc (drop-ins on
    containerd >= 2.2, whose merge keeps the main file's runtimes).
    """
    data = parse_toml(text)
    layout = scan_layout(text)
    info = inspect_data(data, layout)
    if version is not None and info.version_key is None:
        info = inspect_data({**data, "version": version}, layout)
    version = info.version
    _refuse_handler(handler, info)
    _refuse_cri_disabled(info, layout)
    _refuse_layout(info, data, layout, version)
    runtimes = CRI_PLUGIN[version] + ("containerd", "runtimes")
    _check_parents(data, runtimes + (handler,), layout)
    desired = desired_settings(runtime_type, kata_config)
    own = runtime_key_findings(handler, desired, runtimes + (handler,))
    if own:  # pragma: no cover - desired_settings only uses schema keys
        raise ConfigError(f"internal: {own[0].message}", "report this to the kataview maintainers")
    warnings = _warnings(info, data, runtime_type, kata_config, version)
    existing = dig(data, runtimes + (handler,))
    conflicts = _conflicts(existing, desired) if existing is not None else []
    common = dict(text=text, handler=handler, handler_path=runtimes + (handler,), info=info)
    if existing is not None and not conflicts:
        return PatchPlan(new_text=text, diff="", already_configured=True, changes=(), conflicts=(),
                         warnings=tuple(warnings), **common)
    if conflicts and not force:
        return PatchPlan(new_text=text, diff="", already_configured=False, changes=(),
                         conflicts=tuple(conflicts), warnings=tuple(warnings), **common)
    tables, changes = _tables_to_write(data, info, handler, desired, existing, runtimes, keep_builtin_runc)
    warnings += _default_runtime_warning(data, info, runtimes, tables)
    new_text = _render(text, layout, runtimes, tables, conflicts, version)
    expected = copy.deepcopy(data)
    for table_name, settings in tables.items():
        _set_path(expected, runtimes + (table_name,), settings)
    verify_result(new_text, expected, newline_of(text), f"the new {handler!r} handler")
    return PatchPlan(new_text=new_text, diff=unified_diff(text, new_text, name), already_configured=False,
                     changes=tuple(changes), conflicts=tuple(conflicts), warnings=tuple(warnings), **common)


def _tables_to_write(data, info, handler, desired, existing, runtimes, keep_builtin_runc):
    tables: dict[str, dict[str, Any]] = {}
    changes: list[str] = []
    if keep_builtin_runc and dig(data, runtimes) is None:
        tables["runc"] = dict(BUILTIN_RUNC)
        changes.append("write out containerd's built-in 'runc' runtime: containerd 1.x drops its "
                       "built-in handlers once the file declares any runtime, which would remove "
                       "the 'runc' handler (and break the default runtime when that is runc)")
    if existing is None:
        tables[handler] = desired
        changes.append(f"add runtime handler {handler!r} at {'.'.join(runtimes)}.{handler}")
    else:
        tables[handler] = _merged(existing, desired)
        changes.append(f"update runtime handler {handler!r} (--force): "
                       + "; ".join(str(c) for c in _conflicts(existing, desired)))
    return tables, changes


def _default_runtime_warning(data, info, runtimes, tables) -> list[Finding]:
    declared = dig(data, runtimes)
    default = info.effective_default_runtime_name
    if declared is None or default in declared or default in tables or default in info.effective_extra_handlers:
        return []
    return [Finding("default-runtime-undefined", "warning",
                    f"the default runtime {default!r} is not declared among this file's runtimes; "
                    "containerd 1.x will refuse to load the CRI plugin (this was so before kataview)")]


def _only_changed(table: Mapping[str, Any], conflicts: list[Conflict]) -> dict[str, Any]:
    """The part of the merged handler table that differs (what --force must write)."""
    changed: dict[str, Any] = {}
    for conflict in conflicts:
        first, _, rest = conflict.key.partition(".")
        if rest:
            changed.setdefault(first, {})[rest] = table[first][rest]
        else:
            changed[first] = table[first]
    return changed


def _render(text: str, layout: Layout, runtimes: tuple[str, ...], tables: Mapping[str, Mapping[str, Any]],
            conflicts: list[Conflict], version: int) -> str:
    plugin = CRI_PLUGIN[version]
    if conflicts:
        handler, table = list(tables.items())[-1]
        edited = update_runtime_block(text, layout, plugin, runtimes + (handler,), _only_changed(table, conflicts))
        if edited is not None:
            return edited
        return fix_newlines(_edit_with_tomlkit(text, runtimes, tables), newline_of(text))
    if _inline_ancestor(tomlkit.parse(text), runtimes + tuple(tables)[-1:]) is not None:
        return fix_newlines(_edit_with_tomlkit(text, runtimes, tables), newline_of(text))
    return append_runtime_blocks(text, layout, plugin, runtimes, tables)
