"""Reads from a node that stop at a size: a node (or whatever answers in its place) can send
200 MB of `ps` output or an endless monitor-socket answer, and kataview would hold all of it.

- `run_capped(conn, script, timeout)`: a command's stdout and stderr, each cut at
  MAX_OUTPUT bytes (the channel is closed then, the command's exit status is None), and a
  note "output cut at N MiB" when that happened;
- `read_capped(reader, limit)`: at most `limit` bytes from a stream, and whether it was cut;
- `http_get_capped(conn, socket, path)`: the body of an HTTP/1.0 GET on a unix socket on the
  node (a shim's monitor socket), refused past MAX_MONITOR bytes.
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


async def http_get_capped(conn: Any, socket_path: str, request_path: str) -> str:
    """The body of `GET request_path` on the node's unix socket; OSError for a status other
    than 200 or an answer longer than MAX_MONITOR."""
    reader, writer = await conn.open_unix_connection(socket_path)
    try:
        writer.write(f"GET {request_path} HTTP/1.0\r\nHost: kata\r\n\r\n".encode())
        writer.write_eof()
        data, cut = await read_capped(reader, MAX_MONITOR)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        raise OSError(f"HTTP status {head[:40]!r}")
    if cut:
        raise OSError(f"monitor socket answer longer than {MAX_MONITOR // 2**20} MiB: {cut_note(MAX_MONITOR)}")
    return body.decode("utf-8", "replace")
