"""The egress fence (tests/conftest.py, tests/egress_site, kataview/hosts/egress.py): nothing the
suite runs may dial outside loopback and the test hosts' networks, and no way of getting a
refusal past it goes unnoticed: this process, a child Python, a child that skips
sitecustomize (-I: only the SSH layer's own check is left), and a test that swallows the error.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EGRESS_ALLOWED

from kataview.hosts.egress import ALLOW_ENV, EgressRefused, Fence

TESTS = Path(__file__).resolve().parent
OUTSIDE = "192.0.2.1"  # TEST-NET-1: never routed, and outside the fence


def refused_hosts(lines: list[str]) -> list[str]:
    return [json.loads(line)["host"] for line in lines]


def test_the_policy() -> None:
    fence = Fence(EGRESS_ALLOWED)
    for host in ("127.0.0.1", "127.4.5.6", "::1", "localhost", "10.213.40.2"):
        assert fence.allows(host), host
    for host in ("192.168.122.12", "10.0.0.1", "10.214.0.1", "::ffff:192.168.122.12", "8.8.8.8",
                 "k8s-worker", "example.org", ""):
        assert not fence.allows(host), host


def test_the_suite_runs_fenced(request) -> None:
    assert os.environ[ALLOW_ENV] == EGRESS_ALLOWED
    assert request.config.egress_site.fence_installed()
    assert str(TESTS / "egress_site") in os.environ["PYTHONPATH"].split(os.pathsep)


async def test_this_process_cannot_dial_out(egress_fence) -> None:
    with pytest.raises(EgressRefused, match="egress fence"):
        socket.create_connection((OUTSIDE, 9), timeout=1)
    with pytest.raises(EgressRefused):
        await asyncio.open_connection(OUTSIDE, 443)  # what aiohttp and asyncssh end in
    assert refused_hosts(egress_fence.new_lines()) == [OUTSIDE, OUTSIDE]
    with pytest.raises(ConnectionRefusedError):  # loopback passes the fence
        socket.create_connection(("127.0.0.1", 1), timeout=1)


def test_a_child_python_cannot_dial_out(egress_fence) -> None:
    result = subprocess.run([sys.executable, "-c", f"import socket; socket.create_connection(('{OUTSIDE}', 9), 1)"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "EgressRefused: egress fence" in result.stderr
    assert refused_hosts(egress_fence.new_lines()) == [OUTSIDE]


def test_the_ssh_layer_checks_the_fence_itself(egress_fence) -> None:
    """python -I ignores PYTHONPATH: no socket fence in that child; kataview's SSH layer still
    refuses before asyncssh dials, and records it."""
    code = ("import asyncio\n"
            "from kataview.hosts.ssh import SSHOptions, SSHPool\n"
            "from kataview.model.records import Node, NodeAddress\n"
            f"node = Node('k8s-worker-untrusted', addresses=(NodeAddress('InternalIP', '{OUTSIDE}'),))\n"
            "asyncio.run(SSHPool(SSHOptions(connect_timeout=1)).connection(node))\n")
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "EgressRefused: egress fence" in result.stderr and f"SSH to {OUTSIDE}" in result.stderr
    assert refused_hosts(egress_fence.new_lines()) == [OUTSIDE]


def test_a_test_that_swallows_the_refusal_still_fails(tmp_path) -> None:
    """A pytest run of its own (the suite's conftest as a plugin): the inner test catches
    the error and would pass; the fence fails it anyway."""
    (tmp_path / "test_swallow.py").write_text(
        "import socket\n"
        "def test_swallows():\n"
        "    try:\n"
        f"        socket.create_connection(('{OUTSIDE}', 9), timeout=1)\n"
        "    except Exception:\n"
        "        pass\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ["PYTHONPATH"]])}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider",
                             "-q", "--rootdir", str(tmp_path), str(tmp_path / "test_swallow.py")],
                            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert "egress fence: dials refused during this test" in result.stdout
    assert OUTSIDE in result.stdout
