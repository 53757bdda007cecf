"""Preflight over SSH: what a node has before anything is changed on it.

Two round trips of read-only allowlisted commands (`kataview.hosts.commands`):
(1) ps, uname, os-release, vmx/svm in /proc/cpuinfo, /dev/kvm, which runtime config files
and which Kata files exist; (2) the runtime's version, its config file, and the Kata check
tool's verdict when one is installed. `parse_preflight` is pure (tests feed it outputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from kataview.hosts import commands as cmd
from kataview.hosts import preflight_commands as pre
from kataview.hosts.ps import parse_ps
from kataview.hosts.ssh import SSHPool
from kataview.model.records import Node
from kataview.setup.containerd.inspect import inspect_containerd_config
from kataview.setup.toml_edit import ConfigError

__all__ = ["DISTRIBUTIONS", "Check", "Distribution", "PreflightReport", "parse_preflight", "run_preflight"]


@dataclass(frozen=True, slots=True)
class Distribution:
    """How one packaging of the runtime lays things out."""

    name: str  # containerd, k3s, rke2, k0s, microk8s, crio
    runtime: str  # containerd or crio
    configs: tuple[str, ...]  # the file (or dir) to patch, in order of preference
    generated: str | None  # a generated file that must not be edited (k3s, rke2)
    socket: str
    restart: tuple[str, ...]
    note: str = ""


DISTRIBUTIONS = (
    Distribution("k3s", "containerd", ("/var/lib/rancher/k3s/agent/etc/containerd/config.toml.tmpl",
                                       "/var/lib/rancher/k3s/agent/etc/containerd/config-v3.toml.tmpl"),
                 "/var/lib/rancher/k3s/agent/etc/containerd/config.toml", "/run/k3s/containerd/containerd.sock",
                 ("systemctl", "restart", "k3s-agent"),
                 "k3s regenerates config.toml at start: patch config.toml.tmpl (a copy of config.toml "
                 "to start from); on a server node restart `k3s` instead of `k3s-agent`"),
    Distribution("rke2", "containerd", ("/var/lib/rancher/rke2/agent/etc/containerd/config.toml.tmpl",),
                 "/var/lib/rancher/rke2/agent/etc/containerd/config.toml", "/run/k3s/containerd/containerd.sock",
                 ("systemctl", "restart", "rke2-agent"),
                 "rke2 regenerates config.toml at start: patch config.toml.tmpl"),
    Distribution("k0s", "containerd", ("/etc/k0s/containerd.d",), None, "/run/k0s/containerd.sock",
                 ("systemctl", "restart", "k0sworker"),
                 "k0s imports /etc/k0s/containerd.d/*.toml: a drop-in there, no change to containerd.toml"),
    Distribution("microk8s", "containerd", ("/var/snap/microk8s/current/args/containerd-template.toml",), None,
                 "/var/snap/microk8s/common/run/containerd.sock",
                 ("snap", "restart", "microk8s.daemon-containerd"),
                 "microk8s renders containerd.toml from containerd-template.toml"),
    Distribution("crio", "crio", ("/etc/crio/crio.conf.d",), None, "/var/run/crio/crio.sock",
                 ("systemctl", "restart", "crio"), "CRI-O: a drop-in in /etc/crio/crio.conf.d"),
    Distribution("containerd", "containerd", ("/etc/containerd/config.toml",), None,
                 "/run/containerd/containerd.sock", ("systemctl", "restart", "containerd")),
)
_BY_NAME = {d.name: d for d in DISTRIBUTIONS}
_PROCESS_NAMES = {"k3s": "k3s", "k3s-agent": "k3s", "k3s-server": "k3s", "rke2": "rke2", "k0s": "k0s",
                  "kubelite": "microk8s", "crio": "crio", "containerd": "containerd"}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    state: str  # ok | warn | fail | info
    value: str
    detail: str = ""


@dataclass(frozen=True)
class PreflightReport:
    node: str
    os: str = "unknown"
    kernel: str = "unknown"
    arch: str = "unknown"
    virt_flag: str | None = None  # vmx, svm or None
    kvm: str | None = None  # stat line of /dev/kvm, None when missing
    distribution: str | None = None
    runtime_running: bool = False
    runtime_version: str = ""
    configs_found: tuple[str, ...] = ()
    config_path: str | None = None
    config_version: int | None = None
    config_problem: str = ""
    kata_handlers: tuple[str, ...] = ()
    kata_paths: tuple[str, ...] = ()
    kata_check: str = ""  # the check tool's output
    kata_check_ok: bool | None = None  # None: no check tool
    errors: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def layout(self) -> Distribution | None:
        return _BY_NAME.get(self.distribution or "")

    @property
    def shim(self) -> str | None:
        return next((p for p in self.kata_paths if p.endswith("/containerd-shim-kata-v2")), None)

    @property
    def check_tool(self) -> str | None:
        for path in self.kata_paths:
            if path.endswith(("/kata-runtime", "/kata-ctl")):
                name = path.rsplit("/", 1)[-1]
                return path if path.startswith("/opt/kata/bin/") else name
        return None

    def checks(self) -> list[Check]:
        rows = [Check("OS", "info", self.os), Check("kernel", "info", f"{self.kernel} ({self.arch})")]
        rows.append(Check("CPU virtualization", "ok" if self.virt_flag else "fail",
                          self.virt_flag or "no vmx/svm flag",
                          "" if self.virt_flag else "enable VT-x/AMD-V (or nested virtualization)"))
        rows.append(Check("/dev/kvm", "ok" if self.kvm else "fail", self.kvm or "missing",
                          "" if self.kvm else "load kvm_intel/kvm_amd; Kata's VMs need it"))
        runtime = self.distribution or "none found"
        version = f" {self.runtime_version}" if self.runtime_version else ""
        rows.append(Check("container runtime", "ok" if self.runtime_running else "warn", runtime + version,
                          "" if self.runtime_running else "no runtime process seen"))
        if self.config_path:
            state = "fail" if self.config_problem else "ok"
            detail = self.config_problem or (self.layout.note if self.layout else "")
            version_text = f" (version {self.config_version})" if self.config_version else ""
            rows.append(Check("config", state, self.config_path + version_text, detail))
        else:
            rows.append(Check("config", "warn", "not found", "looked in " + ", ".join(pre.RUNTIME_CONFIG_PATHS[:3]) + ", ..."))
        if self.kata_handlers:
            rows.append(Check("Kata handlers", "info", ", ".join(self.kata_handlers), "already in the config"))
        rows.append(Check("Kata shim", "ok" if self.shim else "fail", self.shim or "containerd-shim-kata-v2 not found",
                          "" if self.shim else "install Kata (see the guidance)"))
        if self.kata_check_ok is not None:
            last = self.kata_check.strip().splitlines()[-1:] or [""]
            rows.append(Check("Kata check", "ok" if self.kata_check_ok else "fail",
                              "passed" if self.kata_check_ok else "failed", last[0][:200]))
        return rows


def parse_os_release(text: str) -> str:
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"')
    return values.get("PRETTY_NAME") or " ".join(filter(None, (values.get("NAME"), values.get("VERSION_ID")))) or "unknown"


def _detect(processes: set[str], found: tuple[str, ...]) -> tuple[str | None, bool]:
    for dist in DISTRIBUTIONS[:-2]:  # the packagings first: they also run a containerd
        if dist.name in processes or any(p.startswith(dist.configs[0].rsplit("/", 1)[0]) for p in found):
            return dist.name, dist.name in processes or "containerd" in processes
    for name in ("crio", "containerd"):
        if name in processes or any(p.startswith(f"/etc/{name}") for p in found):
            return name, name in processes
    return None, False


def parse_preflight(node: str, first: Mapping[str, tuple[str, int | None]]) -> PreflightReport:
    """Round trip 1's outputs by name (ps, uname, arch, os, virt, kvm, configs, kata)."""
    def out(name: str) -> str:
        text, code = first.get(name, ("", None))
        return text if code == 0 else ""

    processes = set()
    for process in parse_ps(first.get("ps", ("", None))[0]):
        if process.argv:
            base = process.argv[0].rsplit("/", 1)[-1]
            if base in _PROCESS_NAMES:
                processes.add(_PROCESS_NAMES[base])
            if base == "k3s" and len(process.argv) > 1 and process.argv[1] in ("server", "agent"):
                processes.add("k3s")
    configs = tuple(line for line in first.get("configs", ("", None))[0].splitlines() if line.startswith("/"))
    kata = tuple(line for line in first.get("kata", ("", None))[0].splitlines() if line.startswith("/"))
    distribution, running = _detect(processes, configs)
    config_path = None
    if distribution:
        dist = _BY_NAME[distribution]
        config_path = next((c for c in dist.configs if c in configs), dist.configs[0])
        if config_path not in configs and dist.generated in configs:
            config_path = dist.configs[0]  # to be created from the generated file
    return PreflightReport(
        node, os=parse_os_release(out("os")), kernel=out("uname").strip() or "unknown",
        arch=out("arch").strip() or "unknown", virt_flag=out("virt").strip() or None,
        kvm=out("kvm").strip() or None, distribution=distribution, runtime_running=running,
        configs_found=configs, config_path=config_path, kata_paths=kata)


