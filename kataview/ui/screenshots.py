"""`python -m kataview.ui.screenshots DIR`: one SVG per screen (160x48) on the demo scenario's
classic cluster with a frozen clock, through make_app and App.export_screenshot."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kataview.model.records import WatchState
from kataview.model.runtime import KATA_NODE_LABEL
from kataview.sources.base import SourceInfo
from kataview.sources.settings import Settings
from kataview.sources.static import StaticSource, classic_demo_reader
from kataview.ui.screens.setup import open_demo_setup

FROZEN_NOW = datetime(2025, 3, 14, 12, 30, 0, tzinfo=timezone.utc)
SIZE = (160, 48)
LIVE = WatchState(phase="live", synced=5, total=5)
STALE = WatchState(phase="reconnecting", synced=5, total=5, stale_since=FROZEN_NOW - timedelta(seconds=41),
                   errors={"pods": "connection refused"}, last_error="watch pods: connection refused")


def first(snapshot, kind: str, wanted=lambda record: True) -> str:
    records = {"Pod": snapshot.pods, "Node": snapshot.nodes, "RuntimeClass": snapshot.runtime_classes}[kind]
    for key in sorted(records, key=lambda k: getattr(records[k], "name", k)):
        if wanted(records[key]):
            return key
    return next(iter(records))


async def pod_text_read(pilot) -> None:
    """Wait until a YAML, describe or logs screen shows what it read."""
    deadline = time.monotonic() + 10
    screen = pilot.app.screen
    while not (screen.query("TextPager") and screen.query_one("TextPager").lines
               and (not hasattr(screen, "ended") or screen.ended or screen.streaming and screen.follow)):
        if time.monotonic() > deadline:
            raise RuntimeError("the pod screen read nothing")
        await pilot.pause(0.02)


def pod_text_shots(snapshot) -> list[tuple]:
    """y, d and l on the restarted Kata pod, at 80x24, 160x48 and 220x60."""
    restarted = first(snapshot, "Pod", lambda pod: pod.restarts > 0 and pod.name.startswith("nginx-kata-qemu"))
    found = []
    for size in ((80, 24), SIZE, (220, 60)):
        suffix = "" if size == SIZE else f"-{size[0]}x{size[1]}"
        found += [
            (f"pod-yaml{suffix}", LIVE, False, [("Pod", restarted), "y", pod_text_read, "slash", *"kata", "enter"], size),
            (f"pod-describe{suffix}", LIVE, False, [("Pod", restarted), "d", pod_text_read], size),
            (f"pod-logs{suffix}", LIVE, False, [("Pod", restarted), "l", pod_text_read, "p", pod_text_read], size),
        ]
    return found


def open_finding(code: str):
    async def step(pilot) -> None:
        app = pilot.app
        app.screen.open_finding(next(row for row in app.view.findings if row.code == code))
    return step


def shots(snapshot) -> list[tuple]:
    """(file name, watch state, read-only, steps[, size]): a step is a key, (kind, key) to open, or
    an async callable given the pilot."""
    kata_pod = first(snapshot, "Pod", lambda pod: (pod.runtime_class_name or "").startswith("kata")
                     and pod.runtime_class_name in snapshot.runtime_classes and pod.phase == "Running")
    stuck_pod = first(snapshot, "Pod", lambda pod: pod.phase == "Pending")
    kata_node = first(snapshot, "Node", lambda node: node.labels.get(KATA_NODE_LABEL) == "true")
    return [
        ("main", LIVE, False, []),
        ("main-stale-read-only", STALE, True, []),
        ("filter", LIVE, False, ["slash", *"nginx"]),
        ("pod-detail", LIVE, False, [("Pod", kata_pod)]),
        ("pod-detail-stuck", LIVE, False, [("Pod", stuck_pod)]),
        ("node-detail", LIVE, False, [("Node", kata_node)]),
        ("runtimeclass-detail", LIVE, False, [("RuntimeClass", "kata")]),
        ("problems", LIVE, False, ["ctrl+z"]),
        ("finding-detail", LIVE, False, [open_finding("KV003")]),
        ("pods-sorted-by-restarts", LIVE, False, ["T"]),
        ("help", LIVE, False, ["question_mark"]),
        ("log", STALE, False, ["L"]),
        ("namespace-picker", LIVE, False, ["n"]),
        ("namespace-picker-type-ahead", LIVE, False, ["n", "s"]),
        ("command-bar", LIVE, False, ["colon", *"ns sa"]),
        ("events", LIVE, False, ["colon", *"events", "enter"]),
        ("setup", LIVE, False, [open_demo_setup]),
        *pod_text_shots(snapshot),
    ]


async def take(snapshot, state: WatchState, read_only: bool, steps: list, size: tuple[int, int] = SIZE) -> str:
    from textual.widgets import Input

    from kataview.ui.app import make_app

    settings = Settings(frozen_now=FROZEN_NOW, read_only=read_only)
    source = StaticSource(snapshot, state, SourceInfo(context="kind-kataview-demo", server="https://127.0.0.1:6443"),
                          reader=classic_demo_reader(FROZEN_NOW))
    app = make_app(settings, source)
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 30
        while app.view is None:
            if time.monotonic() > deadline:
                raise RuntimeError("no snapshot reached the screen")
            await pilot.pause(0.02)
        await pilot.pause()
        for step in steps:
            if isinstance(step, tuple):
                app.open_object(*step)
            elif callable(step):
                await step(pilot)
            else:
                await pilot.press(step)
            await pilot.pause()
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()
        return app.export_screenshot(title="kataview")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.environ["XDG_STATE_HOME"] = str(out / ".state")  # never remember a theme from here
    from kataview.sources.static import classic_demo_snapshot

    snapshot = classic_demo_snapshot(FROZEN_NOW)
    for name, state, read_only, steps, *size in shots(snapshot):
        svg = asyncio.run(take(snapshot, state, read_only, steps, *size))
        (out / f"{name}.svg").write_text(svg, encoding="utf-8")
        print(out / f"{name}.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
