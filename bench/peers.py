"""kataview, k9s and kubectl side by side on a real kube-apiserver: `make bench-peers`.

    python bench/peers.py [--sizes 1000,10000,50000,150000] [--tools kataview,k9s,kubectl]
                          [--samples 30] [--churn-s 60] [--limit-s 600] [--out bench/PEERS.md]

For each size a fresh control plane (realparts: etcd + kube-apiserver v1.37.2 on 127.0.0.1,
own temp directory, in-flight limits off) is filled with a generated cluster (30 pods a node,
bench/peers_load.py) and each tool runs alone in its own tmux session (200x60, a private tmux
server) with the same admin kubeconfig, one tool after another:

- start -> first pod row on screen, -> the full pod count on screen (kataview: its pods pane
  title; k9s 0.50.16: `-A -c pods`, the title `pods(all)[N]`; kubectl: `get pods -A` returned),
  capture-pane every ~70 ms; a tool not complete after --limit-s is recorded as such;
- RSS of the tool's process tree once loaded (/proc VmRSS), CPU share over --churn-s seconds
  of 100 pod label patches a second (/proc utime+stime);
- key -> screen latency (bench/peers_keys.py) for both TUIs;
- `kataview report --json` and bench/floor.py against the same server, for the targets.

Safety: every tool, the control plane and kubectl are checked for TCP peers outside
127.0.0.0/8 (from /proc, sampled while they run and at the end); any such peer fails the run.
No tool reads ~: HOME, XDG_*, K9S_CONFIG_DIR, K9S_LOGS_DIR and kubectl's cache are temp dirs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

import peers_proc  # noqa: E402
import peers_report  # noqa: E402
from peers_keys import cursor_latency, filter_latency  # noqa: E402
from peers_load import Churner, Server, populate  # noqa: E402
from peers_screen import (Tmux, k9s_count, kataview_count, kataview_nodes_shown,  # noqa: E402
                          kubectl_done, watch_arrival)
from realparts.controlplane import Binaries, free_port, start_control_plane  # noqa: E402
from realparts.parts import locate  # noqa: E402

PYTHON = sys.executable
KATAVIEW = str(Path(PYTHON).with_name("kataview"))
K9S_CONFIG = "k9s:\n  skipLatestRevCheck: true\n  refreshRate: 2\n"
PODS_PER_NODE = 30


class UnsafePeer(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def nodes_for(pods: int) -> int:
    return max(3, round(pods / PODS_PER_NODE))


class PeerWatch:
    """TCP peers of the processes we started, sampled now and then; anything off loopback fails."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {}
        self.last = 0.0

    def sample(self, name: str, pid: int, every: float = 1.0) -> None:
        if time.monotonic() - self.last < every:
            return
        self.last = time.monotonic()
        self.check(name, pid)

    def check(self, name: str, pid: int) -> None:
        peers = peers_proc.tree_tcp_peers(pid)
        self.seen.setdefault(name, set()).update(peers)
        outside = peers_proc.outside_loopback(peers)
        if outside:
            raise UnsafePeer(f"{name} (pid {pid}) talks to {sorted(outside)}")


def tool_env(home: Path, **extra: str) -> dict[str, str]:
    for sub in ("config", "state", "data", "cache", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "TERM": "xterm-256color",
            "COLORTERM": "truecolor", "LANG": "C.UTF-8", "TMPDIR": str(home / "tmp"),
            "XDG_CONFIG_HOME": str(home / "config"), "XDG_STATE_HOME": str(home / "state"),
            "XDG_DATA_HOME": str(home / "data"), "XDG_CACHE_HOME": str(home / "cache"), **extra}


def k9s_env(home: Path) -> dict[str, str]:
    config = home / "k9s-config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.yaml").write_text(K9S_CONFIG)  # internal/config/files.go: $K9S_CONFIG_DIR/config.yaml
    return tool_env(home, K9S_CONFIG_DIR=str(config), K9S_LOGS_DIR=str(home / "k9s-logs"))


