"""Reads from a node that stop at a size: a node (or whatever answers in its place) can send
200 MB of `ps` output or an endless monitor-socket answer, and kataview would hold all of it.

- `run_capped(conn, script, timeout)`: a command's stdout and stderr, each cut at
  MAX_OUTPUT bytes (the channel is closed then, the command's exit status is None), and a
  note "output cut at N MiB" when that happened;
- `read_capped(reader, limit)`: at most `limit` bytes from a stream, and whether it was cut.
"""

from __future__ import annotations

import asyncio
from typing import Any

MAX_OUTPUT = 8 * 2**20  # a 5,000-process `ps -ww` with long Kata command lines is ~10 MiB less
MAX_MONITOR = 4 * 2**20  # a shim's /metrics page is a few KiB; kata-monitor's a few hundred
CHUNK = 1 << 16


def cut_note(limit: int) -> str:
    return f"output cut at {limit / 2**20:g} MiB"


async def read_capped(reader: Any, limit: int) -> tuple[bytes, bool]:
    """Up to limit bytes from reader (read(n) -> bytes or str, b''/'' at the end)."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = await reader.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(parts), False
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", "surrogateescape")
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(parts)[:limit], True


async def run_capped(conn: Any, script: str, timeout: float | None,
                     limit: int = MAX_OUTPUT) -> tuple[bytes, bytes, int | None, str]:
    """(stdout, stderr, exit status, note) of script run over the asyncssh connection conn;
    raises asyncio.TimeoutError after timeout seconds."""
    process = await conn.create_process(script, encoding=None)
    try:
        async with asyncio.timeout(timeout):
            (out, out_cut), (err, err_cut) = await asyncio.gather(
                read_capped(process.stdout, limit), read_capped(process.stderr, limit))
            if out_cut or err_cut:
                process.close()  # the rest is not read: the command may still be writing
                return out, err, None, cut_note(limit)
            await process.wait_closed()
            return out, err, process.exit_status, ""
    finally:
        process.close()
