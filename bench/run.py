"""kataview at scale, side by side with kubectl: `make bench` (python bench/run.py).

    python bench/run.py [--sizes 1000,10000,50000,150000] [--quick] [--soak] [--no-kubectl]
                        [--repeat 3] [--out bench/RESULTS.md]

For each size the demo API double serves a generated cluster (realistic objects, real
pagination, HTTPS, bearer token) in its own process (`python -m kataview.demo.serve`, the code
behind `kataview demo --serve`), and every client runs as its own process, timed with
/usr/bin/time (wall, peak RSS, CPU):

- kataview report --json                      the complete inventory
- the headless dashboard (bench/ui_probe.py)  App start until the pods pane holds every pod
- kubectl get pods -A -o custom-columns=...   the operator's command for the same table
- kubectl get pods -A                         server-side Table
- the floor (bench/floor.py)                  the same pages fetched with kataview's transport
                                              and not decoded; then the same bytes decoded alone

At the largest size: keypress -> frame, filter keystroke; then a burst of 2,000 watch events a
second for 30 s against bench/serve_burst.py (lag from event applied to view on screen, per
5 s window). --soak adds 10 minutes at 100 events a second (memory must stay flat).

The server is warmed up with one unmeasured list first (it caches each object's JSON, as the
real API server's watch cache does). The machine is shared: the report and the floor run
--repeat times (3) alternately and the median of each is shown; the rest are single runs; wall
time and CPU time are both given.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PYTHON = sys.executable
KATAVIEW = str(Path(PYTHON).with_name("kataview"))
TIME = shutil.which("time", path="/usr/bin") or None
COLUMNS = ("NAMESPACE:.metadata.namespace,NAME:.metadata.name,NODE:.spec.nodeName,"
           "RUNTIME:.spec.runtimeClassName,PHASE:.status.phase")
CHILD_TIMEOUT = 900


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def nodes_for(pods: int) -> int:
    return max(3, min(5000, round(pods / 30)))


# -- child processes -------------------------------------------------------------------------


def measured(argv: list[str], *, stdout=subprocess.DEVNULL, env=None, pass_fds=()) -> dict:
    """Run a child; wall seconds, peak RSS (MiB), user+sys CPU seconds, exit code."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        if TIME:
            argv = [TIME, "-f", "%e %M %U %S", "-o", out.name, *argv]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, env=env,
                              pass_fds=pass_fds, timeout=CHILD_TIMEOUT, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = {"wall_s": wall, "rc": proc.returncode,
                  "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
                  "rss_mib": after.ru_maxrss / 1024}  # fallback: max over children so far
        if TIME:
            fields = out.read().split()
            if len(fields) >= 4 and proc.returncode == 0:
                result.update(wall_s=float(fields[-4]), rss_mib=int(fields[-3]) / 1024,
                              cpu_s=float(fields[-2]) + float(fields[-1]))
        if proc.returncode != 0:
            result["stderr"] = proc.stderr[-2000:]
            log(f"  ! {' '.join(argv[-6:])} exited {proc.returncode}: {proc.stderr[-300:]}")
        if isinstance(proc.stdout, str):
            result["stdout"] = proc.stdout
        return result


