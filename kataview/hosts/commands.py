"""The only commands kataview ever runs on a node: read-only, typed, validated, quoted.

Every remote command is built from one of the builder classes below. Each validates the
names and ids it is given (Kubernetes DNS-1123 names, 64-hex or containerd-style ids,
paths under a short list of prefixes) and raises ``ValueError`` on anything else; values
are then quoted with ``shlex.quote``. The guard the SSH layer calls before sending anything,
``kataview.hosts.allowlist.is_allowed``, accepts a string only if it is *exactly* what a
builder (or :func:`batch`) would render for a valid command.

:func:`batch` joins several commands into one shell script (one SSH round trip);
:func:`split_batch` cuts the output back into one :class:`CommandResult` per command,
with its exit code. Markers carry a random nonce, so a file we ``cat`` cannot forge them.
"""

from __future__ import annotations

import posixpath
import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from kataview.hosts.ps import PS_ARGV

SUDO = ("sudo", "-n")  # -n: fail instead of prompting for a password
READABLE_PREFIXES = (
    "/run/vc",
    "/run/kata",
    "/etc/kata-containers",
    "/opt/kata/share/defaults/kata-containers",
    "/etc/containerd",
    "/etc/crio",
    # containerd as the Kubernetes distributions ship it (read by the setup's preflight)
    "/var/lib/rancher/k3s/agent/etc/containerd",
    "/var/lib/rancher/rke2/agent/etc/containerd",
    "/etc/k0s",
    "/var/snap/microk8s/current/args",
)
# single files the preflight reads (OS release); /proc/cpuinfo is only grepped (CpuVirtFlags)
READABLE_FILES = ("/etc/os-release", "/usr/lib/os-release")
_PROC_FILE = re.compile(r"/proc/[1-9][0-9]{0,9}/(cmdline|status|stat)")
_PATH_CHARS = re.compile(r"[A-Za-z0-9._+@:=,/-]+")
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_HEX_ID = re.compile(r"[0-9a-f]{12,64}")  # crictl accepts unique prefixes of the 64-hex id
# containerd's identifier rule (pkg/identifiers): alphanumerics joined by single . _ -
_CONTAINERD_ID = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")


def pod_name(value: str) -> str:
    """A pod name: DNS-1123 subdomain, at most 253 characters."""
    if not isinstance(value, str) or len(value) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(value):
        raise ValueError(f"not a valid pod name: {value!r}")
    return value


def namespace_name(value: str) -> str:
    """A namespace: DNS-1123 label, at most 63 characters."""
    if not isinstance(value, str) or len(value) > 63 or not _DNS1123_LABEL.fullmatch(value):
        raise ValueError(f"not a valid namespace: {value!r}")
    return value


def object_id(value: str) -> str:
    """A sandbox/container id: (a prefix of) 64 hex, or a containerd identifier (<= 76)."""
    if not isinstance(value, str) or len(value) > 76:
        raise ValueError(f"not a valid id: {value!r}")
    if _HEX_ID.fullmatch(value) or _CONTAINERD_ID.fullmatch(value):
        return value
    raise ValueError(f"not a valid id: {value!r}")


def readable_path(value: str) -> str:
    """A path we may read: /proc/<pid>/{cmdline,status,stat} or under READABLE_PREFIXES.

    Rejects relative paths, any ``..`` component and characters outside a plain set, then
    normalises (``//``, ``/./``, trailing ``/``) before checking the prefix. Symlinks on the
    node are not resolved here; the allowed trees are root-owned runtime/config directories.
    """
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 4096:
        raise ValueError(f"not an absolute path: {value!r}")
    if not _PATH_CHARS.fullmatch(value) or ".." in value.split("/"):
        raise ValueError(f"path has forbidden characters or '..': {value!r}")
    path = posixpath.normpath(value)
    if path.startswith("//"):  # POSIX keeps a leading '//' as is
        path = "/" + path.lstrip("/")
    if _PROC_FILE.fullmatch(path) or path in READABLE_FILES:
        return path
    if any(path == p or path.startswith(p + "/") for p in READABLE_PREFIXES):
        return path
    raise ValueError(f"path is outside the readable allowlist: {value!r}")


