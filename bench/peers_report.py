"""bench/PEERS.md from bench/peers.py's rows: tables, ratios kataview/k9s, issue 17's targets.

Text after the `<!-- notes -->` marker of an existing PEERS.md is kept (hand-written notes).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- notes -->"
TOOLS = ("kataview", "k9s", "kubectl")


def _first_line(argv: list[str], env: dict | None = None) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"? ({error})"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "?"


def machine_facts(k9s: Path | None, apiserver: Path, etcd: Path) -> dict:
    kubectl = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True)
    try:
        kubectl_version = json.loads(kubectl.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        kubectl_version = "?"
    with tempfile.TemporaryDirectory() as home:  # k9s version reads its config dirs: not ~
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "K9S_CONFIG_DIR": home, "K9S_LOGS_DIR": home}
        k9s_version = _first_line([str(k9s), "version", "-s"], env) if k9s else "not built"
    commit = _first_line(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "kataview"],
                           capture_output=True, text=True).stdout.strip()
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cores": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
            "python": platform.python_version(), "kubectl": kubectl_version, "k9s": k9s_version,
            "kube_apiserver": _first_line([str(apiserver), "--version"]),
            "etcd": _first_line([str(etcd), "--version"]),
            "kataview_commit": commit[:90] + (" (kataview/ modified)" if dirty else ""),
            "load_avg_start": os.getloadavg()}


def fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def latency(entry: dict | None) -> str:
    if not entry or entry.get("median_ms") is None:
        return "-"
    lost = f" ({entry['timeouts']} lost)" if entry.get("timeouts") else ""
    taken = entry.get("n", 0) + entry.get("timeouts", 0)
    budget = f" (n={entry['n']}: budget)" if taken and taken < 30 else ""
    return f"{entry['median_ms']:.0f} / {entry['p95_ms']:.0f}{lost}{budget}"


def full_text(tool: dict) -> str:
    if tool.get("full_s") is not None:
        return fmt(tool["full_s"])
    if tool.get("stopped"):  # the RSS cap
        return (f"{tool['stopped']} after {tool['gave_up_s']:.0f} s (count "
                f"{fmt(tool.get('last_count'))})")
    if tool.get("gave_up_s") is not None:
        return f"not after {tool['gave_up_s']:.0f} s (count {fmt(tool.get('last_count'))})"
    return "-"


def rss_text(tool: dict) -> str:
    if tool.get("rss_mib") is not None:
        return fmt(tool["rss_mib"], 0)
    peak = tool.get("rss_peak_loading_mib")
    return f"{peak:,.0f} (while loading)" if peak else "-"


def tool_rows(rows: list[dict]) -> list[str]:
    lines = ["| pods | tool | first pod row s | full list on screen s | RSS MiB loaded | CPU share at the events/s absorbed | CPU ms per event "
             "| cursor ms p50 / p95 | filter echo ms p50 / p95 | filter applied ms p50 / p95 | capture ms |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        for name in TOOLS:
            tool = row.get(name)
            if not tool:
                continue
            churn = tool.get("churn") or {}
            rss = tool.get("rss_mib")
            share = fmt(churn.get("cpu_share"), 3) + (f" at {churn['rate']:.0f}/s" if churn.get("rate") else "")
            per_event = cpu_per_event_ms(churn)
            lines.append(f"| {row['pods']:,} | {name} | {fmt(tool.get('first_row_s'))} | {full_text(tool)} "
                         f"| {rss_text(tool)} | {share} | {fmt(per_event, 2)} | {latency(tool.get('cursor'))} "
                         f"| {latency(tool.get('filter_echo'))} | {latency(tool.get('filter_applied'))} "
                         f"| {fmt(tool.get('capture_ms'), 1)} |")
    return lines


def cpu_per_event_ms(churn: dict) -> float | None:
    """The apiserver absorbed fewer than 100 patches/s on the loaded machine, and not the same
    number in each tool's window: CPU per event compares the tools, the share alone does not."""
    if not churn or not churn.get("sent") or churn.get("cpu_s") is None:
        return None
    return churn["cpu_s"] / churn["sent"] * 1000


