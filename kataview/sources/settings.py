"""Settings: what the command line and the config file decide, in one frozen record.

The config file is `$XDG_CONFIG_HOME/kataview/config.toml` (default `~/.config/kataview/`);
kataview only reads it. What kataview remembers for the operator (the last theme) goes to
`$XDG_STATE_HOME/kataview/state.toml` instead, so a hand-edited config is never rewritten.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from kataview.model.xdg import config_dir, state_dir


class SettingsError(ValueError):
    """Bad configuration: the message names the file, the place and what to do."""


@dataclass(frozen=True)
class Settings:
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None  # None with all_namespaces False: the context's namespace
    all_namespaces: bool = True
    read_only: bool = False
    ssh_config: str | None = None
    demo: bool = False
    connect_timeout: float = 10.0
    theme: str | None = None
    no_color: bool = False
    # binding id -> comma-separated keys, from [keys] in the config file
    keymap: Mapping[str, str] = field(default_factory=dict)
    # node name -> address overrides for SSH, from [nodes.<name>] address = "..."
    node_addresses: Mapping[str, str] = field(default_factory=dict)
    config_path: Path | None = None
    # `report -l/--field-selector`: sent with the pods list, the server filters
    label_selector: str | None = None
    field_selector: str | None = None
    # Tests and screenshots freeze the clock so pod ages do not change between runs.
    frozen_now: datetime | None = None


def load_config_file(path: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Read the config file; a missing file is an empty config, a broken one a SettingsError."""
    path = path or config_dir(os.environ) / "config.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return path, {}
    except OSError as error:
        raise SettingsError(f"{path}: cannot read: {error.strerror}") from None
    try:
        return path, tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: {error}; fix the file or move it away") from None


def settings_from_config(data: Mapping[str, Any], path: Path | None) -> dict[str, Any]:
    """Pick the keys kataview understands; reject wrong types with the key's name."""
    values: dict[str, Any] = {"config_path": path}
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise SettingsError(f"{path}: [keys] must map binding ids to key strings, e.g. quit = \"q\"")
    values["keymap"] = dict(keys)
    nodes = data.get("nodes", {})
    if not isinstance(nodes, dict):
        raise SettingsError(f"{path}: [nodes] must be a table of node names")
    addresses = {}
    for name, node in nodes.items():
        if not isinstance(node, dict) or not isinstance(node.get("address", ""), str):
            raise SettingsError(f"{path}: [nodes.{name}] address must be a string")
        if node.get("address"):
            addresses[name] = node["address"]
    values["node_addresses"] = addresses
    for key, kind in (("theme", str), ("connect_timeout", (int, float)), ("read_only", bool)):
        if key in data:
            if not isinstance(data[key], kind) or isinstance(data[key], bool) != (kind is bool):
                raise SettingsError(f"{path}: {key} has the wrong type")
            values[key] = data[key]
    return values


def remembered_theme() -> str | None:
    try:
        data = tomllib.loads((state_dir(os.environ) / "state.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    theme = data.get("theme")
    return theme if isinstance(theme, str) else None


def remember_theme(theme: str) -> None:
    """Persist the chosen theme atomically; losing it is harmless, so errors are ignored."""
    directory = state_dir(os.environ)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / "state.toml.tmp"
        temporary.write_text(f'theme = "{theme}"\n', encoding="utf-8")
        os.replace(temporary, directory / "state.toml")
    except OSError:
        pass