def with_second(report: PreflightReport, version: tuple[str, int | None] | None,
                config: tuple[str, int | None] | None, check: tuple[str, int | None] | None) -> PreflightReport:
    """Round trip 2: runtime version, config version and Kata handlers, the check verdict."""
    from dataclasses import replace

    changes: dict = {}
    if version is not None and version[1] == 0:
        changes["runtime_version"] = _version_word(version[0])
    if config is not None and report.layout and report.layout.runtime == "containerd":
        text, code = config
        if code == 0 and text.strip():
            try:
                info = inspect_containerd_config(text)
            except ConfigError as error:
                changes["config_problem"] = f"not valid TOML: {error}"
            else:
                changes["config_version"] = info.version
                changes["kata_handlers"] = tuple(info.kata_handlers)
                if info.cri_disabled:
                    changes["config_problem"] = "the CRI plugin is disabled (disabled_plugins)"
        elif code not in (0, None) and report.config_path in report.configs_found:
            changes["config_problem"] = "cannot read it: " + (text.strip().splitlines() or ["?"])[-1]
    if check is not None:
        changes["kata_check"] = check[0]
        changes["kata_check_ok"] = check[1] == 0
    return replace(report, **changes)


def _version_word(text: str) -> str:
    for word in text.split():
        if word[:1].isdigit() or (word[:1] == "v" and word[1:2].isdigit()):
            return word
    return text.strip().splitlines()[0][:60] if text.strip() else ""


