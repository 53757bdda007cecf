"""The setup's command set on a node: the only commands that write there, typed and exact.

These are deliberately NOT in the read-only allowlist (`kataview.hosts.commands`): the hosts
layer's `NodeConnection.run_script` refuses every one of them. They go through
`kataview.setup.ssh_executor.SetupChannel`, which sends a line only if `is_setup_command`
accepts it byte for byte, and refuses every writing command when read-only mode is on.

Each command is a fixed `sh -c` script with its values passed as positional arguments (never
pasted into the script), all quoted with `shlex.quote`:

    read PATH                  the file's bytes; exit 3 when it does not exist
    list DIR                   the regular files in DIR, one per line
    write PATH [SOURCE]        atomic replace from stdin (or from SOURCE, for a restore): temp
                               file in the same directory, mode, owner, ACLs and xattrs (SELinux
                               label) copied (a failure to copy them refuses), fsync, mv
    backup PATH DIR STAMP      cp -p to a hidden temp, fsync, then hard-linked to the first free
                               PATH.kataview-STAMP[-N].bak (beside it, or in DIR); prints it. A
                               full disk leaves no partial backup; two runs never share a name
    remove PATH                rm -f
    restart ARGV...            the operator's configured restart command, exactly
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Sequence

from kataview.hosts.commands import SUDO

__all__ = ["SCRIPTS", "SetupCommand", "is_setup_command", "setup_path", "WRITING"]

_PATH_CHARS = re.compile(r"[A-Za-z0-9._+@:=,/-]+")
_STAMP = re.compile(r"[0-9]{8}T[0-9]{6}Z")
MISSING_EXIT = 3

SCRIPTS: dict[str, str] = {
    "read": f'[ -e "$1" ] || exit {MISSING_EXIT}; exec cat -- "$1"',
    "list": '[ -d "$1" ] || exit 0; for f in "$1"/*; do [ -f "$f" ] && printf "%s\\n" "$f"; done; exit 0',
    "write": (
        'set -eu; target=$(readlink -f -- "$1"); dir=$(dirname -- "$target"); '
        'tmp=$(mktemp "$dir/.$(basename -- "$target").kataview-XXXXXX.tmp"); '
        "trap 'rm -f -- \"$tmp\"' EXIT; "
        'if [ -n "${2:-}" ]; then cat -- "$2" > "$tmp"; else cat > "$tmp"; fi; '
        'if [ -e "$target" ]; then chmod --reference="$target" -- "$tmp"; '
        'chown --reference="$target" -- "$tmp" 2>/dev/null || true; '
        'cp --attributes-only --preserve=mode,xattr -- "$target" "$tmp"; else chmod 644 -- "$tmp"; fi; '
        'sync -- "$tmp"; mv -f -- "$tmp" "$target"; trap - EXIT; sync -- "$dir" 2>/dev/null || true'),
    "backup": (
        'set -eu; src=$(readlink -f -- "$1"); dir=${2:-$(dirname -- "$src")}; '
        'mkdir -p -m 700 -- "$dir"; base="$dir/$(basename -- "$src").kataview-$3"; '
        'tmp=$(mktemp "$dir/.$(basename -- "$src").kataview-XXXXXX.bak.tmp"); '
        "trap 'rm -f -- \"$tmp\"' EXIT; cp -p -- \"$src\" \"$tmp\"; sync -- \"$tmp\"; "
        'name="$base.bak"; n=1; while ! ln -- "$tmp" "$name" 2>/dev/null; do '
        '[ -e "$name" ] || { ln -- "$tmp" "$name"; exit 1; }; name="$base-$n.bak"; n=$((n+1)); done; '
        'sync -- "$dir" 2>/dev/null || true; printf "%s\\n" "$name"'),
    "remove": 'exec rm -f -- "$1"',
}
WRITING = frozenset({"write", "backup", "remove", "restart"})
_ARITY = {"read": (1, 1), "list": (1, 1), "write": (1, 2), "backup": (3, 3), "remove": (1, 1)}
# what may be written or removed: runtime config files and our backups, nothing else
_WRITABLE_SUFFIXES = (".toml", ".tmpl", ".conf")


def setup_path(value: str, *, writable: bool = False) -> str:
    """An absolute, plain, canonical path (no `..`, no shell characters); when `writable`, a
    runtime config file (.toml, .tmpl, .conf) or a kataview backup (.bak)."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 4096:
        raise ValueError(f"not an absolute path: {value!r}")
    if not _PATH_CHARS.fullmatch(value) or ".." in value.split("/") or posixpath.normpath(value) != value:
        raise ValueError(f"not a plain canonical path: {value!r}")
    if writable and not value.endswith(_WRITABLE_SUFFIXES + (".bak",)):
        raise ValueError(f"kataview writes only runtime config files and its backups: {value!r}")
    return value


