"""What the guided setup finds on a demo node: OS facts, which runtime config files and Kata
binaries exist, containerd's version, and its config (a v2 file for containerd 1.x, v3 for
2.x, with a runtime table for each Kata handler the node offers).

Read-only, like the rest of the demo node: the setup's reads (``kataview-read``,
``kataview-list``) are answered, its writes are refused with a line saying why.
"""

from __future__ import annotations

from collections.abc import Callable

from kataview.model.runtime import KATA_NODE_LABEL

OS_RELEASE = ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
              'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n')
CONFIG = "/etc/containerd/config.toml"
KATA_FILES = ("/opt/kata/bin/containerd-shim-kata-v2", "/opt/kata/bin/kata-runtime")
WRITE_REFUSED = "kataview demo node: nothing is written on a demo node (it is a stand-in)\n"

Reply = tuple[str, str, int]


class NodeFiles:
    """One demo node's files and facts, from its Node object."""

    def __init__(self, node: dict | None) -> None:
        status = (node or {}).get("status") or {}
        raw = (status.get("nodeInfo") or {}).get("containerRuntimeVersion", "containerd://2.0.1")
        self.version = raw.partition("://")[2] or "2.0.1"
        labels = ((node or {}).get("metadata") or {}).get("labels") or {}
        reported = [h.get("name") for h in status.get("runtimeHandlers") or [] if h.get("name")]
        self.kata = sorted(h for h in reported if h.startswith("kata"))
        if not self.kata and labels.get(KATA_NODE_LABEL) == "true":
            self.kata = ["kata-clh", "kata-qemu"]  # kata-deploy's, on a node that does not report

    def files(self) -> dict[str, str]:
        found = {"/etc/os-release": OS_RELEASE, CONFIG: self.config()}
        if self.kata:
            found.update(dict.fromkeys(KATA_FILES, ""))
        return found

    def config(self) -> str:
        major = int(self.version.split(".")[0]) if self.version[:1].isdigit() else 2
        if major >= 2:
            version, plugin = 3, '"io.containerd.cri.v1.runtime"'
            runtimes = f"[plugins.{plugin}.containerd.runtimes"
        else:
            version, plugin = 2, '"io.containerd.grpc.v1.cri"'
            runtimes = f"[plugins.{plugin}.containerd.runtimes"
        text = (f"# containerd {self.version} (demo node)\nversion = {version}\n\n[plugins.{plugin}]\n"
                f"  [plugins.{plugin}.containerd]\n    default_runtime_name = \"runc\"\n\n"
                f"  {runtimes}.runc]\n    runtime_type = \"io.containerd.runc.v2\"\n")
        for handler in self.kata:
            text += (f"\n  {runtimes}.{handler}]\n    runtime_type = \"io.containerd.kata.v2\"\n"
                     f"    privileged_without_host_devices = true\n")
        return text

    def command(self, words: list[str]) -> Reply | None:
        """The answer to one setup or preflight command; None for one this module does not know."""
        files = self.files()
        match words:
            case ["sh", "-c", _, "kataview-read", path]:
                return (files[path], "", 0) if path in files else ("", "", 3)
            case ["sh", "-c", _, "kataview-list", _]:
                return "", "", 0
            case ["sh", "-c", _, name, *_] if name in ("kataview-write", "kataview-backup", "kataview-remove"):
                return "", WRITE_REFUSED, 1
            case ["uname", "-m"]:
                return "x86_64\n", "", 0
            case ["grep", "-m", "1", "-o", "-w", "-E", "vmx|svm", "/proc/cpuinfo"]:
                return "vmx\n", "", 0
            case ["stat", "-L", "-c", _, "/dev/kvm"]:
                return "character special file a:e8 660 root:kvm\n", "", 0
            case ["ls", "-1d", "--", *paths]:
                return _ls(paths, files)
            case ["containerd", "--version"]:
                return f"containerd github.com/containerd/containerd v{self.version} demo\n", "", 0
        return None


def _ls(paths: list[str], files: dict[str, str]) -> Reply:
    out = "".join(f"{path}\n" for path in paths if path in files)
    err = "".join(f"ls: cannot access '{path}': No such file or directory\n"
                  for path in paths if path not in files)
    return out, err, 2 if err else 0


def node_object(lister: Callable[[str], list], name: str) -> dict | None:
    return next((n for n in lister("Node") if n["metadata"]["name"] == name), None)
