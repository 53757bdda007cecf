"""The headless dashboard against a served cluster, measured from inside (one process).

    python bench/ui_probe.py --kubeconfig F --pods N [--interactive] [--burst-control]
                             [--burst RATE:SECONDS] [--soak RATE:SECONDS]

Prints one JSON object on the last line of stdout:
- node_pane_s, first_pod_s: from the App starting until the nodes pane, the pods pane,
  holds its first row;
- all_pods_s: from the App starting (LiveSource on the kubeconfig: real informers, real TLS)
  until the pods pane holds every pod (N rows);
- with --interactive: keypress -> frame (down, pagedown, end/home; median, p95), a filter
  keystroke (median, p95: to the frame echoing it in the field, and to the frame showing the
  rows filtered) and the regex filter over all rows. Measured from the key event
  entering the app to the first frame (compositor update, serialised) showing the table
  changed; Pilot.press's own idle waits (~60 ms whatever the size) are reported apart;
- with --burst / --soak: needs the server of bench/serve_burst.py, whose stdin/stdout are
  the fds given by --control-in/--control-out (bench/run.py wires them). The probe pod's restartCount carries a
  sequence number; lag = time the view showing seq N reached the screen's widgets minus the
  time the server applied seq N. Reported per 5 s window (burst) or 60 s window (soak), with
  RSS and the process's CPU share.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time

os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="kataview-bench-state-"))
os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="kataview-bench-config-"))

from kataview.sources.live import LiveSource  # noqa: E402
from kataview.sources.settings import Settings  # noqa: E402
from kataview.ui.app import make_app  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def timed_presses(pilot, keys: list[str], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        for key in keys:
            started = time.perf_counter()
            await pilot.press(key)
            samples.append(time.perf_counter() - started)
    return samples


class Frames:
    """Records every frame the compositor produces (headless Textual computes the update and
    skips only the terminal write, so the write's serialisation is done here too), with the
    pods table's state at that moment."""

    def __init__(self, app, table) -> None:
        from textual._compositor import CompositorUpdate

        self.app, self.table, self.frames = app, table, []
        original = app._display

        def display(screen, renderable):
            if renderable is not None:
                if isinstance(renderable, CompositorUpdate):
                    renderable.render_segments(app.console)
                self.frames.append((time.perf_counter(), self.state()))
            return original(screen, renderable)

        app._display = display

    def state(self) -> tuple:
        table = self.table
        return (table.cursor_key, round(table.scroll_y), table.row_filter.text, table.row_count,
                self.filter_field_value())

    def filter_field_value(self) -> str | None:
        try:
            return self.app.screen.query_one("#filter-input").value
        except Exception:  # noqa: BLE001 - another screen is on top
            return None

    async def key(self, pilot, key: str, timeout: float = 5.0) -> float | None:
        """Key event posted -> the first frame showing a changed table (None: no change)."""
        return (await self.key_parts(pilot, key, {"table": slice(0, 4)}, timeout))["table"]

    async def key_parts(self, pilot, key: str, parts: dict[str, slice],
                        timeout: float = 5.0) -> dict[str, float | None]:
        """Key event posted -> for each named part of the state, the first frame showing it
        changed (None: it did not change within timeout)."""
        from textual import events

        await pilot.pause()
        before, count = self.state(), len(self.frames)
        char = key if len(key) == 1 else None
        found: dict[str, float | None] = dict.fromkeys(parts)
        started = time.perf_counter()
        self.app._driver.send_message(events.Key(key, char))
        while time.perf_counter() - started < timeout and None in found.values():
            for at, state in self.frames[count:]:
                for name, part in parts.items():
                    if found[name] is None and state[part] != before[part]:
                        found[name] = at - started
            await asyncio.sleep(0.0005)
        return found


async def frame_times(frames: Frames, pilot, keys: list[str], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        for key in keys:
            value = await frames.key(pilot, key)
            if value is not None:
                samples.append(value)
    return samples


class Probe:
    """Watches the view reaching the screen; remembers when each probe seq first showed."""

    def __init__(self, app, uid: str) -> None:
        self.app, self.uid = app, uid
        self.seen: dict[int, float] = {}
        self.views = 0

    def on_view(self, view) -> None:
        self.views += 1
        if view is None:
            return
        row = view.pod_row(self.uid) if hasattr(view, "pod_row") else view.pod_rows.get(self.uid)
        if row is not None and row.restarts not in self.seen:
            self.seen[row.restarts] = time.time()


async def drive_load(app, probe: Probe, rate: float, seconds: float, window: float,
                     control_in, control_out) -> dict:
    """Ask the server for events; sample lag, RSS and CPU while they flow."""
    loop = asyncio.get_running_loop()
    sent: dict[int, float] = {}
    done: list[str] = []

    def read_server() -> None:
        for line in control_in:
            parts = line.split()
            if parts and parts[0] == "probe":
                sent[int(parts[1])] = float(parts[2])
            elif parts and parts[0] == "done":
                done.extend(parts[1:])
                return

    control_out.write(f"burst {rate} {seconds}\n")
    control_out.flush()
    reader = loop.run_in_executor(None, read_server)
    started, cpu0 = time.time(), cpu_seconds()
    windows, trace = [], []
    next_cut, w_cpu = started + window, cpu0
    # UI stall: how late this loop's 50 ms sleep wakes up (the event loop was busy that long)
    heap = getattr(app, "heap", None)
    w_stall = t_stall = 0.0
    next_trace = started + 5.0
    while not reader.done() and time.time() < started + seconds + 60:
        before = time.perf_counter()
        await asyncio.sleep(0.05)
        late = time.perf_counter() - before - 0.05
        w_stall, t_stall = max(w_stall, late), max(t_stall, late)
        if time.time() >= next_trace:
            trace.append({"t": round(next_trace - started, 1), "rss_mib": round(rss_mib(), 1),
                          "stall_max_ms": round(t_stall * 1000, 1),
                          "full_collections": getattr(heap, "full_collections", None),
                          "refreezes": getattr(heap, "refreezes", None)})
            t_stall, next_trace = 0.0, next_trace + 5.0
        if time.time() >= next_cut:
            now_cpu = cpu_seconds()
            windows.append({"t": round(next_cut - started, 1), "rss_mib": round(rss_mib(), 1),
                            "cpu_share": round((now_cpu - w_cpu) / window, 3),
                            "stall_max_ms": round(w_stall * 1000, 1)})
            w_cpu, next_cut, w_stall = now_cpu, next_cut + window, 0.0
    await reader
    await asyncio.sleep(3)  # let the last probes reach the screen
    lags = sorted((sent[seq] - started, probe.seen[seq] - sent[seq])
                  for seq in sent if seq in probe.seen)
    for entry in windows:
        in_window = [lag for at, lag in lags if entry["t"] - window <= at < entry["t"]]
        entry["lag_p50_ms"] = round(statistics.median(in_window) * 1000, 1) if in_window else None
        entry["lag_max_ms"] = round(max(in_window) * 1000, 1) if in_window else None
        entry["probes_seen"] = len(in_window)
    all_lags = [lag for _, lag in lags]
    return {"rate": rate, "seconds": seconds, "events_applied": int(done[0]) if done else None,
            "server_cpu_s": float(done[1]) if len(done) > 1 else None,
            "probes_sent": len(sent), "probes_seen": len(lags),
            "lag_p50_ms": round(statistics.median(all_lags) * 1000, 1) if all_lags else None,
            "lag_p95_ms": round(pct(all_lags, 0.95) * 1000, 1) if all_lags else None,
            "lag_max_ms": round(max(all_lags) * 1000, 1) if all_lags else None,
            "cpu_share": round((cpu_seconds() - cpu0) / max(1e-9, time.time() - started), 3),
            "full_collections": getattr(heap, "full_collections", None),
            "refreezes": getattr(heap, "refreezes", None),
            "windows": windows, "trace": trace}


async def run(args: argparse.Namespace) -> dict:
    settings = Settings(kubeconfig=args.kubeconfig, all_namespaces=True, read_only=True)
    source = LiveSource(settings, args.kubeconfig)
    app = make_app(settings, source)
    result: dict = {"pods": args.pods}
    started, cpu_started = time.perf_counter(), cpu_seconds()
    async with app.run_test(size=(200, 60)) as pilot:
        table = nodes = None
        deadline = started + args.timeout
        while time.perf_counter() < deadline:
            if table is None and app.view is not None:
                try:
                    table = app.screen.query_one("#pods")
                    nodes = app.screen.query_one("#nodes")
                except Exception:  # noqa: BLE001 - the main screen is not mounted yet
                    table = None
            if nodes is not None and nodes.row_count and "node_pane_s" not in result:
                result["node_pane_s"] = round(time.perf_counter() - started, 3)
            if table is not None and table.row_count and "first_pod_s" not in result:
                result["first_pod_s"] = round(time.perf_counter() - started, 3)
            if table is not None and table.row_count >= args.pods:
                break
            await asyncio.sleep(0.01)
        else:
            result["error"] = f"timeout: {getattr(table, 'row_count', 0)} rows"
            return result
        await pilot.pause()
        result["all_pods_s"] = round(time.perf_counter() - started, 3)
        result["all_pods_cpu_s"] = round(cpu_seconds() - cpu_started, 3)
        result["rss_loaded_mib"] = round(rss_mib(), 1)
        if args.interactive:
            await pilot.pause(0.5)
            frames = Frames(app, table)
            keys = {}
            for name, presses in (("down", ["down"]), ("pagedown", ["pagedown"]),
                                  ("end/home", ["end", "home"])):
                samples = await frame_times(frames, pilot, presses, 20)
                keys[name] = {"median_ms": round(statistics.median(samples) * 1000, 1),
                              "p95_ms": round(pct(samples, 0.95) * 1000, 1)}
            result["keys"] = keys
            every = await frame_times(frames, pilot, ["down", "pagedown", "end", "home"], 10)
            result["key_median_ms"] = round(statistics.median(every) * 1000, 1)
            result["key_p95_ms"] = round(pct(every, 0.95) * 1000, 1)
            pressed = await timed_presses(pilot, ["down"], 20)
            result["pilot_press_down_median_ms"] = round(statistics.median(pressed) * 1000, 1)
            await pilot.press("slash")
            echoes, samples = [], []
            for letter in "web-0004":
                times = await frames.key_parts(pilot, letter, {"echo": slice(4, 5), "applied": slice(0, 4)})
                echoes += [times["echo"]] if times["echo"] is not None else []
                samples += [times["applied"]] if times["applied"] is not None else []
            result["filter_echo_median_ms"] = round(statistics.median(echoes) * 1000, 1)
            result["filter_echo_p95_ms"] = round(pct(echoes, 0.95) * 1000, 1)
            result["filter_median_ms"] = round(statistics.median(samples) * 1000, 1)
            result["filter_p95_ms"] = round(pct(samples, 0.95) * 1000, 1)
            result["filter_rows_left"] = table.row_count
            backspaces = await frame_times(frames, pilot, ["backspace"] * 8, 1)
            result["filter_backspace_median_ms"] = round(statistics.median(backspaces) * 1000, 1)
            await pilot.press("escape")
            started_re = time.perf_counter()
            table.set_filter("re:web-0004[0-9]-")
            result["regex_filter_ms"] = round((time.perf_counter() - started_re) * 1000, 1)
            table.set_filter("")
            await pilot.pause()
        if args.burst or args.soak:
            control_in = os.fdopen(args.control_in, "r")
            control_out = os.fdopen(args.control_out, "w")
            probe = Probe(app, args.probe_uid)
            app.view_changed.subscribe(app.screen, probe.on_view)
            if args.burst:
                rate, seconds = map(float, args.burst.split(":"))
                result["burst"] = await drive_load(app, probe, rate, seconds, 5.0,
                                                   control_in, control_out)
                # keypress during the load is part of the cost: measure once more, after
                result["key_after_burst_median_ms"] = round(statistics.median(
                    await timed_presses(pilot, ["down"], 20)) * 1000, 1)
            if args.soak:
                rate, seconds = map(float, args.soak.split(":"))
                result["soak"] = await drive_load(app, probe, rate, seconds, 60.0,
                                                  control_in, control_out)
        result["rss_end_mib"] = round(rss_mib(), 1)
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--pods", type=int, required=True)
    parser.add_argument("--interactive", action="store_true")
    parser.add_argument("--burst")
    parser.add_argument("--soak")
    parser.add_argument("--probe-uid", default="")
    parser.add_argument("--control-in", type=int, default=3, help="fd: the server's stdout")
    parser.add_argument("--control-out", type=int, default=4, help="fd: the server's stdin")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)
    os._exit(0)  # the benchmark is over: skip freeing 150,000 pods at exit


if __name__ == "__main__":
    main()
