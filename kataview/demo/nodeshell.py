"""The sh subset a demo node understands, and what its commands print.

kataview sends each node a ``sh`` script (a batch of allowlisted commands framed by
``printf`` markers). ``Shell`` interprets just that subset — ``printf`` with ``%s`` and
``"$?"``, ``>&2``, ``</dev/null``, ``sudo -n`` — and answers the commands kataview runs from
one NodeView. Everything else fails as a shell would (``not found``, exit 127).
"""

from __future__ import annotations

import json
import re
import shlex

from .nodefiles import NodeFiles, node_object
from .nodeview import NPROC, UNAME, NodeView


class Shell:
    """The sh subset kataview's batches use, over one NodeView."""

    def __init__(self, view: NodeView) -> None:
        self.view = view

    def run_script(self, script: str) -> tuple[str, str, int]:
        out, err, status = [], [], 0
        for line in script.splitlines():
            try:
                words = shlex.split(line)
            except ValueError:
                err.append("sh: 1: Syntax error: Unterminated quoted string\n")
                return "".join(out), "".join(err), 2
            if not words:
                continue
            target = out
            if words[-1] == ">&2":
                words, target = words[:-1], err
            if words[-1] == "</dev/null":
                words = words[:-1]
            if words and words[0] == "printf":
                target.append(_printf(words[1], [str(status) if w == "$?" else w for w in words[2:]]))
                status = 0
                continue
            stdout, stderr, status = self.command(words)
            out.append(stdout)
            err.append(stderr)
        return "".join(out), "".join(err), status

    def command(self, words: list[str]) -> tuple[str, str, int]:
        if words[:2] == ["sudo", "-n"]:
            words = words[2:]  # the demo logs in as root
        view = self.view
        match words:
            case ["ps", "-ww", "-eo", "pid=,ppid=,rss=,pcpu=,etimes=,args="]:
                return "".join(f"{p:>7} {pp:>7} {r:>6} {c:>4.1f} {e:>7} {a}\n"
                               for p, pp, r, c, e, a in view.processes()), "", 0
            case ["id", "-u"]:
                return "0\n", "", 0
            case ["uname", "-r"]:
                return UNAME + "\n", "", 0
            case ["nproc"]:
                return f"{NPROC}\n", "", 0
            case ["cat", "--", path]:
                return self.cat(path)
            case ["crictl", "pods", "--name", name, "--namespace", namespace, "-o", "json"]:
                return json.dumps(self.crictl_pods(name, namespace), indent=2) + "\n", "", 0
            case ["crictl", "inspectp", sandbox]:
                items = [i for i in self.crictl_pods(".", None)["items"] if i["id"].startswith(sandbox)]
                if not items:
                    return "", f'level=fatal msg="getting the pod sandbox status for \\"{sandbox}\\": not found"\n', 1
                return json.dumps({"status": items[0], "info": {"pid": 0}}, indent=2) + "\n", "", 0
            case ["ctr", "--connect-timeout", "2s", "-n", "k8s.io", "c", "info", container]:
                return self.ctr_info(container)
        reply = self.files().command(words)  # the guided setup's reads and preflight
        if reply is not None:
            return reply
        return "", f"sh: 1: {words[0] if words else ''}: not found\n", 127

    def files(self) -> NodeFiles:
        return NodeFiles(node_object(self.view.lister, self.view.node))

    def cat(self, path: str) -> tuple[str, str, int]:
        view = self.view
        proc = re.fullmatch(r"/proc/(\d+)/(cmdline|status|stat)", path)
        found = view.vm_by_pid(int(proc.group(1))) if proc else None
        if found is not None:
            vm, _ = found
            pid, name = vm["base"] + 20, "cloud-hyperviso" if vm["kind"] != "qemu" else "qemu-system-x86"
            ticks = int(view.cpu(vm) / 100 * vm["up"] * 100)
            if proc.group(2) == "cmdline":
                return "\0".join(view.vmm_argv(vm)) + "\0", "", 0
            if proc.group(2) == "status":
                return (f"Name:\t{name}\nUmask:\t0027\nState:\tS (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\n"
                        f"PPid:\t{1 if vm['kind'] == 'qemu' else vm['base']}\nVmPeak:\t 3421876 kB\n"
                        f"VmSize:\t 3356340 kB\nVmRSS:\t  {view.rss(vm)} kB\n"
                        f"Threads:\t{5 if vm['kind'] == 'qemu' else 9}\n"), "", 0
            return (f"{pid} ({name}) S 1 {pid} {pid} 0 -1 4194624 61250 0 12 0 {ticks * 7 // 10} "
                    f"{ticks * 3 // 10} 0 0 20 0 5 0 {int(view.now - vm['up']) % 10**7} 3436892160 "
                    f"{view.rss(vm) // 4} 18446744073709551615 1 1 0 0 0 0 268444224 4096 25155 0 0 0 17 3 0 0 0 0 0\n"), "", 0
        persist = re.fullmatch(r"/run/vc/sbs/([0-9a-f]{64})/persist\.json", path)
        text = view.persist(persist.group(1)) if persist else None
        if text is not None:
            return text, "", 0
        text = self.files().files().get(path)
        if text is not None:
            return text, "", 0
        return "", f"cat: {path}: No such file or directory\n", 1

    def crictl_pods(self, name: str, namespace: str | None) -> dict:
        """``--name`` is a regular expression, as in crictl; ``--namespace`` too."""
        items = []
        for pod in self.view.pods:
            meta = pod["metadata"]
            if not re.search(name, meta["name"]) or (namespace and not re.search(namespace, meta["namespace"])):
                continue
            vm = next((v for v in self.view.vms if v["pod"] is pod), None)
            items.append({
                "id": self.view.sandbox_of(pod),
                "metadata": {"name": meta["name"], "uid": meta["uid"], "namespace": meta["namespace"], "attempt": 0},
                "state": "SANDBOX_READY",
                "createdAt": str(int((self.view.now - (vm["up"] if vm else 0)) * 1e9)),
                "labels": {"io.kubernetes.pod.name": meta["name"], "io.kubernetes.pod.namespace": meta["namespace"],
                           "io.kubernetes.pod.uid": meta["uid"], **(meta.get("labels") or {})},
                "annotations": {"kubernetes.io/config.source": "api"},
                "runtimeHandler": vm["handler"] if vm else "",
            })
        return {"items": items}

    def ctr_info(self, container: str) -> tuple[str, str, int]:
        for pod in self.view.pods:
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                if status.get("containerID", "").partition("://")[2] == container:
                    annotations = {"io.kubernetes.cri.sandbox-id": self.view.sandbox_of(pod),
                                   "io.kubernetes.cri.container-type": "container"}
                    return json.dumps({"ID": container, "Labels": {"io.cri-containerd.kind": "container"},
                                       "Spec": {"annotations": annotations}}, indent=4) + "\n", "", 0
        return "", f"ctr: container \"{container}\" in namespace \"k8s.io\": not found\n", 1


def _printf(fmt: str, args: list[str]) -> str:
    text = fmt.replace("\\n", "\n").replace("\\t", "\t")
    pieces = text.split("%s")
    if len(pieces) == 1:
        return text.replace("%%", "%")
    out, args = [], list(args) or [""]
    while args:
        chunk = [pieces[0]]
        for piece in pieces[1:]:
            chunk += [args.pop(0) if args else "", piece]
        out.append("".join(chunk))
    return "".join(out).replace("%%", "%")
