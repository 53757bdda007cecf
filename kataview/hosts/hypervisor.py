"""Parse the command line of a Kata VMM process into a frozen record.

Input is what the node shows us: an argv list (``/proc/<pid>/cmdline`` split on NUL) or
one string (``ps`` output, a NUL-separated cmdline blob, a log line already unwrapped by
:func:`cmdline_from_kata_log`). Strings are split on single spaces, never shell-like:
``ps`` and ``/proc`` join argv with plain spaces and no quoting, so a shell-like split
would eat the literal double quotes that Kata 1.x/2.x osbuilder put into initrd paths
(``.../"centos"-kata-...initrd``) and would break on them.

Rule of the record: a value that the command line does not show is ``None``; nothing is
filled in from defaults or guessed. ``notes`` explains anything unusual.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from kataview.hosts import qemu_args
from kataview.hosts.qemu_args import SharedFs, opts_dict, split_qemu_opts

HypervisorKind = Literal["qemu", "cloud-hypervisor", "firecracker", "dragonball"]

# Kata cuts the Firecracker sandbox id to this many characters (truncateID() in fc.go).
FIRECRACKER_ID_LIMIT = 32

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_VM_DIR = re.compile(r"(\S*?/vc/(?:vm|sbs)/([^/,\s]+))(?:/|$)")
_FIRECRACKER_DIR = re.compile(r"/vc/firecracker/([^/\s]+)/")


@dataclass(frozen=True, slots=True)
class HypervisorCmdline:
    """What one VMM (or Kata shim) command line says about its VM."""

    kind: HypervisorKind | None
    binary: str | None
    sandbox_id: str | None
    sandbox_id_truncated: bool
    memory_mib: int | None
    maxmem_mib: int | None
    memory_slots: int | None
    vcpus_boot: int | None
    vcpus_max: int | None
    kernel: str | None
    image: str | None
    initrd: str | None
    shared_fs: SharedFs
    machine: str | None
    qmp: str | None
    socket_syntax: str | None
    vm_dir: str | None
    api_socket: str | None
    config_file: str | None
    jailer: bool | None
    daemonize: bool | None
    truncated: bool
    is_kata_shim: bool
    notes: tuple[str, ...] = ()


def parse_cmdline(argv: Sequence[str] | str, *, truncated: bool = False) -> HypervisorCmdline:
    """Parse a VMM command line. Never raises; unknown programs give ``kind=None``.

    ``truncated`` says the capture was cut (a width-limited ``ps`` line, a length-limited
    log): the last token is then dropped as possibly partial.
    """
    args = split_argv(argv) if isinstance(argv, str) else [str(a) for a in argv]
    notes: list[str] = []
    if truncated and len(args) > 1:
        notes.append(f"command line cut; dropped the partial last token {args[-1]!r}")
        args = args[:-1]
    if not args:
        return _empty(None, truncated, ("empty command line",))
    binary, rest = args[0], args[1:]
    name = binary.rsplit("/", 1)[-1]
    if name.startswith("qemu"):
        return _parse_qemu(binary, rest, truncated, notes)
    if name.startswith("cloud-hypervisor"):
        return _parse_cloud_hypervisor(binary, rest, truncated, notes)
    if name in ("firecracker", "jailer"):
        return _parse_firecracker(binary, rest, truncated, notes, jailer=name == "jailer")
    if name.startswith("containerd-shim-kata"):
        return _parse_kata_shim(binary, rest, truncated, notes)
    return _empty(binary, truncated, (*notes, f"{name!r} is not a known VMM"))


def split_argv(text: str) -> list[str]:
    """Split a command line string the way ``ps``/``/proc`` joined it (see module doc)."""
    if "\0" in text:
        return [part for part in text.split("\0") if part]
    return [part for part in text.strip("\r\n").split(" ") if part]


def cmdline_from_kata_log(line: str) -> tuple[str, bool] | None:
    """Pull the QEMU command line out of a Kata runtime log line.

    Kata logs ``msg="launching <binary> with: [<args>]"`` (Go ``%v`` of a []string inside
    a logfmt-quoted value). Returns ``(command_line, truncated)``, truncated when the
    closing ``]`` is missing, or ``None`` when the line has no launch message.
    """
    match = re.search(r'launching (\S+) with: \[', line)
    if match is None:
        return None
    body = line[match.end():].rstrip("\r\n")
    end = body.find(']"')
    if end < 0 and body.endswith("]"):
        end = len(body) - 1
    complete = end >= 0
    if complete:
        body = body[:end]
    body = body.replace('\\"', '"')
    return f"{match.group(1)} {body}", not complete


def vmm_in_shim(shim: HypervisorCmdline, separate_vmm_found: bool) -> HypervisorCmdline:
    """Name the VMM of a Kata shim once discovery knows there is no separate VMM process.

    runtime-rs with Dragonball runs the VMM inside ``containerd-shim-kata-v2``; the shim's
    command line is identical to a Go or runtime-rs shim that drives QEMU/CLH/Firecracker,
    so only the absence of a VMM process with the same sandbox id tells them apart.
    """
    if not shim.is_kata_shim or separate_vmm_found:
        return shim
    note = "no separate VMM process for this sandbox: the VMM runs inside the shim (Dragonball)"
    return replace(shim, kind="dragonball", notes=(*shim.notes, note))


# --- QEMU -------------------------------------------------------------------------------


def _parse_qemu(binary: str, rest: list[str], truncated: bool, notes: list[str]) -> HypervisorCmdline:
    options, flags = qemu_args.group_options(qemu_args.unglue(rest, notes))
    sandbox_id = _qemu_sandbox_id(_first(options, "-name"), notes)
    memory, maxmem, slots = qemu_args.memory(_first(options, "-m"), notes)
    vcpus_boot, vcpus_max = qemu_args.smp(_first(options, "-smp"))
    saw_kernel = "-kernel" in options
    if not truncated and not saw_kernel:
        # Kata always passes -kernel, after every device: without it the capture is partial.
        truncated = True
        notes.append("no -kernel: the command line looks incomplete")
    qmp = _first(options, "-qmp")
    everything = [v for values in options.values() for v in values]
    return HypervisorCmdline(
        kind="qemu",
        binary=binary,
        sandbox_id=sandbox_id,
        sandbox_id_truncated=False,
        memory_mib=memory,
        maxmem_mib=maxmem,
        memory_slots=slots,
        vcpus_boot=vcpus_boot,
        vcpus_max=vcpus_max,
        kernel=_first(options, "-kernel"),
        image=qemu_args.nvdimm_image(options),
        initrd=_first(options, "-initrd"),
        shared_fs=qemu_args.shared_fs(options, complete=not truncated),
        machine=qemu_args.machine(_first(options, "-machine") or _first(options, "-M")),
        qmp=qemu_args.strip_socket_flags(qmp) if qmp else None,
        socket_syntax=qemu_args.socket_syntax([qmp or "", *options.get("-chardev", [])]),
        vm_dir=_vm_dir(everything, sandbox_id),
        api_socket=None,
        config_file=None,
        jailer=None,
        daemonize=True if "-daemonize" in flags else (None if truncated else False),
        truncated=truncated,
        is_kata_shim=False,
        notes=tuple(notes),
    )


def _qemu_sandbox_id(name: str | None, notes: list[str]) -> str | None:
    if name is None:
        return None
    value = split_qemu_opts(name)[0]  # drops ',debug-threads=on'
    if value.startswith("guest="):
        value = value[len("guest="):]
    if not value.startswith("sandbox-"):
        notes.append(f"-name {value!r} has no 'sandbox-' prefix")
        return None
    return _checked_id(value[len("sandbox-"):], notes)


def _checked_id(value: str, notes: list[str]) -> str | None:
    if _SAFE_ID.fullmatch(value):
        return value
    notes.append(f"{value!r} is not a sandbox id (placeholder or damaged capture)")
    return None


def _first(options: dict[str, list[str]], key: str) -> str | None:
    values = options.get(key)
    return values[0] if values else None


def _vm_dir(values: Sequence[str], sandbox_id: str | None) -> str | None:
    for value in values:
        for part in split_qemu_opts(value):
            path = part.partition("=")[2] if "=" in part and not part.startswith("/") else part
            path = path.removeprefix("unix:")
            match = _VM_DIR.search(path)
            if match and (sandbox_id is None or match.group(2) == sandbox_id):
                return match.group(1)
    return None



# --- Cloud Hypervisor, Firecracker, the Kata shim ---------------------------------------


def _option_value(args: list[str], *names: str) -> str | None:
    """Value of ``--name value`` or ``--name=value`` (first match wins)."""
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "="):
                return arg[len(name) + 1:]
    return None


def _parse_cloud_hypervisor(
    binary: str, rest: list[str], truncated: bool, notes: list[str]
) -> HypervisorCmdline:
    api = _option_value(rest, "--api-socket")
    if api is not None:
        api = opts_dict(api).get("path", api) if api.startswith(("path=", "fd=")) else api
        if api.startswith("fd="):
            api = None
    sandbox_id, vm_dir = None, None
    match = _VM_DIR.search(api or "")
    if match:
        vm_dir, sandbox_id = match.group(1), _checked_id(match.group(2), notes)
    notes.append("Kata configures Cloud Hypervisor over its REST API: size, kernel and "
                 "shared fs are not on the command line")
    return _empty(binary, truncated, tuple(notes), kind="cloud-hypervisor", sandbox_id=sandbox_id,
                  vm_dir=vm_dir, api_socket=api, daemonize=False)


def _parse_firecracker(
    binary: str, rest: list[str], truncated: bool, notes: list[str], *, jailer: bool
) -> HypervisorCmdline:
    api = _option_value(rest, "--api-sock")
    config = _option_value(rest, "--config-file")
    directory = _option_value(rest, "--id") if jailer else None
    if directory is None:
        match = next(filter(None, (_FIRECRACKER_DIR.search(v or "") for v in (api, config))), None)
        directory = match.group(1) if match else None
    sandbox_id = _checked_id(directory, notes) if directory else None
    cut = sandbox_id is not None and len(sandbox_id) == FIRECRACKER_ID_LIMIT
    if cut:
        notes.append("Kata cuts Firecracker ids to 32 characters: match sandboxes by prefix")
    return _empty(binary, truncated, tuple(notes), kind="firecracker", sandbox_id=sandbox_id,
                  sandbox_id_truncated=cut, api_socket=api, config_file=config, jailer=jailer,
                  shared_fs="none", daemonize=False)


def _parse_kata_shim(
    binary: str, rest: list[str], truncated: bool, notes: list[str]
) -> HypervisorCmdline:
    raw_id = _option_value(rest, "-id")
    sandbox_id = _checked_id(raw_id, notes) if raw_id else None
    notes.append("Kata shim: with runtime-rs + Dragonball the VMM runs inside this process; "
                 "see vmm_in_shim()")
    return _empty(binary, truncated, tuple(notes), sandbox_id=sandbox_id, is_kata_shim=True)


def _empty(binary: str | None, truncated: bool, notes: tuple[str, ...], **known) -> HypervisorCmdline:
    fields = dict(
        kind=None, binary=binary, sandbox_id=None, sandbox_id_truncated=False, memory_mib=None,
        maxmem_mib=None, memory_slots=None, vcpus_boot=None, vcpus_max=None, kernel=None,
        image=None, initrd=None, shared_fs="unknown", machine=None, qmp=None,
        socket_syntax=None, vm_dir=None, api_socket=None, config_file=None, jailer=None,
        daemonize=None, truncated=truncated, is_kata_shim=False, notes=notes,
    )
    fields.update(known)
    return HypervisorCmdline(**fields)
