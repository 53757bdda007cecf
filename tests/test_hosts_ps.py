"""kataview.hosts.ps: kataview's own format on a real ps, plus forms the corpus lacks."""

from __future__ import annotations

import os
import shlex
import subprocess

from hypothesis import given
from hypothesis import strategies as st

from conftest import require_part
from kataview.hosts.ps import PS_ARGV, PS_COMMAND, parse_ps
from kataview.hosts.roles import classify


def test_ps_command_constant_matches_argv():
    assert shlex.split(PS_COMMAND) == list(PS_ARGV)


def test_own_format_on_the_real_ps():
    ps = require_part("ps")
    output = subprocess.run([ps, *PS_ARGV[1:]], capture_output=True, text=True, check=True).stdout
    processes = {p.pid: p for p in parse_ps(output)}
    me = processes[os.getpid()]
    assert me.format == "own"
    assert me.ppid == os.getppid()
    assert me.rss_kib and me.rss_kib > 0
    assert me.etime_seconds is not None and me.cpu_percent is not None
    with open(f"/proc/{os.getpid()}/cmdline", "rb") as cmdline:
        real_argv = [a.decode() for a in cmdline.read().split(b"\0") if a]
    if all(" " not in a and a for a in real_argv):  # space-joined argv is ambiguous otherwise
        assert list(me.argv) == real_argv
    assert me.user is None and me.truncated is False


def test_own_format_sample():
    text = "    1     0 12000  0.0  3600 /sbin/init splash\n  4242     1 351472 12.5   61 /usr/bin/qemu-system-x86_64 -name sandbox-abc\n"
    init, qemu = parse_ps(text)
    assert (init.pid, init.ppid, init.rss_kib, init.etime_seconds) == (1, 0, 12000, 3600)
    assert qemu.cpu_percent == 12.5 and qemu.argv[:2] == ("/usr/bin/qemu-system-x86_64", "-name")


def test_ps_ef_forest_with_header_and_prompt():
    text = (
        "user@node:~$ ps -ef --forest\n"
        "UID          PID    PPID  C STIME TTY          TIME CMD\n"
        "root        2001       1  0 10:49 ?        00:00:00 /opt/kata/bin/containerd-shim-kata-v2 -namespace k8s.io -address /run/containerd/containerd.sock -publish-binary /usr/bin/containerd -id 55e043c4\n"
        "root        2002    2001  0 10:49 ?        00:00:00  \\_ /opt/kata/libexec/virtiofsd --fd=3 -o source=/run/kata-containers/shared/sandboxes/55e043c4/shared\n"
        "root        2003    2002  0 10:49 ?        00:00:00  |   \\_ /opt/kata/libexec/virtiofsd --fd=3\n"
        "root        2004    2001  1 10:49 ?        00:00:07  \\_ /opt/kata/bin/qemu-system-x86_64 -name sandbox-55e043c4\n"
    )
    shim, fs1, fs2, qemu = parse_ps(text)
    assert [p.format for p in (shim, fs1, fs2, qemu)] == ["ef"] * 4
    assert fs1.argv[0] == "/opt/kata/libexec/virtiofsd"
    assert (fs1.tree_parent, fs2.tree_parent, qemu.tree_parent) == (2001, 2002, 2001)
    assert (fs2.tree_depth, fs2.ppid) == (2, 2002)
    assert classify(fs1).sandbox_id == "55e043c4"
    assert classify(qemu).role == "hypervisor"


def test_empty_argument_survives():
    text = "root 33678 1 0 Nov09 ? 00:00:10 /usr/bin/containerd-shim-kata-v2 -namespace default -address  -publish-binary /usr/bin/crio -id abc\n"
    (shim,) = parse_ps(text)
    assert classify(shim).address == ""
    assert classify(shim).publish_binary == "/usr/bin/crio"


def test_kernel_threads_and_junk():
    text = "  2 0 0 0.0 100 [kthreadd]\nthis is not ps\n\n...\n"
    (kthread,) = parse_ps(text)
    assert classify(kthread).role == "kthread"


def test_non_ps_section_is_skipped():
    text = "$ cat /etc/os-release\n123 foo bar 0:00 looks like a row\n$ ps ax\n 7 ? S 0:00 /bin/sh\n"
    assert [p.pid for p in parse_ps(text)] == [7]


@given(st.text())
def test_garbage_never_raises(text):
    for process in parse_ps(text):
        classify(process)