def _restart_word(word: str) -> str:
    if not isinstance(word, str) or not word or any(c in word for c in "\0\n\r"):
        raise ValueError(f"not a usable command word: {word!r}")
    return word


@dataclass(frozen=True, slots=True)
class SetupCommand:
    """One command of the set; validated when built. `args` are the script's $1, $2, ..."""

    kind: str
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "restart":
            if not self.args:
                raise ValueError("empty restart command")
            for word in self.args:
                _restart_word(word)
            return
        if self.kind not in SCRIPTS:
            raise ValueError(f"not a setup command: {self.kind!r}")
        low, high = _ARITY[self.kind]
        if not low <= len(self.args) <= high:
            raise ValueError(f"{self.kind}: {len(self.args)} arguments")
        writes = self.kind in WRITING
        setup_path(self.args[0], writable=writes)
        if self.kind == "write" and len(self.args) == 2:
            setup_path(self.args[1], writable=True)
        if self.kind == "backup":
            if self.args[1]:
                setup_path(self.args[1])
            if not _STAMP.fullmatch(self.args[2]):
                raise ValueError(f"not a backup stamp: {self.args[2]!r}")

    @property
    def writes(self) -> bool:
        return self.kind in WRITING

    def argv(self) -> tuple[str, ...]:
        if self.kind == "restart":
            return self.args
        return ("sh", "-c", SCRIPTS[self.kind], f"kataview-{self.kind}", *self.args)

    def render(self, *, sudo: bool = False) -> str:
        words = (*SUDO, *self.argv()) if sudo else self.argv()
        return " ".join(shlex.quote(word) for word in words)


def command_from_line(line: str, restart: Sequence[str] = ()) -> SetupCommand:
    """The setup command that renders exactly `line`; ValueError otherwise. `restart` is the
    one restart command this session was configured with."""
    if not isinstance(line, str) or "\n" in line or "\0" in line:
        raise ValueError("not a setup command line")
    words = shlex.split(line)
    sudo = tuple(words[:2]) == SUDO
    body = tuple(words[2:] if sudo else words)
    if restart and body == tuple(restart):
        command = SetupCommand("restart", body)
    elif len(body) >= 4 and body[:2] == ("sh", "-c") and body[3].startswith("kataview-"):
        kind = body[3].removeprefix("kataview-")
        if kind not in SCRIPTS or SCRIPTS[kind] != body[2]:
            raise ValueError(f"not a setup script: {kind!r}")
        command = SetupCommand(kind, body[4:])
    else:
        raise ValueError(f"not a setup command: {body[:4]!r}")
    if command.render(sudo=sudo) != line:
        raise ValueError("not in canonical form")
    return command


def is_setup_command(line: str, restart: Sequence[str] = ()) -> bool:
    """True only for a line a `SetupCommand` renders (with or without `sudo -n`)."""
    try:
        command_from_line(line, restart)
    except ValueError:
        return False
    return True