MONITOR_SOCKET_DIRS = ("/run/vc/sbs", "/run/kata")  # Go runtime, runtime-rs
MONITOR_SOCKET_NAME = "shim-monitor.sock"


def monitor_socket_path(directory: str, sandbox_id: str) -> str:
    """The shim's monitor socket for a sandbox: the only unix socket kataview opens."""
    if directory not in MONITOR_SOCKET_DIRS:
        raise ValueError(f"not a monitor socket directory: {directory!r}")
    return f"{directory}/{object_id(sandbox_id)}/{MONITOR_SOCKET_NAME}"


def is_monitor_socket(path: str) -> bool:
    """True only for a path :func:`monitor_socket_path` renders."""
    if not isinstance(path, str) or not path.endswith("/" + MONITOR_SOCKET_NAME):
        return False
    directory, _, rest = path.rpartition("/")[0].rpartition("/")
    try:
        return monitor_socket_path(directory, rest) == path
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Command:
    """Base of every allowlisted command. ``argv()`` is validated when the object is built."""

    def argv(self) -> tuple[str, ...]:
        raise NotImplementedError

    def render(self, *, sudo: bool = False) -> str:
        words = (*SUDO, *self.argv()) if sudo else self.argv()
        return " ".join(shlex.quote(word) for word in words)


@dataclass(frozen=True, slots=True)
class Ps(Command):
    def argv(self) -> tuple[str, ...]:
        return PS_ARGV


@dataclass(frozen=True, slots=True)
class Uname(Command):
    def argv(self) -> tuple[str, ...]:
        return ("uname", "-r")


@dataclass(frozen=True, slots=True)
class Nproc(Command):
    def argv(self) -> tuple[str, ...]:
        return ("nproc",)


@dataclass(frozen=True, slots=True)
class Id(Command):
    """``id -u``: the remote uid, to know whether root-only reads need ``sudo -n``."""

    def argv(self) -> tuple[str, ...]:
        return ("id", "-u")


@dataclass(frozen=True, slots=True)
class ReadFile(Command):
    path: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", readable_path(self.path))

    def argv(self) -> tuple[str, ...]:
        return ("cat", "--", self.path)


@dataclass(frozen=True, slots=True)
class CrictlPods(Command):
    """``crictl pods --name`` takes a regular expression: filter the JSON for an exact name."""

    name: str
    namespace: str

    def __post_init__(self) -> None:
        pod_name(self.name)
        namespace_name(self.namespace)

    def argv(self) -> tuple[str, ...]:
        return ("crictl", "pods", "--name", self.name, "--namespace", self.namespace, "-o", "json")


@dataclass(frozen=True, slots=True)
class CrictlInspectp(Command):
    pod_sandbox_id: str

    def __post_init__(self) -> None:
        object_id(self.pod_sandbox_id)

    def argv(self) -> tuple[str, ...]:
        return ("crictl", "inspectp", self.pod_sandbox_id)


@dataclass(frozen=True, slots=True)
class CtrContainerInfo(Command):
    container_id: str

    def __post_init__(self) -> None:
        object_id(self.container_id)

    def argv(self) -> tuple[str, ...]:
        # without a connect timeout ctr waits 10 s for a containerd that is not running
        return ("ctr", "--connect-timeout", "2s", "-n", "k8s.io", "c", "info", self.container_id)


# --- batching ---------------------------------------------------------------------------

_STDIN = " </dev/null"
_BEGIN_LINE = re.compile(r"@@kataview:begin:([0-9a-f]{16}):(\d+)@@")
_FIRST_LINE = re.compile(r"printf '%s\\n' '@@kataview:begin:([0-9a-f]{16}):0@@'")


