"""bench/peers.py's harness pieces that run fast: what a screen says (against screens captured
from k9s v0.50.16 and kataview on the real kube-apiserver with 1,000 pods), the key-latency
screen comparison, and the /proc readers (on this test's own processes and sockets)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import peers_proc  # noqa: E402
from peers_keys import echoed, percentile, style_only_change  # noqa: E402
from peers_screen import k9s_count, kataview_count, kataview_nodes_shown, kubectl_done, pod_rows  # noqa: E402

SCREENS = Path(__file__).resolve().parent / "peer_screens"


def screen(name: str) -> str:
    return (SCREENS / name).read_text()


def test_k9s_title_count_and_filter():
    full = k9s_count(screen("k9s-0.50.16-pods-1000.txt"))
    assert (full.shown, full.total, full.complete) == (1000, None, True)  # "[1,000]"
    filtered = k9s_count(screen("k9s-0.50.16-pods-1000-filter-v.txt"))
    # captured ~1 s after typing: the title names the filter, the rows are not filtered yet
    assert filtered.shown == 1000 and not filtered.complete  # "[1,000] </v>"
    applied = k9s_count("┌──── pods(all)[225] </v> ────┐")
    assert applied.shown == 225 and not applied.complete
    assert k9s_count("Context: x\n pods(all)[0] \n").shown == 0
    assert k9s_count(screen("kataview-pods-1000.txt")) is None


def test_kataview_pods_pane_count():
    full = kataview_count(screen("kataview-pods-1000.txt"))
    assert (full.shown, full.total, full.complete) == (1000, None, True)
    filtered = kataview_count(screen("kataview-pods-1000-filter-v.txt"))
    assert (filtered.shown, filtered.total) == (225, 1000)  # "(225 of 1,000)", as k9s found
    assert kataview_count(screen("k9s-0.50.16-pods-1000.txt")) is None
    assert kataview_nodes_shown(screen("kataview-pods-1000.txt"))
    assert not kataview_nodes_shown("╭─ 1 Nodes (0) ──╮")


@pytest.mark.parametrize("title", ["╭─ 4 Pods by runtime (loading 55,000 of ~150,000) ─╮",
                                   "╭─ 4 Pods by runtime (150,000) · provisional ─╮"])
def test_kataview_partial_counts_are_not_complete(title):
    assert not kataview_count(title).complete


def test_pod_rows_are_pod_names_on_screen():
    assert pod_rows(screen("k9s-0.50.16-pods-1000.txt")) >= 40
    assert pod_rows(screen("kataview-pods-1000.txt")) >= 25
    header_only = "\n".join(screen("k9s-0.50.16-pods-1000.txt").splitlines()[:9])
    assert pod_rows(header_only) == 0


def test_kubectl_sentinel():
    assert kubectl_done("NAME READY\n__peers_done__ rc=0\n") == 0
    assert kubectl_done("__peers_done__ rc=1") == 1
    assert kubectl_done("still listing") is None


ROW = "\x1b[38;2;224;224;224mkube-system  kube-proxy-2rqlk   Running   46s\x1b[0m"
HIGHLIGHT = "\x1b[1m\x1b[48;2;1;120;212mkube-system  kube-proxy-2rqlk   Running   46s\x1b[0m"


def test_cursor_move_is_a_style_change_and_a_tick_is_not():
    assert style_only_change(f"a\n{ROW}", f"a\n{HIGHLIGHT}")
    assert not style_only_change(f"a\n{ROW}", f"a\n{ROW.replace('46s', '47s')}")  # the age ticked
    # the age ticked in the same frame as the highlight moved: still the cursor
    assert style_only_change(f"a\n{ROW}", f"a\n{HIGHLIGHT.replace('46s', '47s')}")
    assert not style_only_change(f"a\n{ROW}", f"b\n{ROW}")  # text changed, styling not


def test_echo_needs_more_of_the_character():
    assert echoed("row web\n> ", "row web\n> v", "v")
    assert not echoed("row v\n> ", "row v\n> ", "v")
    assert not echoed("12:00\n", "12:01\n", "v")


def test_percentile():
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert percentile([], 0.5) is None


def test_process_tree_rss_and_cpu_of_a_real_child():
    child = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])
    try:
        for _ in range(50):
            tree = peers_proc.process_tree(child.pid)
            if len(tree) == 2:
                break
            subprocess.run(["sleep", "0.05"])
        assert tree[0] == child.pid and len(tree) == 2  # sh and its sleep
        assert peers_proc.tree_rss_mib(child.pid) > 0
        assert peers_proc.cpu_ticks(child.pid) >= 0
    finally:
        subprocess.run(["kill", "--", *map(str, reversed(tree))])
        child.wait(5)


def test_cpu_ticks_reads_past_a_command_with_parentheses(tmp_path):
    (tmp_path / "7").mkdir()
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    (tmp_path / "7" / "stat").write_text("7 (a) (b c) S 1 7 7 0 -1 0 0 0 0 0 250 50 0 0 20 0\n")
    assert peers_proc.cpu_ticks(7, tmp_path) == 300
    assert peers_proc.cpu_ticks(8, tmp_path) == 0  # gone


def test_remote_addresses_as_proc_prints_them():
    assert str(peers_proc.remote_address("0100007F:1F90")) == "127.0.0.1"
    assert str(peers_proc.remote_address("0000000000000000FFFF00000100007F:1F90")) == "127.0.0.1"
    assert str(peers_proc.remote_address("0A7AA8C0:0050")) == "192.168.122.10"
    assert peers_proc.outside_loopback({"127.0.0.1", "192.168.122.10"}) == {"192.168.122.10"}


def test_tcp_peers_of_this_process_see_a_loopback_connection():
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    try:
        peers = peers_proc.tcp_peers(os.getpid())
        assert "127.0.0.1" in peers
        assert not peers_proc.outside_loopback(peers)
    finally:
        for sock in (accepted, client, server):
            sock.close()


def test_targets_are_judged_from_the_rows(tmp_path):
    import peers_report

    def tui(full, rss, cursor, echo, applied):
        return {"full_s": full, "first_row_s": 1.0, "rss_mib": rss,
                "cursor": {"median_ms": cursor, "p95_ms": cursor}, "filter_echo": {"median_ms": echo, "p95_ms": echo},
                "filter_applied": {"median_ms": applied, "p95_ms": applied},
                "churn": {"sent": 6000, "cpu_s": 12.0, "cpu_share": 0.2, "rate": 50.0}}

    rows = [{"pods": 10_000, "nodes": 333, "report": {"wall_s": 6.0},
             "kataview": tui(11.8, 122, 81, 390, 390), "k9s": tui(24.6, 940, 419, 249, 5121)},
            {"pods": 150_000, "nodes": 5000, "skipped": "population would take too long"}]
    lines = peers_report.targets(rows)
    assert "full list in at most 1/4 of k9s's time: **not met** (0.48x)" in "\n".join(lines)
    assert "at most half its RSS: **met** (0.13x)" in "\n".join(lines)
    assert "filter keystroke echoed, p50 no worse: **not met**" in "\n".join(lines)
    assert any(line.startswith("- 150,000 pods, report within") and "not measured" in line for line in lines)
    assert peers_report.cpu_per_event_ms(rows[0]["kataview"]["churn"]) == 2.0
    out = tmp_path / "PEERS.md"
    out.write_text("old table\n<!-- notes -->\nkept by hand\n")
    facts = {"date": "d", "cores": 2, "memory_gib": 24, "load_avg_start": [7.0], "kube_apiserver": "Kubernetes v1.37.2",
             "etcd": "etcd Version: 3.7.3", "k9s": "Version v0.50.16", "kubectl": "v1", "python": "3.11",
             "kataview_commit": "abc"}
    peers_report.write_markdown(out, facts, rows, 1.0, "--sizes 10000")
    text = out.read_text()
    assert "old table" not in text and text.endswith("<!-- notes -->\nkept by hand\n")
    assert "150,000 pods not measured: population would take too long" in text
