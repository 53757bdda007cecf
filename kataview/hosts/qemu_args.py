"""QEMU argument helpers for :mod:`kataview.hosts.hypervisor`: pure functions on strings.

QEMU options are ``-option value`` pairs whose values are ``a,b=c`` lists (``,,`` escapes a
comma). Sizes without a suffix are MiB, as QEMU reads ``-m``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

SharedFs = Literal["virtio-fs", "9p", "none", "unknown"]

# QEMU options that take a value; anything else starting with '-' is a flag.
_QEMU_VALUE_OPTIONS = frozenset(
    "-name -uuid -machine -M -cpu -qmp -m -device -chardev -object -numa -kernel -initrd "
    "-append -pidfile -smp -netdev -fsdev -rtc -global -vga -bios -drive -serial -monitor "
    "-incoming -D -d -L -mon -accel -boot -display -msg -overcommit -sandbox -runas -k".split()
)
# Options seen glued to their value in damaged captures ('-devicepcie-root-port,...').
_GLUABLE_OPTIONS = ("-device", "-object", "-chardev", "-netdev")

_SIZE = re.compile(r"(\d+(?:\.\d+)?)([kKmMgGtTbB]?)")
_UNIT_TO_MIB = {"": 1.0, "m": 1.0, "g": 1024.0, "t": 1024.0 * 1024, "k": 1 / 1024, "b": 1 / 2**20}


def unglue(args: list[str], notes: list[str]) -> list[str]:
    """Split '-devicepcie-root-port,...' (a capture that lost a space) into option and value."""
    fixed: list[str] = []
    for arg in args:
        glued = next((o for o in _GLUABLE_OPTIONS if arg.startswith(o) and len(arg) > len(o)), None)
        if glued and arg not in _QEMU_VALUE_OPTIONS and not arg[len(glued)].isspace():
            notes.append(f"split glued token {arg[:len(glued) + 12]}...")
            fixed.extend((glued, arg[len(glued):]))
        else:
            fixed.append(arg)
    return fixed


def group_options(args: list[str]) -> tuple[dict[str, list[str]], set[str]]:
    """Group QEMU args into option -> values and a set of bare flags.

    ``-append`` gets special care: in a space-joined string its value (the kernel command
    line) is split into many tokens, which are glued back until the next ``-option``.
    """
    options: dict[str, list[str]] = {}
    flags: set[str] = set()
    i = 0
    while i < len(args):
        arg = args[i]
        key = "-" + arg.lstrip("-") if arg.startswith("-") else arg
        if key in _QEMU_VALUE_OPTIONS and i + 1 < len(args):
            j = i + 2
            if key == "-append":
                while j < len(args) and not args[j].startswith("-"):
                    j += 1
            options.setdefault(key, []).append(" ".join(args[i + 1:j]))
            i = j
            continue
        if arg.startswith("-"):
            flags.add(key)
        i += 1
    return options, flags


def split_qemu_opts(value: str) -> list[str]:
    """Split a QEMU ``a,b=c`` option string; ``,,`` is an escaped comma."""
    parts = value.replace(",,", "\0").split(",")
    return [part.replace("\0", ",") for part in parts]


def opts_dict(value: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for part in split_qemu_opts(value):
        key, _, val = part.partition("=")
        result.setdefault(key, val)
    return result


def size_to_mib(text: str, notes: list[str]) -> int | None:
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        notes.append(f"unreadable memory size {text!r}")
        return None
    mib = float(match.group(1)) * _UNIT_TO_MIB[match.group(2).lower()]
    if mib != int(mib):
        notes.append(f"memory size {text!r} is not a whole number of MiB")
        return None
    return int(mib)


def memory(value: str | None, notes: list[str]) -> tuple[int | None, int | None, int | None]:
    if value is None:
        return None, None, None
    parts = split_qemu_opts(value)
    opts = opts_dict(value)
    size = opts.get("size") if "size" in opts else (parts[0] if "=" not in parts[0] else None)
    memory = size_to_mib(size, notes) if size else None
    maxmem = size_to_mib(opts["maxmem"], notes) if opts.get("maxmem") else None
    slots = int(opts["slots"]) if opts.get("slots", "").isdigit() else None
    return memory, maxmem, slots


def smp(value: str | None) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    parts = split_qemu_opts(value)
    opts = opts_dict(value)
    boot_text = opts.get("cpus") or (parts[0] if parts[0].isdigit() else "")
    boot = int(boot_text) if boot_text.isdigit() else None
    maxcpus = opts.get("maxcpus", "")
    # QEMU's own rule, not a guess: without maxcpus= the maximum equals the boot count.
    return boot, int(maxcpus) if maxcpus.isdigit() else boot


def machine(value: str | None) -> str | None:
    if not value:
        return None
    first = split_qemu_opts(value)[0]
    if first.startswith("type="):
        return first[len("type="):] or None
    return None if "=" in first else first


def nvdimm_image(options: dict[str, list[str]]) -> str | None:
    """The rootfs image: mem-path of the memory-backend-file behind an nvdimm device."""
    nvdimm_backends = {
        opts_dict(device).get("memdev")
        for device in options.get("-device", [])
        if split_qemu_opts(device)[0] == "nvdimm"
    }
    for obj in options.get("-object", []):
        opts = opts_dict(obj)
        if split_qemu_opts(obj)[0] == "memory-backend-file" and opts.get("id") in nvdimm_backends:
            return opts.get("mem-path") or None
    return None


def shared_fs(options: dict[str, list[str]], *, complete: bool) -> SharedFs:
    drivers = {split_qemu_opts(device)[0] for device in options.get("-device", [])}
    drivers |= {opts_dict(device).get("driver", "") for device in options.get("-device", [])}
    if any(d.startswith("vhost-user-fs") for d in drivers):
        return "virtio-fs"
    if any(d.startswith("virtio-9p") for d in drivers) or "-fsdev" in options:
        return "9p"
    return "none" if complete else "unknown"


def strip_socket_flags(value: str) -> str:
    flags = {"server", "nowait", "server=on", "wait=off", "server=off", "wait=on"}
    return ",".join(p for p in split_qemu_opts(value) if p not in flags)


def socket_syntax(values: Sequence[str]) -> str | None:
    for value in values:
        parts = split_qemu_opts(value)
        if "server=on" in parts:
            return "server=on,wait=off"
        if "server" in parts:
            return "server,nowait"
    return None
