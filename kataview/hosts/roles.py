"""Say which piece of a Kata installation a process is, and which sandbox it serves.

Roles: ``shim-v2`` (containerd-shim-kata-v2), ``runtime-v1-shim`` (Docker's containerd-shim
for io.containerd.runtime.v1.linux, Kata 1.x era), ``kata-shim`` / ``kata-proxy`` (Kata 1.x
helpers), ``hypervisor``, ``virtiofsd``, ``client`` (ctr, docker, sudo, conmon...), ``grep``
(the grep in a pasted ``ps | grep``), ``kthread`` and ``other``.

A sandbox id read from a line that was cut at the terminal width is only a prefix: it is
reported as ``sandbox_id_prefix`` and ``sandbox_id`` stays ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kataview.hosts.hypervisor import HypervisorKind, parse_cmdline
from kataview.hosts.ps import Process

_CLIENTS = frozenset(
    "ctr docker sudo conmon podman crictl kubectl nerdctl runc crun kata-runtime".split()
)
_GREPS = frozenset(("grep", "egrep", "fgrep"))
_V1_SHIMS = frozenset(("containerd-shim", "docker-containerd-shim"))
_SHARED_DIR = re.compile(r"/kata-containers/shared/sandboxes/([^/\s,]+)(/|$)")
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True, slots=True)
class ProcessRole:
    role: str
    kind: HypervisorKind | None = None
    sandbox_id: str | None = None
    sandbox_id_truncated: bool = False  # Kata's own cut (Firecracker ids are 32 chars)
    sandbox_id_prefix: str | None = None  # what a cut ps line still shows of the id
    container_id: str | None = None
    namespace: str | None = None
    address: str | None = None
    publish_binary: str | None = None
    runtime_root: str | None = None
    agent: str | None = None
    kata: bool | None = None  # runtime-v1-shim only: runs the Kata runtime (by runtime root)
    notes: tuple[str, ...] = ()


def classify(process: Process) -> ProcessRole:
    """Classify one process by its command line. Never raises."""
    argv = process.argv
    if not argv or not argv[0]:
        return ProcessRole("other")
    if process.command.startswith("[") and process.command.endswith("]"):
        return ProcessRole("kthread")
    name = argv[0].rsplit("/", 1)[-1]
    if name.startswith("containerd-shim-kata"):
        return _shim_v2(process)
    if name in _V1_SHIMS:
        return _runtime_v1_shim(process)
    if name == "kata-shim":
        return ProcessRole("kata-shim", agent=_value(argv, "-agent"),
                           container_id=_value(argv, "-container"))
    if name == "kata-proxy":
        return ProcessRole("kata-proxy", sandbox_id=_id_or_none(_value(argv, "-sandbox")))
    if name.startswith("virtiofsd"):
        return _virtiofsd(process)
    if name in _GREPS:
        return ProcessRole("grep")
    if name in _CLIENTS:
        return ProcessRole("client")
    parsed = parse_cmdline(argv, truncated=process.truncated)
    if parsed.kind is not None:
        return ProcessRole("hypervisor", kind=parsed.kind, sandbox_id=parsed.sandbox_id,
                           sandbox_id_truncated=parsed.sandbox_id_truncated, notes=parsed.notes)
    return ProcessRole("other")


def _value(argv: tuple[str, ...], option: str) -> str | None:
    """Value after ``option``; ``""`` for an empty argument, None when absent."""
    for i, arg in enumerate(argv[:-1]):
        if arg == option:
            return argv[i + 1]
    return None


def _id_or_none(value: str | None) -> str | None:
    return value if value and _SAFE_ID.fullmatch(value) else None


def _id_fields(value: str | None, cut: bool) -> dict[str, str | None]:
    """Sandbox id, or only its prefix when the line was cut right after it."""
    if cut:
        return {"sandbox_id": None, "sandbox_id_prefix": _id_or_none(value)}
    return {"sandbox_id": _id_or_none(value)}


def _shim_v2(process: Process) -> ProcessRole:
    argv = process.argv
    raw_id = _value(argv, "-id")
    id_is_last = len(argv) >= 2 and argv[-2] == "-id"
    return ProcessRole(
        "shim-v2",
        namespace=_value(argv, "-namespace"),
        address=_value(argv, "-address"),
        publish_binary=_value(argv, "-publish-binary"),
        **_id_fields(raw_id, process.truncated and id_is_last),
    )


def _runtime_v1_shim(process: Process) -> ProcessRole:
    workdir = _value(process.argv, "-workdir")
    runtime_root = _value(process.argv, "-runtime-root")
    # Docker names the root 'runtime-<runtime name>'; Kata 1.x was registered as kata-runtime.
    kata = None if runtime_root is None else "kata" in runtime_root.rsplit("/", 1)[-1]
    sandbox = workdir.rstrip("/").rsplit("/", 1)[-1] if workdir else None
    return ProcessRole("runtime-v1-shim", sandbox_id=_id_or_none(sandbox),
                       runtime_root=runtime_root, kata=kata)


def _virtiofsd(process: Process) -> ProcessRole:
    match = _SHARED_DIR.search(process.command)
    if match is None:
        return ProcessRole("virtiofsd")
    cut_here = process.truncated and match.group(2) == ""
    return ProcessRole("virtiofsd", **_id_fields(match.group(1), cut_here))
