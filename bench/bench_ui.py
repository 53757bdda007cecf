"""UI figures at scale (prints; not a timed test): `python bench/bench_ui.py [PODS] [NODES]`.

- time to build the view of a 150,000-pod snapshot (first, and after one pod changed)
- time from a snapshot arriving to the screen showing it (App, headless)
- keypress -> frame (cursor down, page down, end) and a filter keystroke
- sort keys (shift+letter) over every row, and an update while sorted
- memory: the snapshot, the view, process peak RSS
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from kataview.model.records import WatchState  # noqa: E402
from kataview.sources.static import StaticSource  # noqa: E402
from kataview.ui.app import make_app  # noqa: E402
from kataview.model.cluster_view import build_view  # noqa: E402
from ui_fixtures import frozen_settings, generated_snapshot  # noqa: E402

LIVE = WatchState(phase="live", synced=5, total=5)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def measure_view(snapshot):
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    view = build_view(snapshot, LIVE)
    first = time.perf_counter() - started
    view_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    pods = dict(snapshot.pods)
    uid = next(iter(pods))
    pods[uid] = dataclasses.replace(pods[uid], phase="Failed")
    changed = dataclasses.replace(snapshot, pods=pods)
    started = time.perf_counter()
    build_view(changed, LIVE, view)
    update = time.perf_counter() - started
    print(f"build view, first            {ms(first)}")
    print(f"build view, one pod changed  {ms(update)}")
    print(f"view memory (tracemalloc)    {view_bytes / 2**20:8.1f} MiB")
    return changed


async def timed_keys(pilot, keys, repeat=20):
    samples = []
    for _ in range(repeat):
        for key in keys:
            started = time.perf_counter()
            await pilot.press(key)
            samples.append(time.perf_counter() - started)
    return statistics.median(samples), max(samples)


async def pilot_overhead():
    """What Pilot.press costs on a 10-pod cluster: subtracted to estimate the app's own share."""
    from ui_fixtures import classic_source

    app = make_app(frozen_settings(), classic_source())
    async with app.run_test(size=(200, 60)) as pilot:
        while app.view is None:
            await pilot.pause(0.01)
        await pilot.pause()
        key, _ = await timed_keys(pilot, ["down"])
        await pilot.press("slash")
        samples = []
        for letter in "app-0004":
            started = time.perf_counter()
            await pilot.press(letter)
            samples.append(time.perf_counter() - started)
        return key, statistics.median(samples)


async def measure_app(snapshot, changed):
    key_floor, filter_floor = await pilot_overhead()
    print(f"pilot floor (10 pods)        {ms(key_floor)} per key, {ms(filter_floor)} per filter key")
    source = StaticSource(snapshot)
    app = make_app(frozen_settings(), source)
    async with app.run_test(size=(200, 60)) as pilot:
        started = time.perf_counter()
        while app.view is None:
            await pilot.pause(0.01)
        await pilot.pause()
        print(f"first snapshot -> on screen  {ms(time.perf_counter() - started)}")
        started = time.perf_counter()
        source.push(changed)
        while app.view.snapshot is not changed:
            await pilot.pause(0.005)
        await pilot.pause()
        print(f"update -> on screen          {ms(time.perf_counter() - started)}  (incl. {ms(0.1).strip()} coalescing window)")
        table = app.screen.query_one("#pods")
        for keys in (["down"], ["pagedown"], ["end", "home"]):
            median, worst = await timed_keys(pilot, keys)
            print(f"key {'+'.join(keys):<24} {ms(median)} median, {ms(worst)} worst; "
                  f"minus pilot floor {ms(median - key_floor).strip()}")
        started = time.perf_counter()
        for _ in range(20):
            for y in range(table.size.height):
                table.render_line(y)
        print(f"render all visible lines     {ms((time.perf_counter() - started) / 20)} per frame")
        await pilot.press("slash")
        samples = []
        for key in "app-0004":
            started = time.perf_counter()
            await pilot.press(key)
            samples.append(time.perf_counter() - started)
        median = statistics.median(samples)
        print(f"filter keystroke             {ms(median)} median, {ms(max(samples))} worst; minus pilot floor "
              f"{ms(median - filter_floor).strip()} ({table.row_count:,} rows left)")
        started = time.perf_counter()
        table.set_filter("re:app-0004[0-9]-")
        print(f"regex filter over all rows   {ms(time.perf_counter() - started)}")
        await pilot.press("escape", "escape")
        await measure_sort(pilot, app, source, changed, key_floor)


async def measure_sort(pilot, app, source, changed, key_floor):
    """Sort keys at scale: the first sort of every row by a column, the same key again
    (reverse), and a snapshot update while sorted (the sorted runs are updated, not re-sorted)."""
    screen = app.screen
    table = screen.query_one("#pods")
    for label, key in (("sort key T (restarts)", "T"), ("same key again (reverse)", "T"),
                       ("sort key A (age)", "A"), ("sort key N (name)", "N")):
        started = time.perf_counter()
        await pilot.press(key)
        elapsed = time.perf_counter() - started
        print(f"{label:<28} {ms(elapsed)} via Pilot; minus pilot floor {ms(elapsed - key_floor).strip()}")
    for label, letter in (("sort call, A (age)", "A"), ("sort call, N again", "N")):
        started = time.perf_counter()
        screen.action_sort(letter)
        print(f"{label:<28} {ms(time.perf_counter() - started)} (direct call: sort + set_sections)")
    sorter = screen.sorted_rows["pods"]
    fulls = sorter.full_sorts
    pods = dict(changed.pods)
    uid = next(iter(pods))
    pods[uid] = dataclasses.replace(pods[uid], phase="Running")
    again = dataclasses.replace(changed, pods=pods)
    started = time.perf_counter()
    source.push(again)
    while app.view.snapshot is not again:
        await pilot.pause(0.005)
    await pilot.pause()
    print(f"update while sorted -> screen {ms(time.perf_counter() - started)}  (incl. the coalescing window; "
          f"{sorter.full_sorts - fulls} runs sorted again, {len(table.lines):,} lines)")


def main() -> None:
    pods = int(sys.argv[1]) if len(sys.argv) > 1 else 150_000
    nodes = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
    os.environ.setdefault("XDG_STATE_HOME", "/tmp/kataview-bench-state")
    print(f"kataview UI bench: {pods:,} pods on {nodes:,} nodes, Python {sys.version.split()[0]}")
    tracemalloc.start()
    snapshot = generated_snapshot(nodes=nodes, pods=pods)
    print(f"snapshot memory (tracemalloc){tracemalloc.get_traced_memory()[0] / 2**20:8.1f} MiB")
    tracemalloc.stop()
    changed = measure_view(snapshot)
    asyncio.run(measure_app(snapshot, changed))
    print(f"peak RSS                     {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.1f} MiB")


if __name__ == "__main__":
    main()