@dataclass(frozen=True, slots=True)
class CommandResult:
    index: int
    stdout: str
    stderr: str
    exit_code: int | None  # None: the output stopped before this command finished
    note: str = ""  # e.g. "output cut at 8 MiB" (kataview.hosts.bounded)


def _frame(nonce: str, index: int, command_line: str) -> list[str]:
    """The five script lines around one command: markers on stdout and on stderr."""
    begin = f"'@@kataview:begin:{nonce}:{index}@@'"
    return [
        f"printf '%s\\n' {begin}",
        f"printf '%s\\n' {begin} >&2",
        command_line + _STDIN,
        f"printf '\\n@@kataview:end:{nonce}:{index}:%s@@\\n' \"$?\"",
        f"printf '\\n@@kataview:end:{nonce}:{index}@@\\n' >&2",
    ]


def batch(commands: Sequence[Command], *, sudo: bool | Sequence[bool] = False,
          nonce: str | None = None) -> str:
    """One shell script running ``commands`` in order, each framed by nonce markers.

    Markers go to stdout and stderr so both streams can be split. A failing command does
    not stop the rest (no ``set -e``); stdin is closed so nothing can wait for input.
    ``sudo`` is one flag for all commands or one flag per command.
    """
    nonce = nonce or secrets.token_hex(8)
    if not re.fullmatch(r"[0-9a-f]{16}", nonce):
        raise ValueError("nonce must be 16 lowercase hex characters")
    flags = [sudo] * len(commands) if isinstance(sudo, bool) else list(sudo)
    if len(flags) != len(commands):
        raise ValueError("one sudo flag per command")
    lines = []
    for index, (command, with_sudo) in enumerate(zip(commands, flags)):
        if not isinstance(command, Command):
            raise ValueError(f"not an allowlisted command: {command!r}")
        lines += _frame(nonce, index, command.render(sudo=bool(with_sudo)))
    return "\n".join(lines) + "\n"


def batched_command_lines(script: str) -> list[str] | None:
    """The command lines of a script exactly as :func:`batch` frames them, in order; None when
    ``script`` is not framed so (the lines themselves are not checked here: see allowlist)."""
    lines = script.split("\n")
    first = _FIRST_LINE.fullmatch(lines[0])
    if first is None or lines[-1] != "" or (len(lines) - 1) % 5:
        return None
    found = []
    for index in range((len(lines) - 1) // 5):
        given = lines[5 * index: 5 * index + 5]
        command_line = given[2].removesuffix(_STDIN)
        if given != _frame(first.group(1), index, command_line):
            return None
        found.append(command_line)
    return found


def split_batch(stdout: str, stderr: str = "") -> list[CommandResult]:
    """Cut a batch's output back into per-command results. Never raises.

    The nonce is taken from the first begin marker, which the script prints before any
    command runs; text after a missing end marker gives ``exit_code=None``.
    """
    first = _BEGIN_LINE.search(stdout)
    if first is None:
        return []
    nonce = first.group(1)
    outs = _frames(stdout, nonce, with_status=True)
    errs = {index: text for index, text, _ in _frames(stderr, nonce, with_status=False)}
    return [CommandResult(index, text, errs.get(index, ""), status) for index, text, status in outs]


def _frames(text: str, nonce: str, *, with_status: bool) -> list[tuple[int, str, int | None]]:
    begin = re.compile(rf"^@@kataview:begin:{nonce}:(\d+)@@\n", re.M)
    status = r":(\d+)" if with_status else ""
    frames = []
    starts = list(begin.finditer(text))
    for position, start in enumerate(starts):
        index = int(start.group(1))
        stop = starts[position + 1].start() if position + 1 < len(starts) else len(text)
        body = text[start.end():stop]
        end = re.search(rf"\n@@kataview:end:{nonce}:{index}{status}@@\n?\Z", body)
        if end is None:
            frames.append((index, body, None))
        else:
            code = int(end.group(1)) if with_status else None
            frames.append((index, body[: end.start()], code))
    return frames