def stop_tool(tmux: Tmux, session: str, pid: int) -> None:
    tmux.kill_session(session)  # the pane's process gets SIGHUP
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        state = peers_proc.status_fields(pid).get("State", "")
        if state.startswith("Z"):
            break
        time.sleep(0.1)
    else:
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, 9)


def measure_tui(name: str, argv: list[str], env: dict, count_of, pods: int, args, tmux: Tmux,
                server: Server, targets: list, watch: PeerWatch, focus: tuple[str, ...] = ()) -> dict:
    session = f"{name}-{pods}"
    log(f"  {name}: start")
    started = time.monotonic()
    pid = tmux.start(session, argv, env)
    marks = {"nodes_pane_s": kataview_nodes_shown} if name == "kataview" else None
    result: dict = {"pid": pid}
    try:
        guard = MemoryGuard(pid, args.rss_limit_mib)
        arrival = watch_arrival(lambda: tmux.screen(session), count_of, pods, args.limit_s,
                                started=started, marks=marks,
                                on_poll=lambda: watch.sample(name, pid) or guard.check())
        result.update(first_row_s=arrival.first_row_s, full_s=arrival.full_s,
                      gave_up_s=arrival.gave_up_s, last_count=arrival.last_count,
                      rss_peak_loading_mib=round(guard.peak, 1), **arrival.marks)
        if arrival.stopped:
            result["stopped"] = arrival.stopped
        log(f"    first row {arrival.first_row_s} s, full {arrival.full_s} s"
            + (f", GAVE UP at {arrival.gave_up_s:.0f} s with {arrival.last_count}" if arrival.gave_up_s else "")
            + (f" ({arrival.stopped})" if arrival.stopped else ""))
        if arrival.full_s is None:
            result["screen_at_limit"] = tmux.screen(session)
            return result
        time.sleep(2)
        result["rss_mib"] = round(peers_proc.tree_rss_mib(pid), 1)
        for key in focus:
            tmux.keys(session, key)
            time.sleep(0.5)
        result["capture_ms"] = capture_cost_ms(tmux, session)
        result["cursor"] = cursor_latency(tmux, session, args.samples, args.keys_budget_s).summary()
        echo, applied = filter_latency(tmux, session, count_of, pods, samples=args.samples,
                                       budget_s=args.keys_budget_s)
        result["filter_echo"], result["filter_applied"] = echo.summary(), applied.summary()
        log(f"    RSS {result['rss_mib']} MiB; cursor {result['cursor']}; filter echo "
            f"{result['filter_echo']}; applied {result['filter_applied']}")
        result["churn"] = churn_share(pid, server, targets, args.churn_s)
        result["rss_after_churn_mib"] = round(peers_proc.tree_rss_mib(pid), 1)
        log(f"    churn: {result['churn']}")
        watch.check(name, pid)
        return result
    finally:
        stop_tool(tmux, session, pid)


class MemoryGuard:
    """The tool's tree RSS, checked about once a second while it loads: over the cap it is
    stopped (k9s held 5.1 GiB at 50,000 pods; at 150,000 it would take the shared machine's
    memory, next to a 6 GiB apiserver and etcd's data on tmpfs)."""

    def __init__(self, pid: int, limit_mib: float):
        self.pid, self.limit_mib, self.peak, self.last = pid, limit_mib, 0.0, 0.0

    def check(self) -> str:
        if time.monotonic() - self.last < 1:
            return ""
        self.last = time.monotonic()
        rss = peers_proc.tree_rss_mib(self.pid)
        self.peak = max(self.peak, rss)
        return f"stopped: RSS {rss:,.0f} MiB over the {self.limit_mib:,.0f} MiB cap" \
            if rss > self.limit_mib else ""


