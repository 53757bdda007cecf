"""Test hosts in network namespaces: a bridge (TestNet) and hosts behind it (TestHost), each
``ip netns exec NS unshare --mount --pid --fork --mount-proc --kill-child python3 init.py``
with its own sshd; cleanup ends only what was started here, by PID, and deletes the links."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from hostfiles import INIT, write_host_files
from hostkata import KataNode, QemuVM
from hostprocs import SYSTEM_PYTHON, _run, _wait_for

_COUNTER = itertools.count(1)


@dataclass
class TestHost(KataNode):
    net: TestNet
    index: int
    name: str  # the netns
    address: str
    port: int
    directory: Path
    process: subprocess.Popen | None = None
    helpers: list[subprocess.Popen] = field(default_factory=list)
    vms: list[QemuVM] = field(default_factory=list)

    @property
    def init_pid(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return int(children.split()[0])

    def nsenter(self, *argv: str) -> list[str]:
        return ["nsenter", "-t", str(self.init_pid), "-m", "-p", "-n", "--", *argv]

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command inside the host (its mount, PID and network namespaces)."""
        return _run(*self.nsenter(*argv), check=check)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # unshare --kill-child: init dies, the namespace with it
            self.process.wait(timeout=10)
        for helper in self.helpers:
            try:
                helper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                helper.kill()
                helper.wait(timeout=5)
        _run("ip", "netns", "del", self.name, check=False)


class TestNet:
    """A bridge on 10.213.<n>.0/24 and the test hosts behind it."""

    def __init__(self, client_key_dir: Path | None = None) -> None:
        number = next(_COUNTER)
        self.tag = f"kvt{os.getpid()}"
        self.short = f"k{os.getpid():x}{number}"  # link names are at most 15 characters
        self.bridge = f"{self.short}br"
        self.octet = (os.getpid() * 7 + number) % 200 + 20
        self.directory = Path(tempfile.mkdtemp(prefix=f"{self.tag}-"))
        self.directory.chmod(0o755)  # sshd reads authorized_keys as the login user
        self.hosts: list[TestHost] = []
        self.client_key = self.directory / "id_ed25519"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key))
        self.known_hosts = self.directory / "known_hosts"
        self._up = False

    def __enter__(self) -> TestNet:
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        self._up = True
        _run("ip", "addr", "add", f"10.213.{self.octet}.1/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_host(self, port: int = 22, sudoers: str | None = None, trust: bool = True) -> TestHost:
        index = len(self.hosts) + 1
        name, veth = f"{self.tag}h{index}", f"{self.short}v{index}"
        address = f"10.213.{self.octet}.{index + 1}"
        directory = self.directory / f"h{index}"
        host = TestHost(self, index, name, address, port, directory)
        self.hosts.append(host)
        write_host_files(host, self.client_key, sudoers)
        _run("ip", "netns", "add", name)
        _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
        _run("ip", "link", "set", veth, "master", self.bridge, "up")
        _run("ip", "-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
        _run("ip", "-n", name, "link", "set", "eth0", "up")
        _run("ip", "-n", name, "link", "set", "lo", "up")
        init = directory / "init.py"
        init.write_text(INIT)
        host.process = subprocess.Popen(
            ["ip", "netns", "exec", name, "unshare", "--mount", "--pid", "--fork", "--mount-proc",
             "--kill-child", SYSTEM_PYTHON, str(init), str(directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: (directory / "ready").exists() and (directory / "run" / "sshd.pid").exists())
        if trust:
            self.trust(host)
        return host

    def trust(self, host: TestHost) -> None:
        key = (host.directory / "host_ed25519.pub").read_text().split()
        name = host.address if host.port == 22 else f"[{host.address}]:{host.port}"
        with open(self.known_hosts, "a") as handle:
            handle.write(f"{name} {key[0]} {key[1]}\n")

    def ssh_config(self, user: str = "kvtest", extra: str = "") -> Path:
        """An OpenSSH client config with a Host block per test host."""
        path = self.directory / f"ssh_config_{user}"
        blocks = [textwrap.dedent(f"""\
            Host {host.address}
                User {user}
                Port {host.port}
                IdentityFile {self.client_key}
            """) for host in self.hosts]
        path.write_text("\n".join(blocks) + extra)
        return path

    def close(self) -> None:
        for host in self.hosts:
            host.stop()
        if self._up:
            _run("ip", "link", "del", self.bridge, check=False)
            self._up = False
        shutil.rmtree(self.directory, ignore_errors=True)

