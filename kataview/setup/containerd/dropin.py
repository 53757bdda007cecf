"""Drop-in mode: the Kata handler in a file of its own, imported by the main config.

Decision: drop-in mode is refused below containerd 2.2. containerd 1.x (checked with 1.6.20)
merges an imported file per top-level plugin table: a drop-in holding only
`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]` REPLACES the main file's whole
CRI section, so runc, registry mirrors, CNI dirs and every other CRI setting would silently
revert to defaults. Copying the whole CRI section into the drop-in would avoid that but leave a
dead copy in the main file that later edits silently miss. Patching the main file in place
(backup, atomic write) is the safe choice there. From 2.2 on, imported plugin tables merge key
by key; if the main file already imports the drop-in (e.g. `/etc/containerd/conf.d/*.toml`),
the main file is not touched, otherwise the drop-in is added to its `imports`.
"""

from __future__ import annotations

import copy
import fnmatch
import os
from dataclasses import dataclass

import tomlkit

from kataview.setup.containerd.inspect import inspect_data
from kataview.setup.containerd.patch import PatchPlan, verify_result, plan_containerd_patch, unified_diff
from kataview.setup.containerd.schema import DEFAULT_RUNTIME_TYPE
from kataview.setup.toml_edit import ConfigError, fix_newlines, newline_of, parse_toml, render_value, scan_layout

DROPIN_MIN_VERSION = (2, 2)


@dataclass(frozen=True, slots=True)
class DropinPlan:
    dropin: PatchPlan  # the drop-in file's plan (its `text` is "" when the file is new)
    main_text: str
    main_new_text: str
    main_diff: str
    notes: tuple[str, ...]

    @property
    def main_changed(self) -> bool:
        return self.main_new_text != self.main_text


def imports_cover(imports: tuple[str, ...], main_path: str, dropin_path: str) -> bool:
    """Does one of `imports` (relative ones resolved against the main file's folder) name the drop-in?"""
    target = os.path.normpath(os.path.abspath(dropin_path))
    base = os.path.dirname(os.path.abspath(main_path))
    for entry in imports:
        pattern = os.path.normpath(entry if os.path.isabs(entry) else os.path.join(base, entry))
        if (os.path.dirname(pattern) == os.path.dirname(target)
                and fnmatch.fnmatchcase(os.path.basename(target), os.path.basename(pattern))):
            return True
    return False


def refuse_old_containerd(version: tuple[int, int] | None) -> None:
    if version is not None and version >= DROPIN_MIN_VERSION:
        return
    shown = "unknown (assumed 1.x)" if version is None else f"{version[0]}.{version[1]}"
    raise ConfigError(
        f"drop-in mode needs containerd >= 2.2; this containerd is {shown}. Before 2.2 an imported "
        "file replaces the main file's whole CRI plugin section, so a drop-in holding only the Kata "
        "handler would reset runc, registries and CNI settings to defaults; kataview does not copy "
        "the whole CRI section into the drop-in either, because the main file's copy would then "
        "be silently dead", "run without --drop-in: kataview then patches the main config in "
        "place (with a backup and an atomic write); or pass --containerd-version if detection "
        "was wrong", source="--drop-in")


def _add_import(text: str, path: str) -> str:
    data = parse_toml(text)
    layout = scan_layout(text)
    newline = newline_of(text)
    lines = list(layout.lines)
    existing = [k for k in layout.keys if k.table == () and k.key == ("imports",)]
    if existing:
        doc = tomlkit.parse(text)
        doc["imports"].append(path)
        new_text = fix_newlines(doc.as_string(), newline)
    else:
        version = [k for k in layout.keys if k.table == () and k.key == ("version",)]
        at = version[0].end + 1 if version else 0
        if at == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        lines.insert(at, f"imports = {render_value([path])}{newline}")
        new_text = "".join(lines)
    expected = copy.deepcopy(data)
    expected["imports"] = list(data.get("imports", [])) + [path]
    return verify_result(new_text, expected, newline, f"the import of {path}")


def plan_containerd_dropin(main_text: str, dropin_text: str | None, *, main_path: str, dropin_path: str,
                           containerd_version: tuple[int, int] | None, handler: str = "kata",
                           runtime_type: str = DEFAULT_RUNTIME_TYPE, kata_config: str | None = None,
                           force: bool = False) -> DropinPlan:
    """Plan writing the handler to `dropin_path` and importing it from the main config."""
    refuse_old_containerd(containerd_version)
    try:
        main = inspect_data(parse_toml(main_text), scan_layout(main_text))
    except ConfigError as exc:
        raise exc.located(main_path) from None
    if main.cri_disabled:  # let the main-file planner word the refusal with its position
        plan_containerd_patch(main_text, handler=handler)
    if handler in main.handlers:
        raise ConfigError(f"handler {handler!r} is already defined in the main config",
                          "run without --drop-in to check or update it there",
                          line=main.handlers[handler].line, source=main_path)
    newline = newline_of(main_text)
    start = dropin_text
    if start is None:
        start = (f"# Kata Containers runtime handler {handler!r}, written by kataview "
                 f"(imported by {main_path}){newline}")
        if main.version >= 2:
            start += f"version = {main.version}{newline}"
    try:
        dropin = plan_containerd_patch(start, handler=handler, runtime_type=runtime_type, kata_config=kata_config,
                                       force=force, version=main.version, keep_builtin_runc=False,
                                       name=os.path.basename(dropin_path))
    except ConfigError as exc:
        raise exc.located(dropin_path) from None
    if dropin.info.version != main.version:
        raise ConfigError(f"the drop-in says version = {dropin.info.version} but the main config is "
                          f"version {main.version}", "make both the same version", source=dropin_path)
    if dropin_text is None:
        dropin = PatchPlan(**{**_fields(dropin), "text": "",
                              "diff": unified_diff("", dropin.new_text, os.path.basename(dropin_path))})
    notes = []
    if imports_cover(main.imports, main_path, dropin_path):
        notes.append(f"{main_path} already imports {dropin_path}; the main config is not changed")
        new_main = main_text
    else:
        notes.append(f"add {dropin_path} to imports in {main_path}")
        new_main = _add_import(main_text, dropin_path)
    return DropinPlan(dropin, main_text, new_main, unified_diff(main_text, new_main, os.path.basename(main_path)),
                      tuple(notes))


def _fields(plan: PatchPlan) -> dict:
    return {name: getattr(plan, name) for name in PatchPlan.__slots__}
