"""SSH reads are bounded (issue 13, finding 10): a command's output is cut at MAX_OUTPUT with
a note saying so, a monitor socket's answer at MAX_MONITOR; neither is read to the end."""

from __future__ import annotations

from kataview.hosts import commands as cmd
from kataview.hosts.bounded import MAX_MONITOR, MAX_OUTPUT, read_capped, run_capped
from kataview.hosts.ssh import NodeConnection, SSHOptions


class EndlessStream:
    """A node that never stops writing; counts what was read from it."""

    def __init__(self, line: bytes = b"x" * 1023 + b"\n") -> None:
        self.line, self.read_bytes = line, 0

    async def read(self, size: int = -1) -> bytes:
        chunk = (self.line * (size // len(self.line) + 1))[:size]
        self.read_bytes += len(chunk)
        return chunk


class EndlessProcess:
    def __init__(self, prefix: bytes = b"") -> None:
        self.stdout, self.stderr = EndlessStream(), EndlessStream()
        self.prefix, self.exit_status, self.closed = prefix, None, False

    async def wait_closed(self) -> None:
        raise AssertionError("waited for a command that never ends")

    def close(self) -> None:
        self.closed = True


class EndlessConnection:
    def __init__(self) -> None:
        self.process = EndlessProcess()

    async def create_process(self, script, **kwargs):
        return self.process

    def is_closed(self) -> bool:
        return False


async def test_command_output_is_cut_with_a_note():
    conn = EndlessConnection()
    out, err, status, note = await run_capped(conn, "ps -ww", 5)
    assert len(out) == MAX_OUTPUT and status is None and note == "output cut at 8 MiB"
    assert conn.process.stdout.read_bytes <= MAX_OUTPUT + 2**16 and conn.process.closed


async def test_a_cut_batch_says_so_in_its_last_result():
    conn = EndlessConnection()
    node = NodeConnection("n1", "127.0.0.1", conn, SSHOptions())
    node.uid = 0
    results = []
    script = cmd.batch([cmd.Ps()], sudo=[False])
    nonce = script.split("@@kataview:begin:")[1][:16]
    conn.process.stdout = EndlessStream(f"@@kataview:begin:{nonce}:0@@\n".encode() + b"y" * 1000)
    conn.process.stdout.line = f"@@kataview:begin:{nonce}:0@@\n".encode() + b"1 0 2 0.0 3 qemu\n" * 60
    results = await node.run([cmd.Ps()])
    assert results and results[-1].note == "output cut at 8 MiB" and results[-1].exit_code is None
    assert node.last_note == "output cut at 8 MiB"


async def test_monitor_socket_reads_are_bounded():
    stream = EndlessStream()
    data, cut = await read_capped(stream, MAX_MONITOR)
    assert cut and len(data) == MAX_MONITOR and stream.read_bytes <= MAX_MONITOR + 2**16


class EndlessSocket:
    def __init__(self) -> None:
        self.reader = EndlessStream(b"HTTP/1.0 200 OK\r\n\r\n" + b"m 1\n" * 100)

    async def open_unix_connection(self, path):
        class Writer:
            def write(self, data): pass
            def write_eof(self): pass
            def close(self): pass
        return self.reader, Writer()


async def test_an_endless_monitor_answer_is_refused_after_the_cap():
    import pytest

    from kataview.hosts.bounded import http_get_capped

    socket = EndlessSocket()
    with pytest.raises(OSError, match="output cut at 4 MiB"):
        await http_get_capped(socket, "/run/vc/sbs/x/shim-monitor.sock", "/metrics")
    assert socket.reader.read_bytes <= MAX_MONITOR + 2**16
