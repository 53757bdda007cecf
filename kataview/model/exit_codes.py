"""Every exit code of every kataview command, in one table (the README's and each --help's).

It lives in model/ because more than one layer returns these codes (the commands in cli/,
the setup library's write path in setup/config_write, `kataview demo --serve` in demo/) and
every layer may import model: no other module spells an exit code. Conventions followed: 0 done;
1 "the command worked and the answer is not clean" (as grep, diff and linters do for
findings); 2 a bad command line (argparse's own code); 128+N ended by signal N. Every other
outcome a script may want to tell apart has a code of its own.
"""

from __future__ import annotations

import textwrap
from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    CONFLICT = 3
    CONFIG = 4
    UNREACHABLE = 5
    API_ERROR = 6
    NOT_FOUND = 7
    NODE_FAILED = 8
    READ_ONLY = 9
    WRITE_FAILED = 10
    FAILED = 11
    HANGUP = 129
    INTERRUPTED = 130
    PIPE_CLOSED = 141


MEANING: dict[Exit, str] = {
    Exit.OK: "done (report: nothing at or above --fail-on; setup: done, already configured or dry run)",
    Exit.FINDINGS: "report --fail-on: a finding at or above the threshold (warning: an unreadable resource too)",
    Exit.USAGE: "bad command line: unknown flag, bad value, malformed NAMESPACE/POD",
    Exit.CONFLICT: "setup: the handler exists with other settings; nothing written (--force changes it)",
    Exit.CONFIG: "bad input file: kubeconfig (missing, unparsable, unknown context), kataview config, "
                 "or the runtime config setup was given; nothing done",
    Exit.UNREACHABLE: "the API server could not be reached (connect, TLS, timeout)",
    Exit.API_ERROR: "the API server answered with an error (credentials refused, 5xx, bad selector)",
    Exit.NOT_FOUND: "vm: the pod (or its node) is not in the cluster, or not scheduled yet",
    Exit.NODE_FAILED: "vm: the node could not be read over SSH (unreachable, host key, sudo) or runs no VM for the pod",
    Exit.READ_ONLY: "refused by --read-only (setup containerd|crio without --dry-run)",
    Exit.WRITE_FAILED: "setup: writing failed; the original file is intact",
    Exit.FAILED: "any other failure (e.g. the demo cluster could not start)",
    Exit.HANGUP: "the dashboard's terminal closed (SIGHUP)",
    Exit.INTERRUPTED: "interrupted (Ctrl-C)",
    Exit.PIPE_CLOSED: "the reader of the output went away (`| head`)",
}

# Which codes each command can return (its --help lists these).
COMMAND_CODES: dict[str, tuple[Exit, ...]] = {
    "kataview": (Exit.OK, Exit.USAGE, Exit.CONFIG, Exit.FAILED, Exit.HANGUP, Exit.INTERRUPTED),
    "report": (Exit.OK, Exit.FINDINGS, Exit.USAGE, Exit.CONFIG, Exit.UNREACHABLE, Exit.API_ERROR,
               Exit.INTERRUPTED, Exit.PIPE_CLOSED),
    "vm": (Exit.OK, Exit.USAGE, Exit.CONFIG, Exit.UNREACHABLE, Exit.API_ERROR, Exit.NOT_FOUND,
           Exit.NODE_FAILED, Exit.INTERRUPTED, Exit.PIPE_CLOSED),
    "setup": (Exit.OK, Exit.USAGE, Exit.CONFLICT, Exit.CONFIG, Exit.READ_ONLY, Exit.WRITE_FAILED,
              Exit.FAILED, Exit.INTERRUPTED),
    "demo": (Exit.OK, Exit.USAGE, Exit.FAILED, Exit.HANGUP, Exit.INTERRUPTED),
}


def epilog(command: str | None = None) -> str:
    """The exit-code lines for a --help epilogue: one command's codes, or (None) all of them."""
    codes = COMMAND_CODES[command] if command else tuple(Exit)
    lines = [textwrap.fill(MEANING[code], width=79, initial_indent=f"  {int(code):<4} ",
                           subsequent_indent=" " * 7) for code in codes]
    return "exit codes:\n" + "\n".join(lines)
