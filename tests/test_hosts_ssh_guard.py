"""The SSH read-only guard: nothing is_allowed rejects is ever sent, whatever its spelling.

The connection under the guard is a recorder standing in for asyncssh's: a refused
command line must leave it untouched (not one call), an allowed one must reach it as is.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kataview.hosts import commands as cmd
from kataview.hosts.allowlist import is_allowed
from kataview.hosts.errors import CommandRefused, SudoMissing, SudoPasswordRequired
from kataview.hosts.ssh import NodeConnection, SSHOptions

SID = "a" * 64


class FakeStream:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def read(self, size: int = -1) -> bytes:
        size = len(self.data) if size < 0 else size
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


class FakeProcess:
    """What asyncssh's create_process gives: two streams and, once closed, the exit status."""

    def __init__(self, stdout, stderr, exit_status) -> None:
        as_bytes = lambda text: text.encode() if isinstance(text, str) else text  # noqa: E731
        self.stdout, self.stderr = FakeStream(as_bytes(stdout)), FakeStream(as_bytes(stderr))
        self.exit_status, self.closed = exit_status, False

    async def wait_closed(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True


class RecordingConnection:
    """Records what would have been sent; answers like a node that ran it."""

    def __init__(self, stderr: str = "") -> None:
        self.sent: list[str] = []
        self.sockets: list[str] = []
        self.stderr = stderr

    async def run(self, command, **kwargs):
        self.sent.append(command)
        results = []
        if "@@kataview:begin:" in command:
            nonce = command.split("@@kataview:begin:")[1][:16]
            count = command.count(" </dev/null")
            out = "".join(f"@@kataview:begin:{nonce}:{i}@@\n\n@@kataview:end:{nonce}:{i}:1@@\n"
                          for i in range(count))
            err = "".join(f"@@kataview:begin:{nonce}:{i}@@\n{self.stderr}\n@@kataview:end:{nonce}:{i}@@\n"
                          for i in range(count))
            return SimpleNamespace(stdout=out, stderr=err, exit_status=0)
        return SimpleNamespace(stdout="0\n", stderr="", exit_status=0, results=results)

    async def create_process(self, command, **kwargs):
        done = await self.run(command)
        return FakeProcess(done.stdout, done.stderr, done.exit_status)

    async def open_unix_connection(self, path):
        self.sockets.append(path)
        raise OSError("not in this test")

    def is_closed(self) -> bool:
        return False


def guarded(stderr: str = "", uid: int = 0) -> tuple[NodeConnection, RecordingConnection]:
    raw = RecordingConnection(stderr)
    connection = NodeConnection("node-1", "10.0.0.1", raw, SSHOptions(monitor_timeout=0.5))
    connection.uid = uid
    return connection, raw


ALLOWED = [
    cmd.Ps().render(), cmd.Id().render(), cmd.CrictlPods("nginx", "default").render(sudo=True),
    cmd.ReadFile(f"/run/vc/sbs/{SID}/persist.json").render(),
    cmd.batch([cmd.Ps(), cmd.ReadFile("/proc/12/cmdline")], sudo=[False, True]),
]
near_misses = st.sampled_from(ALLOWED).flatmap(lambda line: st.one_of(
    st.just(line + " ; reboot"), st.just(line.replace("ps", "ps ")), st.just(line + "\n"),
    st.just(line.replace("cat", "sudo cat")), st.just("sudo " + line), st.just(line + "&"),
    st.just(line.replace(" </dev/null", "")), st.just(line.replace("'%s\\n'", "'%s\\n' $(id)")),
    st.text(max_size=3).map(lambda junk: line + junk),
))
nasty = st.sampled_from(["rm -rf /", "reboot", "cat /etc/shadow", "sh -c ps", "ps; reboot",
                         "kill 1", "crictl rmp -a", "ctr -n k8s.io c rm x", "cat -- /proc/1/environ",
                         "cat -- /run/vc/../../etc/shadow", "echo hi > /etc/motd"])
command_lines = st.one_of(st.text(), near_misses, nasty)


@settings(max_examples=500, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=command_lines)
@example(line="ps -ww -eo pid=,ppid=,rss=,pcpu=,etimes=,args= ; reboot")
@example(line="sudo -n sh -c reboot")
def test_refused_lines_are_never_sent(line: str) -> None:
    connection, raw = guarded()
    if is_allowed(line):
        asyncio.run(connection.run_script(line))
        assert raw.sent == [line]
        return
    with pytest.raises(CommandRefused) as caught:
        asyncio.run(connection.run_script(line))
    assert raw.sent == [], "a refused command line reached the connection"
    assert "read-only allowlist" in str(caught.value) and caught.value.node == "node-1"


@pytest.mark.parametrize("line", ALLOWED)
async def test_allowed_lines_are_sent_unchanged(line: str) -> None:
    connection, raw = guarded()
    await connection.run_script(line)
    assert raw.sent == [line]


@settings(max_examples=300)
@given(path=st.one_of(st.text(), st.sampled_from([
    f"/run/vc/sbs/{SID}/qmp.sock", f"/run/vc/vm/{SID}/qmp.sock", "/run/containerd/containerd.sock",
    f"/run/vc/sbs/{SID}/../../../run/containerd/containerd.sock", "/var/run/docker.sock",
    f"/run/vc/sbs/{SID}/shim-monitor.sock/..", f"/run/kata//{SID}/shim-monitor.sock"])))
def test_only_monitor_sockets_are_opened(path: str) -> None:
    connection, raw = guarded()
    if cmd.is_monitor_socket(path):
        return
    with pytest.raises(CommandRefused):
        asyncio.run(connection.read_monitor(path))
    assert raw.sockets == []


async def test_the_monitor_sockets_kataview_uses_are_allowed() -> None:
    for directory in cmd.MONITOR_SOCKET_DIRS:
        assert cmd.is_monitor_socket(cmd.monitor_socket_path(directory, SID))
    connection, raw = guarded()
    with pytest.raises(OSError):
        await connection.read_monitor(f"/run/kata/{SID}/shim-monitor.sock")
    assert raw.sockets == [f"/run/kata/{SID}/shim-monitor.sock"]


async def test_root_commands_use_sudo_only_when_not_root() -> None:
    commands = [cmd.Ps(), cmd.CrictlPods("p", "ns")]
    as_root, raw_root = guarded(uid=0)
    await as_root.run(commands, [False, True])
    assert "sudo" not in raw_root.sent[0]
    as_user, raw_user = guarded(uid=1000)
    await as_user.run(commands, [False, True])
    assert "\nsudo -n crictl pods" in raw_user.sent[0] and "sudo -n ps" not in raw_user.sent[0]


@pytest.mark.parametrize("stderr, error", [
    ("sudo: a password is required", SudoPasswordRequired),
    ("sh: 1: sudo: not found", SudoMissing),
])
async def test_sudo_problems_are_one_line(stderr: str, error: type) -> None:
    connection, _ = guarded(stderr=stderr, uid=1000)
    with pytest.raises(error) as caught:
        await connection.run([cmd.CrictlPods("p", "ns")], True)
    assert "\n" not in str(caught.value)
    if error is SudoPasswordRequired:
        assert str(caught.value) == ("sudo on node-1 needs a password; allow NOPASSWD for the "
                                     "read-only commands or connect as root")