def capture_cost_ms(tmux: Tmux, session: str, runs: int = 15) -> float:
    """What one capture-pane -e of this screen costs: the resolution of the key latencies."""
    costs = []
    for _ in range(runs):
        started = time.monotonic()
        tmux.screen(session, styled=True)
        costs.append((time.monotonic() - started) * 1000)
    return round(sorted(costs)[runs // 2], 1)


def churn_share(pid: int, server: Server, targets: list, seconds: float) -> dict:
    churner = Churner(server, targets, 100, seconds)
    churner.start()
    time.sleep(1)  # the churner's own start-up (TLS pool) is not the tool's window
    cpu_before, wall_before = peers_proc.tree_cpu_seconds(pid), time.monotonic()
    result = churner.result(seconds + 60)
    cpu = peers_proc.tree_cpu_seconds(pid) - cpu_before
    wall = time.monotonic() - wall_before
    return {**result, "cpu_s": round(cpu, 2), "window_s": round(wall, 1),
            "cpu_share": round(cpu / wall, 3) if wall else None}


def measure_kubectl(kubeconfig: Path, home: Path, pods: int, args, tmux: Tmux,
                    watch: PeerWatch) -> dict:
    session = f"kubectl-{pods}"
    timing = home / "kubectl.time"
    script = (f"/usr/bin/time -f '%e %M %U %S' -o {timing} kubectl --kubeconfig {kubeconfig} "
              f"--cache-dir {home / 'kube-cache'} get pods -A; echo __peers_done__ rc=$?")
    log("  kubectl get pods -A: start")
    started = time.monotonic()
    pid = tmux.start(session, ["sh", "-c", script], tool_env(home))
    try:
        arrival = watch_arrival(lambda: tmux.screen(session), lambda s: kubectl_done(s) is not None, pods, args.limit_s,
                                started=started, on_poll=lambda: watch.sample("kubectl", pid, 0.5))
        result = {"first_row_s": arrival.first_row_s, "full_s": arrival.full_s,
                  "gave_up_s": arrival.gave_up_s, "rc": kubectl_done(tmux.screen(session))}
        fields = timing.read_text().split() if timing.exists() else []
        if len(fields) >= 4:
            result.update(wall_s=float(fields[-4]), rss_mib=round(int(fields[-3]) / 1024, 1),
                          cpu_s=round(float(fields[-2]) + float(fields[-1]), 2))
        log(f"    first row {arrival.first_row_s} s, returned {arrival.full_s} s, {result.get('rss_mib')} MiB")
        return result
    finally:
        stop_tool(tmux, session, pid)


def timed(argv: list[str], env: dict) -> dict:
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", "-o", out.name, *argv],
                              capture_output=True, text=True, env=env, timeout=900)
        fields = out.read().split()
    result = {"rc": proc.returncode, "stdout": proc.stdout.strip().splitlines()[-1:] }
    if len(fields) >= 4:
        result.update(wall_s=float(fields[-4]), rss_mib=round(int(fields[-3]) / 1024, 1),
                      cpu_s=round(float(fields[-2]) + float(fields[-1]), 2))
    return result


def report_and_floor(kubeconfig: Path, home: Path, repeat: int) -> dict:
    env = {**os.environ, **tool_env(home)}
    reports, floors = [], []
    for _ in range(repeat):
        run = timed([KATAVIEW, "--kubeconfig", str(kubeconfig), "report", "--json"], env)
        run.pop("stdout")
        reports.append(run)
        floor = timed([PYTHON, str(BENCH / "floor.py"), str(kubeconfig)], env)
        floors.append(json.loads(floor["stdout"][0]) if floor["rc"] == 0 else {"rc": floor["rc"]})
    reports.sort(key=lambda r: r.get("wall_s", 1e9))
    floors.sort(key=lambda f: f.get("fetch_s", 1e9) + f.get("decode_s", 1e9))
    middle = (repeat - 1) // 2
    return {"report": {**reports[middle], "runs_wall_s": [r.get("wall_s") for r in reports]},
            "floor": floors[middle]}


def measure_size(pods: int, binaries: Binaries, k9s: Path | None, args, workdir: Path) -> dict:
    from kataview.demo.generator import generated_objects

    nodes = nodes_for(pods)
    log(f"{pods:,} pods on {nodes:,} nodes: starting the control plane")
    row: dict = {"pods": pods, "nodes": nodes, "load_avg_start": os.getloadavg()}
    tmux = Tmux(f"kvpeers{os.getpid()}")
    watch = PeerWatch()
    # JSON storage: the etcd loader writes pods as the apiserver would (bench/peers_etcd.py)
    media = "application/json" if args.populate == "etcd" else None
    with start_control_plane(binaries, bulk=True, quota_bytes=8 * 2**30, parent=workdir,
                             users=(), storage_media_type=media) as cp:
        server = Server(cp.url, cp.admin_token, str(cp.ca_path))
        objects = generated_objects(nodes, pods)
        row["population"] = populate(server, objects, free_port(), workers=args.workers,
                                     etcd_url=cp.etcd_url if args.populate == "etcd" else "")
        log(f"  populated in {row['population']['total_s']} s ({row['population']['pods_per_s']} pods/s)")
        targets = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects
                   if o["kind"] == "Pod"][::max(1, pods // 5000)]
        del objects
        home = workdir / f"home-{pods}"
        try:
            row.update(report_and_floor(cp.kubeconfig, home / "report", args.repeat))
            log(f"  report {row['report'].get('wall_s')} s; floor {row['floor']}")
            kubeconfig = cp.kubeconfig
            if "kataview" in args.tools:
                row["kataview"] = measure_tui("kataview", [KATAVIEW, "--kubeconfig", str(kubeconfig)],
                                              tool_env(home / "kataview"), kataview_count, pods, args,
                                              tmux, server, targets, watch, focus=("4",))
            if "k9s" in args.tools and k9s is not None:
                row["k9s"] = measure_tui("k9s", [str(k9s), "--kubeconfig", str(kubeconfig), "-A", "-c", "pods"],
                                         k9s_env(home / "k9s"), k9s_count, pods, args, tmux, server,
                                         targets, watch)
            if "kubectl" in args.tools:
                row["kubectl"] = measure_kubectl(kubeconfig, home / "kubectl", pods, args, tmux, watch)
            for name, process in cp.processes.items():
                watch.check(name, process.pid)
        finally:
            tmux.kill_server()
        row["peers"] = {name: sorted(peers) for name, peers in watch.seen.items()}
        row["apiserver_rss_mib"] = round(peers_proc.tree_rss_mib(cp.processes["kube-apiserver"].pid), 1)
    row["load_avg_end"] = os.getloadavg()
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000,150000")
    parser.add_argument("--tools", default="kataview,k9s,kubectl")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--churn-s", type=float, default=60)
    parser.add_argument("--limit-s", type=float, default=600)
    parser.add_argument("--repeat", type=int, default=1, help="runs of report and floor per size")
    parser.add_argument("--workers", type=int, default=3, help="pod-creating processes (--populate api)")
    parser.add_argument("--populate", choices=("etcd", "api"), default="etcd",
                        help="etcd: pods written into etcd directly and verified through the API "
                             "(bench/peers_etcd.py); api: create + PATCH /status through the apiserver")
    parser.add_argument("--rss-limit-mib", type=float, default=8192,
                        help="a tool whose RSS passes this while loading is stopped and recorded")
    parser.add_argument("--keys-budget-s", type=float, default=150,
                        help="per tool and key kind: no new key sample starts after this long")
    parser.add_argument("--run-py", default="", metavar="SIZES",
                        help="then re-run bench/run.py (the double) at these sizes, same machine, "
                             "same run (issue 17.4); it writes bench/RESULTS.md")
    parser.add_argument("--deadline", default="", metavar="HH:MM",
                        help="UTC; a size whose population (estimated from the last size's rate) "
                             "plus ~10 min of measuring would end later is skipped and recorded")
    parser.add_argument("--out", type=Path, default=BENCH / "PEERS.md")
    parser.add_argument("--json", type=Path, default=BENCH / "peers.json")
    args = parser.parse_args()
    args.tools = args.tools.split(",")
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    etcd, apiserver, k9s = locate("etcd"), locate("kube-apiserver"), locate("k9s")
    if etcd is None or apiserver is None:
        raise SystemExit("kube-apiserver/etcd are not built: realparts/build kube-apiserver etcd")
    if k9s is None and "k9s" in args.tools:
        log("k9s is not built (realparts/build k9s): its column stays empty")
    facts = peers_report.machine_facts(k9s, apiserver, etcd)
    log(f"peers bench: sizes {sizes}; {facts}")
    # tmpfs when there is one: etcd's data dir (and the tools' temp homes) off the disk
    shm = Path("/dev/shm")
    workdir = Path(tempfile.mkdtemp(prefix="kataview-peers-", dir=shm if shm.is_dir() else None))
    rows: list[dict] = []
    started = time.monotonic()
    try:
        for pods in sizes:
            skip = beyond_deadline(pods, rows, args.deadline)
            if skip:
                log(f"{pods:,} pods skipped: {skip}")
                rows.append({"pods": pods, "nodes": nodes_for(pods), "skipped": skip})
            else:
                rows.append(measure_size(pods, Binaries(etcd=etcd, kube_apiserver=apiserver), k9s,
                                         args, workdir))
            write(args, facts, rows, started)
        if args.run_py:  # after the peers: they are what only this run can measure
            left = minutes_left(args.deadline)
            facts["run_py"] = rerun_double_bench(args.run_py) if left is None or left >= 12 else {
                "sizes": args.run_py, "skipped": f"only {left} min left before {args.deadline} UTC"}
            write(args, facts, rows, started)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def rerun_double_bench(sizes: str) -> dict:
    """bench/run.py (kataview vs kubectl on the API double) in this run, before the peers."""
    log(f"bench/run.py --sizes {sizes} (writes bench/RESULTS.md)")
    started = time.monotonic()
    # one report/floor run a size and no watch burst: the peers need the session's time
    argv = ["--sizes", sizes, "--repeat", "1", "--no-burst"]
    done = subprocess.run([PYTHON, str(BENCH / "run.py"), *argv], cwd=ROOT)
    return {"sizes": sizes, "argv": " ".join(argv), "rc": done.returncode, "minutes": round((time.monotonic() - started) / 60, 1),
            "ended": time.strftime("%H:%M UTC", time.gmtime())}


def minutes_left(deadline: str) -> int | None:
    if not deadline:
        return None
    hours, minutes = map(int, deadline.split(":"))
    now = time.gmtime()
    return (hours * 60 + minutes) - (now.tm_hour * 60 + now.tm_min)


def beyond_deadline(pods: int, rows: list[dict], deadline: str) -> str:
    """Why this size cannot end before the deadline, or "" when it can (or nothing is known)."""
    rates = [row["population"]["pods_per_s"] for row in rows if row.get("population")]
    if not deadline or not rates:
        return ""
    left_min = minutes_left(deadline)
    needed_min = pods / rates[-1] / 60 + 10
    if needed_min <= left_min:
        return ""
    return (f"population alone would take ~{pods / rates[-1] / 60:.0f} min at the last size's "
            f"{rates[-1]:.0f} pods/s, plus ~10 min of measuring; {left_min} min were left before "
            f"the run's deadline {deadline} UTC")


def write(args, facts: dict, rows: list[dict], started: float) -> None:
    """After every size: what has been measured so far survives a cut-off run."""
    elapsed = (time.monotonic() - started) / 60
    args.json.write_text(json.dumps({"facts": facts, "rows": rows, "minutes": elapsed,
                                     "argv": " ".join(sys.argv[1:])},
                                    indent=1, default=str) + "\n")
    peers_report.write_markdown(args.out, facts, rows, elapsed, " ".join(sys.argv[1:]))
    log(f"wrote {args.out} and {args.json}")


if __name__ == "__main__":
    sys.exit(main())
