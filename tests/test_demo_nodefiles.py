"""What a demo node shows the guided setup: the setup's reads and the preflight are answered
from the node's own facts (containerd version, Kata handlers), and every write is refused."""

from __future__ import annotations

import shlex

import tomlkit

from kataview.demo.nodeshell import Shell
from kataview.demo.nodeview import NodeView
from kataview.demo.scenario import classic_objects
from kataview.setup.remote_commands import SetupCommand

OBJECTS = classic_objects()


def lister(kind: str) -> list:
    return [o for o in OBJECTS if o["kind"] == kind]


def run(node: str, argv: tuple[str, ...]) -> tuple[str, str, int]:
    return Shell(NodeView(node, lister)).run_script(shlex.join(argv))


def test_the_config_matches_the_nodes_containerd_and_handlers():
    read = SetupCommand("read", ("/etc/containerd/config.toml",)).argv()
    text, _, code = run("k8s-worker", read)  # containerd 2.0.1, runc only
    config = tomlkit.parse(text)
    assert code == 0 and config["version"] == 3
    assert list(config["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]) == ["runc"]
    text, _, _ = run("k8s-worker-kata", read)  # containerd 1.7.22, kata-deploy's handlers
    config = tomlkit.parse(text)
    runtimes = config["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
    assert config["version"] == 2 and {"kata-clh", "kata-qemu"} <= set(runtimes)
    assert run("k8s-worker", SetupCommand("read", ("/etc/containerd/conf.d/x.toml",)).argv())[2] == 3


def test_writes_are_refused_and_the_preflight_is_answered():
    for command in (SetupCommand("write", ("/etc/containerd/config.toml",)),
                    SetupCommand("remove", ("/etc/containerd/config.toml",))):
        _, err, code = run("k8s-worker", command.argv())
        assert code == 1 and "nothing is written on a demo node" in err
    out, err, code = run("k8s-worker", ("ls", "-1d", "--", "/etc/containerd/config.toml", "/etc/crio/crio.conf"))
    assert (out, code) == ("/etc/containerd/config.toml\n", 2) and "/etc/crio/crio.conf" in err
    assert run("k8s-worker", ("containerd", "--version"))[0].split()[2] == "v2.0.1"
    assert "Debian GNU/Linux 12" in run("k8s-worker", ("cat", "--", "/etc/os-release"))[0]