class Server:
    """A served cluster in its own process; stopped by its PID."""

    def __init__(self, argv: list[str], kubeconfig: Path, ready: str) -> None:
        self.kubeconfig = kubeconfig
        started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, bufsize=0, cwd=ROOT)
        self.first_line = ""
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError(f"server exited: {argv}")
            if line.startswith(ready):
                self.first_line = line.strip()
                break
        self.startup_s = time.perf_counter() - started

    def rss_mib(self) -> float:
        try:
            with open(f"/proc/{self.proc.pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def median_by(runs: list[dict], key) -> dict:
    return dict(sorted(runs, key=key)[(len(runs) - 1) // 2])


# -- one size --------------------------------------------------------------------------------


def measure_size(pods: int, workdir: Path, args: argparse.Namespace, ui_extra: bool) -> dict:
    nodes = nodes_for(pods)
    kubeconfig = workdir / f"kubeconfig-{pods}.yaml"
    log(f"{pods:,} pods on {nodes:,} nodes: starting the API double")
    server = Server([PYTHON, "-m", "kataview.demo.serve", "--nodes", str(nodes), "--pods",
                     str(pods), "--kubeconfig-out", str(kubeconfig)], kubeconfig, "kubeconfig:")
    row: dict = {"pods": pods, "nodes": nodes, "server_startup_s": round(server.startup_s, 1)}
    try:
        log(f"  served in {server.startup_s:.1f} s; warm-up list")
        measured([PYTHON, str(BENCH / "floor.py"), str(kubeconfig)])
        env = dict(os.environ)
        env.setdefault("XDG_STATE_HOME", str(workdir / "state"))
        env.setdefault("XDG_CONFIG_HOME", str(workdir / "config"))
        # The report and the floor alternate, args.repeat times each; the median run of each
        # is kept (the machine is shared: one run can be off by a second either way).
        reports, floors = [], []
        for attempt in range(args.repeat):
            log(f"  kataview report --json ({attempt + 1}/{args.repeat})")
            reports.append(measured([KATAVIEW, "--kubeconfig", str(kubeconfig), "report", "--json"],
                                    env=env))
            log(f"    {reports[-1]['wall_s']:.2f} s, {reports[-1]['rss_mib']:.0f} MiB")
            log("  floor: fetch without decoding, then decode alone")
            floor = measured([PYTHON, str(BENCH / "floor.py"), str(kubeconfig)],
                             stdout=subprocess.PIPE)
            floors.append({**json.loads(floor["stdout"].strip().splitlines()[-1]),
                           "rss_mib": floor["rss_mib"]})
            log(f"    fetch {floors[-1]['fetch_s']:.2f} s + decode {floors[-1]['decode_s']:.2f} s")
        row["report"] = median_by(reports, lambda run: run["wall_s"])
        row["report"]["runs_wall_s"] = [round(run["wall_s"], 2) for run in reports]
        row["floor"] = median_by(floors, lambda run: run["fetch_s"] + run["decode_s"])
        row["floor"]["runs_s"] = [round(run["fetch_s"] + run["decode_s"], 2) for run in floors]
        log("  dashboard (headless) until every pod is on screen"
            + (" + keypress/filter" if ui_extra else ""))
        argv = [PYTHON, str(BENCH / "ui_probe.py"), "--kubeconfig", str(kubeconfig),
                "--pods", str(pods)]
        if ui_extra:
            argv.append("--interactive")
        ui = measured(argv, stdout=subprocess.PIPE, env=env)
        row["ui"] = {**(json.loads(ui["stdout"].strip().splitlines()[-1]) if ui["rc"] == 0 else {}),
                     "rss_mib": ui["rss_mib"], "wall_s": ui["wall_s"]}
        log(f"    all pods shown after {row['ui'].get('all_pods_s')} s")
        if not args.no_kubectl:
            cache = workdir / f"kube-cache-{pods}"
            base = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]
            log("  kubectl get pods -A -o custom-columns=...")
            row["kubectl_columns"] = measured(base + ["get", "pods", "-A", "-o",
                                                      f"custom-columns={COLUMNS}"])
            log(f"    {row['kubectl_columns']['wall_s']:.2f} s, "
                f"{row['kubectl_columns']['rss_mib']:.0f} MiB")
            log("  kubectl get pods -A (server-side Table)")
            row["kubectl_table"] = measured(base + ["get", "pods", "-A"])
            log(f"    {row['kubectl_table']['wall_s']:.2f} s, "
                f"{row['kubectl_table']['rss_mib']:.0f} MiB")
        row["server_rss_mib"] = round(server.rss_mib(), 1)
    finally:
        server.stop()
    for entry in row.values():
        if isinstance(entry, dict):
            entry.pop("stdout", None)
    return row


def measure_load(pods: int, workdir: Path, burst: str | None, soak: str | None) -> dict:
    nodes = nodes_for(pods)
    kubeconfig = workdir / f"kubeconfig-burst-{pods}.yaml"
    log(f"watch load at {pods:,} pods: starting bench/serve_burst.py")
    server = Server([PYTHON, str(BENCH / "serve_burst.py"), "--nodes", str(nodes), "--pods",
                     str(pods), "--kubeconfig-out", str(kubeconfig)], kubeconfig, "ready")
    try:
        uid = server.first_line.split()[1]
        argv = [PYTHON, str(BENCH / "ui_probe.py"), "--kubeconfig", str(kubeconfig), "--pods",
                str(pods), "--probe-uid", uid, "--control-in", str(server.proc.stdout.fileno()),
                "--control-out", str(server.proc.stdin.fileno())]
        if burst:
            argv += ["--burst", burst]
            log(f"  burst {burst.replace(':', ' events/s for ')} s")
        if soak:
            argv += ["--soak", soak]
            log(f"  soak {soak.replace(':', ' events/s for ')} s")
        env = dict(os.environ, XDG_STATE_HOME=str(workdir / "state"),
                   XDG_CONFIG_HOME=str(workdir / "config"))
        result = measured(argv, stdout=subprocess.PIPE, env=env,
                          pass_fds=(server.proc.stdout.fileno(), server.proc.stdin.fileno()))
        data = json.loads(result["stdout"].strip().splitlines()[-1]) if result["rc"] == 0 else {}
        data["rss_mib"] = result["rss_mib"]
        server.proc.stdin.write(b"quit\n")
        return data
    finally:
        server.stop()


# -- output ----------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def fmt_s(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def fmt_mib(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else "-"


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| pods | nodes | kataview report s (CPU) | RSS MiB | dashboard all pods s | UI RSS MiB "
        "| kubectl custom-columns s | RSS MiB | kubectl get (Table) s | RSS MiB "
        "| floor fetch + decode s | kubectl-cc / kataview | kataview / floor | kubectl-cc RSS / kataview RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        rep, ui, floor = row.get("report", {}), row.get("ui", {}), row.get("floor", {})
        cc, tab = row.get("kubectl_columns", {}), row.get("kubectl_table", {})
        floor_total = (floor.get("fetch_s") or 0) + (floor.get("decode_s") or 0) or None
        lines.append(
            f"| {row['pods']:,} | {row['nodes']:,} | {fmt_s(rep.get('wall_s'))} ({fmt_s(rep.get('cpu_s'))}) "
            f"| {fmt_mib(rep.get('rss_mib'))} | {fmt_s(ui.get('all_pods_s'))} | {fmt_mib(ui.get('rss_mib'))} "
            f"| {fmt_s(cc.get('wall_s'))} | {fmt_mib(cc.get('rss_mib'))} "
            f"| {fmt_s(tab.get('wall_s'))} | {fmt_mib(tab.get('rss_mib'))} "
            f"| {fmt_s(floor.get('fetch_s'))} + {fmt_s(floor.get('decode_s'))} = {fmt_s(floor_total)} "
            f"| {ratio(cc.get('wall_s'), rep.get('wall_s'))} | {ratio(rep.get('wall_s'), floor_total)} "
            f"| {ratio(cc.get('rss_mib'), rep.get('rss_mib'))} |")
    return lines


def ui_lines(top: dict | None, load: dict | None) -> list[str]:
    lines = []
    ui = (top or {}).get("ui", {})
    if ui.get("key_median_ms") is not None:
        lines += [f"UI at {top['pods']:,} pods (headless, 200x60; key event into the app -> first "
                  "frame showing the change, compositor update serialised; Pilot.press itself "
                  f"takes {ui.get('pilot_press_down_median_ms')} ms, mostly its idle waits):", "",
                  "| measure | median ms | p95 ms |", "|---|---:|---:|"]
        for name, entry in ui.get("keys", {}).items():
            lines.append(f"| key {name} | {entry['median_ms']} | {entry['p95_ms']} |")
        lines.append(f"| keypress -> frame, all of the above | {ui['key_median_ms']} | {ui['key_p95_ms']} |")
        if "filter_echo_median_ms" in ui:
            lines.append(f"| filter keystroke echoed in the field | {ui['filter_echo_median_ms']} "
                         f"| {ui['filter_echo_p95_ms']} |")
        lines.append(f"| filter keystroke applied (`/` then `web-0004`) | {ui['filter_median_ms']} | {ui['filter_p95_ms']} |")
        lines.append(f"| filter backspace | {ui.get('filter_backspace_median_ms')} | - |")
        lines.append(f"| regex filter over all rows (direct call) | {ui.get('regex_filter_ms')} | - |")
        lines.append("")
    for name in ("burst", "soak"):
        entry = (load or {}).get(name)
        if not entry:
            continue
        lines += [f"Watch {name}: {entry['rate']:.0f} events/s for {entry['seconds']:.0f} s "
                  f"({entry.get('events_applied')} applied by the server, server CPU "
                  f"{entry.get('server_cpu_s')} s); probe lag (event applied in the server -> "
                  f"view on the screen's widgets): p50 {entry['lag_p50_ms']} ms, p95 "
                  f"{entry['lag_p95_ms']} ms, max {entry['lag_max_ms']} ms; dashboard CPU share "
                  f"{entry['cpu_share']:.2f} cores; {entry['probes_seen']}/{entry['probes_sent']} "
                  "probes seen.", "",
                  f"Heap: {entry.get('refreezes')} re-freezes, {entry.get('full_collections')} "
                  "full collections while idle.", "",
                  "| window end s | lag p50 ms | lag max ms | RSS MiB | max UI stall ms | CPU share |",
                  "|---:|---:|---:|---:|---:|---:|"]
        for window in entry["windows"]:
            lines.append(f"| {window['t']} | {window['lag_p50_ms']} | {window['lag_max_ms']} "
                         f"| {window['rss_mib']} | {window.get('stall_max_ms')} | {window['cpu_share']} |")
        lines.append("")
    if load and load.get("key_after_burst_median_ms") is not None:
        lines += [f"Keypress (down) right after the burst: {load['key_after_burst_median_ms']} ms median.", ""]
    return lines


def machine() -> str:
    kubectl = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True,
                             text=True)
    try:
        kubectl_version = json.loads(kubectl.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        kubectl_version = "?"
    return (f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, "
            f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
            f"Python {platform.python_version()}, kubectl {kubectl_version}, "
            f"load average at start {os.getloadavg()[0]:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000,150000")
    parser.add_argument("--quick", action="store_true", help="1,000 and 5,000 pods, short burst")
    parser.add_argument("--soak", action="store_true", help="add 10 minutes at 100 events/s")
    parser.add_argument("--no-kubectl", action="store_true")
    parser.add_argument("--no-burst", action="store_true")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the report and of the floor per size; the median is shown")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    sizes = [1000, 5000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",")]
    burst = None if args.no_burst else ("2000:5" if args.quick else "2000:30")
    soak = ("100:30" if args.quick else "100:600") if args.soak else None
    about = machine()
    log(f"kataview bench: sizes {sizes}; {about}")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="kataview-bench-"))
    rows: list[dict] = []
    load = None
    try:
        for pods in sizes:
            rows.append(measure_size(pods, workdir, args, ui_extra=pods == max(sizes)))
        if burst or soak:
            load = measure_load(max(sizes), workdir, burst, soak)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    lines = ["# kataview at scale vs kubectl", "",
             f"`python bench/run.py {' '.join(sys.argv[1:])}` — {about}; the run took "
             f"{elapsed / 60:.1f} min.", ""]
    lines += table(rows) + [""]
    lines += ui_lines(rows[-1] if rows else None, load)
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    (BENCH / "results.json").write_text(json.dumps({"machine": about, "rows": rows, "load": load},
                                                   indent=1) + "\n")
    if args.out:
        previous = args.out.read_text() if args.out.exists() else ""
        marker = "<!-- notes -->"
        notes = previous[previous.index(marker):] if marker in previous else marker + "\n"
        args.out.write_text(text + "\n" + notes)
        log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
