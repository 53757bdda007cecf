"""The read-only guard: which command lines may be sent to a node.

A line passes only if it is *exactly* what a builder of kataview.hosts.commands or
kataview.hosts.preflight_commands renders for a valid command (optionally with ``sudo -n``),
or a script :func:`kataview.hosts.commands.batch` made of such lines, so nothing outside the
allowlist can pass, however it is spelled.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from kataview.hosts.commands import (
    SUDO,
    Command,
    CrictlInspectp,
    CrictlPods,
    CtrContainerInfo,
    Id,
    Nproc,
    Ps,
    ReadFile,
    Uname,
    batched_command_lines,
)
from kataview.hosts.preflight_commands import preflight_commands


def command_from_argv(argv: Sequence[str]) -> Command:
    """The builder that renders exactly ``argv`` (without sudo); ``ValueError`` otherwise."""
    words = tuple(argv)
    fixed = {Ps().argv(): Ps(), Uname().argv(): Uname(), Nproc().argv(): Nproc(), Id().argv(): Id()}
    if words in fixed:
        return fixed[words]
    preflight = preflight_commands()
    if words in preflight:
        return preflight[words]
    match words:
        case ("cat", "--", path):
            command: Command = ReadFile(path)
        case ("crictl", "pods", "--name", name, "--namespace", namespace, "-o", "json"):
            command = CrictlPods(name, namespace)
        case ("crictl", "inspectp", pod_id):
            command = CrictlInspectp(pod_id)
        case ("ctr", "--connect-timeout", "2s", "-n", "k8s.io", "c", "info", container_id):
            command = CtrContainerInfo(container_id)
        case _:
            raise ValueError(f"not an allowlisted command: {words!r}")
    if command.argv() != words:  # e.g. a path that only normalises to an allowed one
        raise ValueError(f"not in canonical form: {words!r}")
    return command


def is_allowed(command_line: str) -> bool:
    """True only for a rendered allowlisted command or a script made by ``batch``."""
    if not isinstance(command_line, str):
        return False
    if "\n" in command_line:
        lines = batched_command_lines(command_line)
        return lines is not None and all(_is_allowed_single(line) for line in lines)
    return _is_allowed_single(command_line)


def _is_allowed_single(command_line: str) -> bool:
    try:
        words = shlex.split(command_line)
    except ValueError:
        return False
    sudo = tuple(words[:2]) == SUDO
    try:
        command = command_from_argv(words[2:] if sudo else words)
    except ValueError:
        return False
    # Byte-for-byte equality with our own rendering: no other spelling can slip through.
    return command.render(sudo=sudo) == command_line
