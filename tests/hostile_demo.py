"""`kataview --demo` (or `kataview vm ... --demo`) whose cluster and SSH node are hostile:
every string of the demo's objects ends in hostile.TERMINAL_ATTACK, and the demo node's Kata
kernel path holds it too, so `ps` and persist.json (read over SSH) carry it.

    python tests/hostile_demo.py                 # the dashboard
    python tests/hostile_demo.py vm              # kataview vm on the first Kata pod, as text

For test_tmux_hostile.py: run in a real terminal (tmux), whatever reaches it is recorded."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile import TERMINAL_ATTACK, poison_objects  # noqa: E402

from kataview.demo import nodeview, scenario  # noqa: E402

original = scenario.classic_objects


def hostile_objects(now=None) -> list[dict]:
    """Every string a tenant or a kubelet can write poisoned (names stay valid, as a real API
    server insists; the demo's SSH node is reached by node name too)."""
    return poison_objects(original(now), TERMINAL_ATTACK, names=False)


def main(argv: list[str]) -> int:
    scenario.classic_objects = hostile_objects
    nodeview.KERNEL = f"{nodeview.KATA_SHARE}/vmlinux{TERMINAL_ATTACK}"
    from kataview.cli import main as kataview

    if argv[:1] == ["vm"]:
        pod = next(o for o in hostile_objects() if o["kind"] == "Pod"
                   and (o["spec"].get("runtimeClassName") or "").startswith("kata-qemu"))
        meta = pod["metadata"]
        return kataview(["vm", f"{meta['namespace']}/{meta['name']}", "--demo", *argv[1:]])
    return kataview(["--demo", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
