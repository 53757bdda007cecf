"""Which containerd a config is written for: its version from a flag or `containerd --version`,
and the before-rename check (`containerd --config TMP config dump`) for 1.x. Used by
`kataview setup containerd` and by the guided setup's steps."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from kataview.setup.toml_edit import ConfigError


def parse_version(text: str) -> tuple[int, int] | None:
    found = re.search(r"(\d+)\.(\d+)", text)
    return (int(found[1]), int(found[2])) if found else None


def containerd_version_origin(explicit: str | None, which: Callable[[str], str | None] | None = None
                              ) -> tuple[tuple[int, int] | None, str]:
    """(version or None, where it came from: "from --containerd-version", "from `B --version`")."""
    if explicit:
        version = parse_version(explicit)
        if version is None:
            raise ConfigError(f"{explicit!r} is not a version", "pass it as X.Y, e.g. 1.7 or 2.2",
                              source="--containerd-version")
        return version, "from --containerd-version"
    binary = (which or shutil.which)("containerd")
    if binary:
        try:
            out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        words = out.split()
        version = parse_version(words[2] if len(words) > 2 else out)
        if version:
            return version, f"from `{binary} --version`"
    return None, "no containerd on PATH"


def detect_containerd_version(explicit: str | None, which: Callable[[str], str | None] | None = None
                              ) -> tuple[tuple[int, int] | None, str]:
    """(version or None, a sentence saying where it came from)."""
    version, origin = containerd_version_origin(explicit, which)
    if version is None:
        return None, f"containerd version unknown ({origin}): assuming 1.x to be safe"
    return version, f"containerd {version[0]}.{version[1]} ({origin})"


def containerd_check(path: Path, handler: str, version: tuple[int, int] | None) -> Callable[[Path], None] | None:
    """A before-rename check running `containerd --config TMP config dump`, when it can judge."""
    binary = shutil.which("containerd")
    if binary is None or (version is not None and version[0] >= 2):
        return None

    def check(tmp: Path) -> None:
        result = subprocess.run([binary, "--config", str(tmp), "config", "dump"],
                                capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise ConfigError(f"containerd rejects the result: {result.stderr.strip()}",
                              "nothing was written; report this file to the kataview maintainers",
                              source=str(path))
        if f"containerd.runtimes.{handler}]" not in result.stdout:
            raise ConfigError("containerd loads the result but does not show the new handler",
                              "nothing was written; report this file to the kataview maintainers",
                              source=str(path))
    return check
