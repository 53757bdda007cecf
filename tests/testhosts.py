"""Network-namespace test hosts: each with its own sshd, PID namespace, /run and users.

    with TestNet() as net:
        host = net.add_host()                 # netns kvt<pid>h1, sshd on 10.213.x.2:22
        vm = host.start_qemu(vcpus=2, maxcpus=4, memory_mib=2048, maxmem_mib=4096)
        host.write_persist(vm)                # /run/vc/sbs/<id>/persist.json
        host.start_monitor(vm)                # /run/vc/sbs/<id>/shim-monitor.sock (HTTP)
        host.install_crictl([vm])             # a stand-in for the unpackaged crictl binary

The parts live beside this module, split along their seams: hostnet (the bridge, the
namespaces and each host's process), hostfiles (users, sudoers, sshd_config and init.py),
hostkata (QEMU, shim, persist.json, monitor socket, crictl stand-in) and hostprocs (the
shared process helpers). This module keeps every name the tests import: the classes,
SUDOERS_NOPASSWD, the client helpers and the ``testnet`` fixture.

A host is ``ip netns exec NS unshare --mount --pid --fork --mount-proc --kill-child
python3 init.py``. Inside that mount namespace only, init.py bind-mounts the host's own
directory over ``/run`` and ``/usr/local/bin`` and its own passwd/group/shadow (and sudoers)
over ``/etc``: users ``kvtest`` (uid 0, /bin/sh), ``kvuser`` and ``kvpass`` (uid 4242/4243,
for the sudo tests). The machine's real /etc, ~/.ssh and /run are never written. init.py is
PID 1 of the host: it reaps daemonized QEMUs, which are re-parented to it as on a node.

Cleanup (hostnet) ends only what it started, by PID (the outer ``unshare``: its child is
the namespace's init, and when init dies the kernel ends every process of the namespace),
then deletes the namespaces, veths and the bridge it made.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hostfiles import SUDOERS_NOPASSWD  # noqa: F401
from hostkata import QemuVM, crictl_pods_json  # noqa: F401
from hostnet import TestHost, TestNet  # noqa: F401
from hostprocs import SYSTEM_PYTHON  # noqa: F401


def require_test_hosts() -> None:
    """Skip (or fail under KATAVIEW_REQUIRE_INTEGRATION=1) without the parts test hosts need."""
    from conftest import require_part, require_root

    require_root("network namespaces for test hosts")
    for part in ("sshd", "qemu-system-x86_64", "ip", "unshare", "nsenter", "ssh-keygen", "perl"):
        require_part(part, part, f"/usr/sbin/{part}")
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's compiled-in privilege-separation dir


def ssh_options(net: TestNet, user: str = "kvtest", **overrides):
    """Client options with every path explicit (never the machine's ~/.ssh)."""
    from kataview.hosts.ssh import SSHOptions

    values = dict(config_files=(str(net.ssh_config(user)),), known_hosts=str(net.known_hosts),
                  agent_path=None, connect_timeout=3.0, command_timeout=10.0)
    values.update(overrides)
    return SSHOptions(**values)


def node_for(host: TestHost, name: str | None = None):
    from kataview.model.records import Node, NodeAddress

    return Node(name or f"node-{host.index}", addresses=(NodeAddress("InternalIP", host.address),))


def pod_for(vm: QemuVM, node_name: str, **changes):
    from kataview.model.records import Pod

    values = dict(uid=vm.pod_uid, namespace=vm.pod_namespace, name=vm.pod_name, node_name=node_name,
                  runtime_class_name="kata-qemu")
    values.update(changes)
    return Pod(**values)


@pytest.fixture
def testnet():
    """A bridge for test hosts; every host, process and link made is removed afterwards."""
    require_test_hosts()
    with TestNet() as net:
        yield net


# --- additions for the guided-setup tests (tests/test_setup_*_ssh.py) ------------------------

def bind_inside(host: TestHost, inside: str) -> Path:
    """Bind a fresh directory of the host over ``inside`` (e.g. /etc/containerd), in the host's
    own mount namespace only: the machine's real directory is never written."""
    outside = host.directory / "binds" / inside.strip("/").replace("/", "_")
    outside.mkdir(parents=True, exist_ok=True)
    host.run("mount", "--bind", str(outside), inside)
    return outside