def ratio(a, b) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def ratio_rows(rows: list[dict]) -> list[str]:
    lines = ["| pods | full list | RSS | CPU per event | cursor p50 | cursor p95 | filter echo p50 | filter applied p50 |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        kv, k9 = row.get("kataview") or {}, row.get("k9s") or {}
        if not kv or not k9:
            continue

        def pick(tool, *path):
            for key in path:
                tool = (tool or {}).get(key)
            return tool

        lines.append(f"| {row['pods']:,} | {ratio(kv.get('full_s'), k9.get('full_s'))} "
                     f"| {ratio(kv.get('rss_mib'), k9.get('rss_mib'))} "
                     f"| {ratio(cpu_per_event_ms(kv.get('churn') or {}), cpu_per_event_ms(k9.get('churn') or {}))} "
                     f"| {ratio(pick(kv, 'cursor', 'median_ms'), pick(k9, 'cursor', 'median_ms'))} "
                     f"| {ratio(pick(kv, 'cursor', 'p95_ms'), pick(k9, 'cursor', 'p95_ms'))} "
                     f"| {ratio(pick(kv, 'filter_echo', 'median_ms'), pick(k9, 'filter_echo', 'median_ms'))} "
                     f"| {ratio(pick(kv, 'filter_applied', 'median_ms'), pick(k9, 'filter_applied', 'median_ms'))} |")
    return lines


def server_rows(rows: list[dict]) -> list[str]:
    lines = ["| pods | nodes | population s (objects + pods) | pods/s | requests | kataview report s (CPU s) "
             "| report RSS MiB | floor fetch + decode s | report / floor | apiserver RSS MiB | load avg start -> end |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        if row.get("skipped"):
            continue
        pop, rep, floor = row.get("population", {}), row.get("report", {}), row.get("floor", {})
        floor_s = (floor.get("fetch_s") or 0) + (floor.get("decode_s") or 0) or None
        start, end = row.get("load_avg_start") or [None], row.get("load_avg_end") or [None]
        lines.append(f"| {row['pods']:,} | {row['nodes']:,} | {fmt(pop.get('total_s'), 1)} "
                     f"({fmt(pop.get('objects_s'), 1)} + {fmt(pop.get('pods_s'), 1)}) | {fmt(pop.get('pods_per_s'), 0)} "
                     f"| {fmt(pop.get('requests'))} | {fmt(rep.get('wall_s'))} ({fmt(rep.get('cpu_s'))}) "
                     f"| {fmt(rep.get('rss_mib'), 0)} | {fmt(floor.get('fetch_s'))} + {fmt(floor.get('decode_s'))} "
                     f"= {fmt(floor_s)} | {ratio(rep.get('wall_s'), floor_s)} | {fmt(row.get('apiserver_rss_mib'), 0)} "
                     f"| {fmt(start[0])} -> {fmt(end[0])} |")
    return lines


def targets(rows: list[dict]) -> list[str]:
    by_size = {row["pods"]: row for row in rows}
    lines = []

    def verdict(ok) -> str:
        return "not measured" if ok is None else ("**met**" if ok else "**not met**")

    top = by_size.get(150_000)
    kv = (top or {}).get("kataview") or {}
    after_nodes = (kv["first_row_s"] - kv["nodes_pane_s"]) if kv.get("first_row_s") is not None \
        and kv.get("nodes_pane_s") is not None else None
    lines.append(f"- 150,000 pods, first pod rows < 1 s after the node pane: "
                 f"{verdict(None if after_nodes is None else after_nodes < 1)}"
                 + (f" ({after_nodes:.2f} s after it)" if after_nodes is not None else ""))
    report = ((top or {}).get("report") or {}).get("wall_s")
    share = kv["full_s"] / report if kv.get("full_s") and report else None
    lines.append(f"- 150,000 pods, all pods on screen within 1.3x of `kataview report`: "
                 f"{verdict(None if share is None else share <= 1.3)}"
                 + (f" ({kv['full_s']:.2f} s vs {report:.2f} s = {share:.2f}x)" if share else ""))
    floor = (top or {}).get("floor") or {}
    floor_s = (floor.get("fetch_s") or 0) + (floor.get("decode_s") or 0)
    share = report / floor_s if report and floor_s else None
    lines.append(f"- 150,000 pods, report within 1.2x of the fetch+decode floor: "
                 f"{verdict(None if share is None else share <= 1.2)}" + (f" ({share:.2f}x)" if share else ""))
    ten = by_size.get(10_000) or {}
    kv, k9 = ten.get("kataview") or {}, ten.get("k9s") or {}
    checks = {
        "full list in at most 1/4 of k9s's time": (kv.get("full_s"), k9.get("full_s"), 0.25),
        "at most half its RSS": (kv.get("rss_mib"), k9.get("rss_mib"), 0.5),
        "cursor key p50 no worse": ((kv.get("cursor") or {}).get("median_ms"), (k9.get("cursor") or {}).get("median_ms"), 1.0),
        "cursor key p95 no worse": ((kv.get("cursor") or {}).get("p95_ms"), (k9.get("cursor") or {}).get("p95_ms"), 1.0),
        "filter keystroke echoed, p50 no worse": ((kv.get("filter_echo") or {}).get("median_ms"),
                                                  (k9.get("filter_echo") or {}).get("median_ms"), 1.0),
        "filter keystroke applied to the rows, p50 no worse": ((kv.get("filter_applied") or {}).get("median_ms"),
                                                               (k9.get("filter_applied") or {}).get("median_ms"), 1.0),
    }
    for text, (ours, theirs, limit) in checks.items():
        ok = None if ours is None or not theirs else ours <= limit * theirs
        lines.append(f"- 10,000 pods vs k9s, {text}: {verdict(ok)}"
                     + (f" ({ratio(ours, theirs)}x)" if ok is not None else ""))
    for size in (50_000, 150_000):
        kv = (by_size.get(size) or {}).get("kataview") or {}
        p95s = [(kv.get(key) or {}).get("p95_ms") for key in ("cursor", "filter_echo", "filter_applied")]
        ok = None if None in p95s else max(p95s) < 50
        lines.append(f"- {size:,} pods, kataview key p95 < 50 ms (cursor, filter echo, filter applied): "
                     f"{verdict(ok)}" + (f" ({', '.join(f'{p:.0f}' for p in p95s)} ms)" if ok is not None else ""))
    for row in rows:  # the 150,000-pod targets' ratios at the sizes that were measured (no target)
        kv, report = row.get("kataview") or {}, (row.get("report") or {}).get("wall_s")
        if kv.get("full_s") and report:
            gap = kv["first_row_s"] - kv["nodes_pane_s"] if kv.get("nodes_pane_s") is not None \
                and kv.get("first_row_s") is not None else None
            lines.append(f"- for reading only, {row['pods']:,} pods: all pods on screen / report = "
                         f"{kv['full_s'] / report:.2f}x; first pod row "
                         + (f"{gap:.2f} s after the node pane" if gap is not None else "-"))
    return lines


def skipped(rows: list[dict], facts: dict) -> list[str]:
    lines = [f"- {row['pods']:,} pods not measured: {row['skipped']}" for row in rows if row.get("skipped")]
    run_py = facts.get("run_py")
    if run_py and run_py.get("skipped"):
        lines.append(f"- bench/run.py (the double) not re-run at {run_py['sizes']}: {run_py['skipped']}")
    elif run_py:
        lines.append(f"- bench/run.py (the double, bench/RESULTS.md) re-run after the peers in this run at sizes "
                     f"{run_py['sizes']} (`bench/run.py {run_py.get('argv', '')}`): exit {run_py['rc']}, {run_py['minutes']} min, ended {run_py['ended']}")
    return (["## Sizes left out, and the double's figures", ""] + lines + [""]) if lines else []


METHOD = """## Method

- **Server**: for each size a fresh etcd 3.7.3 + kube-apiserver v1.37.2 (realparts, built from
  pinned Go modules) on 127.0.0.1 in a temp directory, in-flight limits and priority-and-fairness
  off, no kubelet/scheduler/controllers. The generated cluster of `kataview.demo.generator`
  (30 pods a node, nodes on 127.0.1.N): RuntimeClasses, namespaces and nodes go in through the
  API (realparts.scenario_load); the pods, unless `--populate api`, are written straight into
  etcd (bench/peers_etcd.py): the apiserver runs with `--storage-media-type=application/json`,
  each pod is stored under `/registry/pods/<ns>/<name>` as the apiserver stores a pod after a
  create and a merge-PATCH of /status (the generated pod with its defaults, uid,
  creationTimestamp and status, `generation: 1`, and the two managedFields entries such a client
  gets; identical to what kube-apiserver v1.37.2 wrote for 300 generated pods, uid and times
  aside), in txns of up to 128 puts through etcd's gRPC-gateway on its loopback client port, 4 in
  flight. Population ends when the apiserver lists every pod (its watch cache has them);
  then a GET of one pod must equal the generated pod and a watch must see a PATCH of it
  (label `peers-verify`), or the run fails. etcd runs with `--unsafe-no-fsync`, its data dir on
  tmpfs (/dev/shm). Why: through the API a pod costs the apiserver ~6.5 ms of CPU (create +
  status PATCH; 107 pods/s at best on this idle 2-core machine, 40-55 under load), so 150,000
  pods would take 25-60 min. `--populate api` is the old way (3 processes x 32 in flight).
- **Tools**: each alone (one after the other, never two at once) in its own session of a private
  tmux server (`tmux -L`), 200x60, TERM=xterm-256color, with the same admin kubeconfig (a temp
  file) and temp HOME/XDG dirs. kataview: `kataview --kubeconfig F`; k9s:
  `k9s --kubeconfig F -A -c pods` with `$K9S_CONFIG_DIR/config.yaml` = `k9s: {skipLatestRevCheck:
  true, refreshRate: 2}` (the key and file as k9s v0.50.16's internal/config/k9s.go and files.go
  read them; K9S_LOGS_DIR a temp dir); kubectl: `kubectl get pods -A` (default --chunk-size 500,
  its own client-side throttling as shipped) under /usr/bin/time, then a sentinel line.
- **Arrival**: capture-pane every ~70 ms from the moment the session starts. First pod row: a
  line with a generated pod's name. Full list: kataview's pods pane title says the full count
  with no "of", "loading", "~" or "provisional"; k9s's title `pods(all)[N]` says N; kubectl's
  sentinel is printed. A tool not there after the limit (600 s) is recorded as such, as is one
  whose tree RSS passed `--rss-limit-mib` (8 GiB) while loading (it is stopped: the machine
  is shared, 23 GiB, and the 150,000-pod apiserver holds ~6 GiB).
- **RSS**: VmRSS summed over the tool's process tree, 2 s after the full list. **CPU share**:
  utime+stime of the tree over the window in which a separate process PATCHes pod labels at
  100/s (clock-scheduled; the rate the apiserver actually absorbed is given next to the share).
- **Keys** (30 samples each, no churn; no new sample starts after `--keys-budget-s`, 150 s, of
  one kind: n says how many were taken): the clock starts before `tmux send-keys`. Cursor: Down
  and Up alternate; done when a line keeps its text (digits masked: ages tick) but changes its
  styling in `capture-pane -e`. Filter: `/` (not timed), then `v`; echo = a changed line holds
  more `v`s; applied = the title's pod count differs from the full one; Esc, count back.
  Each figure includes one send-keys and at least one capture-pane (its cost is given as
  capture ms). kataview's pods pane is focused first (`4`).
- **Report and floor**: `kataview report --json` and bench/floor.py (the same pages fetched with
  kataview's transport, not decoded, then decoded alone) against the same server, after
  population and before the TUIs.
- **Safety**: the TCP peers of every tool's tree (sampled about once a second while loading,
  and at the end), of kubectl, etcd and kube-apiserver are read from /proc/PID/net/tcp{,6}; any
  peer outside 127.0.0.0/8 fails the run. Every process is ended by its PID or its tmux session.
"""


def write_markdown(out: Path, facts: dict, rows: list[dict], minutes: float, argv: str) -> None:
    lines = ["# kataview vs k9s vs kubectl on a real kube-apiserver", "",
             f"`python bench/peers.py {argv}` (`make bench-peers`) — {facts['date']}; {facts['cores']} cores, "
             f"{facts['memory_gib']} GiB, shared with other sessions (load average at start "
             f"{facts['load_avg_start'][0]:.2f}); the run took {minutes:.1f} min.", "",
             f"Versions: kube-apiserver {facts['kube_apiserver'].split()[-1]}; etcd {facts['etcd'].split()[-1]}; "
             f"k9s {facts['k9s'].split()[-1]}; kubectl "
             f"{facts['kubectl']}; Python {facts['python']}; kataview at `{facts['kataview_commit']}`.", "",
             "## Server, population, report and floor", ""] + server_rows(rows) + [
             "", "## On screen (tmux 200x60, one tool at a time)", ""] + tool_rows(rows) + [
             "", "## Ratios kataview / k9s (below 1: kataview is faster or smaller)", ""] + ratio_rows(rows) + [
             "", "## Issue 17's targets (point 3)", ""] + targets(rows) + [""] + skipped(rows, facts) + [METHOD]
    text = "\n".join(lines) + "\n"
    previous = out.read_text() if out.exists() else ""
    notes = previous[previous.index(MARKER):] if MARKER in previous else MARKER + "\n"
    out.write_text(text + "\n" + notes)


def main(argv: list[str]) -> int:
    """Re-render PEERS.md from a peers.json (e.g. after editing this module)."""
    import sys
    source = Path(argv[0]) if argv else ROOT / "bench" / "peers.json"
    data = json.loads(source.read_text())
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "bench" / "PEERS.md"
    write_markdown(out, data["facts"], data["rows"], data["minutes"], data.get("argv", "?"))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