async def run_preflight(pool: SSHPool, node: Node) -> PreflightReport:
    connection = await pool.connection(node)
    names = ["ps", "uname", "arch", "os", "virt", "kvm", "configs", "kata"]
    first = [cmd.Ps(), cmd.Uname(), pre.UnameMachine(), cmd.ReadFile("/etc/os-release"),
             pre.CpuVirtFlags(), pre.KvmDevice(), pre.ListKnownPaths("config"), pre.ListKnownPaths("kata")]
    results = await connection.run(first, root=[False, False, False, False, False, False, True, True])
    outputs = {name: (r.stdout, r.exit_code) for name, r in zip(names, results)}
    for name in ("configs", "kata"):  # ls exits 2 when some paths are missing: the rest is valid
        text, code = outputs[name]
        outputs[name] = (text, 0 if code in (0, 2) else code)
    report = parse_preflight(node.name, outputs)
    second: list[tuple[str, cmd.Command]] = []
    if report.distribution:
        second.append(("version", pre.RuntimeVersion(report.distribution)))
    if report.config_path and report.config_path in report.configs_found and report.config_path.endswith((".toml", ".tmpl")):
        try:
            second.append(("config", cmd.ReadFile(report.config_path)))
        except ValueError:
            pass
    if report.check_tool:
        second.append(("check", pre.KataCheck(report.check_tool)))
    if not second:
        return report
    answers = await connection.run([c for _, c in second], root=True)
    by_name = {name: (r.stdout + ("" if r.exit_code == 0 else r.stderr), r.exit_code)
               for (name, _), r in zip(second, answers)}
    return with_second(report, by_name.get("version"), by_name.get("config"), by_name.get("check"))
