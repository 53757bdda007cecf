"""Where kataview keeps its files, by the XDG Base Directory spec, resolved in this one place:
the config directory (only read), the state directory (the log, the remembered theme, the
guided setup's transcripts) and the runtime directory (`demo --serve`'s kubeconfig). Pure: the
caller passes the environment.

A value that is not an absolute path is ignored, as the spec asks, so a relative
`XDG_STATE_HOME` never scatters files into whatever directory kataview was started from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping


def kataview_dir(environ: Mapping[str, str], variable: str, default: str) -> Path:
    """`$variable/kataview`, or `$HOME/default/kataview` when the variable is unset, empty or relative."""
    value = environ.get(variable) or ""
    base = Path(value) if value and Path(value).is_absolute() else Path(environ.get("HOME") or Path.home()) / default
    return base / "kataview"


def config_dir(environ: Mapping[str, str]) -> Path:
    return kataview_dir(environ, "XDG_CONFIG_HOME", ".config")


def state_dir(environ: Mapping[str, str]) -> Path:
    return kataview_dir(environ, "XDG_STATE_HOME", ".local/state")


def runtime_dir(environ: Mapping[str, str]) -> Path | None:
    """`$XDG_RUNTIME_DIR` (absolute), or None: the spec has no default, the caller picks one."""
    value = environ.get("XDG_RUNTIME_DIR") or ""
    return Path(value) if value and Path(value).is_absolute() else None
