"""Faults survived: the TUI, headless, against the API server double while watches drop, 410s,
429s, 500s, 10-second stalls and token rotations (401, renewed by an exec credential plugin)
come in rounds; then a long outage. The CI form of bench/chaos.py (about 80 s)."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "chaos.py"


def load_chaos():
    spec = importlib.util.spec_from_file_location("kataview_bench_chaos", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def isolated_state(isolated_home):
    return isolated_home


async def test_faults_are_survived_and_the_data_converges(tmp_path):
    chaos = load_chaos()
    config = chaos.ChaosConfig(warmup_seconds=6, round_seconds=20, soak_seconds=0,
                               outage_seconds=25, converge_timeout=45, sample_every=1e9)
    started = time.monotonic()
    result = await chaos.run_chaos(tmp_path / "chaos", config, say=print,
                                   ssh_loop=chaos.ssh_outages(tmp_path / "chaos"))
    print("\nchaos figures:", result.figures(), f"in {time.monotonic() - started:.0f} s")

    # no crash, no unhandled exception (loop handler, thread hook, the app's own)
    assert result.unhandled == []
    log = Path(result.log_path).read_text()
    assert "Traceback" not in log and "internal error" not in log

    # every fault happened, and the screen said the data was stale while they lasted
    assert {"drop watches", "410 Gone", "token rotated (401)", "429 Retry-After", "500 burst",
            "10 s stall"} <= set(result.faults)
    assert {"stale", "live"} <= result.phases_seen
    assert result.stale_on_screen

    # the token expired (401) and the exec plugin renewed it without the operator noticing
    assert result.token_rotations >= 2 and result.unauthorized >= 1
    assert result.plugin_runs >= 1 + result.token_rotations
    assert "renewed the token" in log

    # once the faults stop the app shows the double's truth: same pods, nodes, RuntimeClasses
    assert result.converged, result.mismatch
    assert result.converge_seconds < 40  # bounded by the backoff cap (30 s) plus a list
    assert "live" in result.screen_text

    # backoff: 5 informers during a 25 s total outage; equal-jitter exponential, cap 30 s
    assert result.outage_first_minute <= 5 * 8, result.outage_buckets
    assert max(result.outage_buckets) <= 5 * 5, result.outage_buckets
    assert result.outage_buckets[-1] <= 5 * 2, result.outage_buckets

    # nothing grows: tasks, threads, descriptors exactly bounded; memory within noise
    first, last = result.samples[0], result.samples[-1]
    assert last["tasks"] <= first["tasks"] + 2, result.samples
    assert last["threads"] <= first["threads"] + 2, result.samples
    # (aiohttp keeps a few idle keep-alive connections in its pool: bounded, not growing)
    assert last["fds"] <= first["fds"] + 12, result.samples
    assert last["rss_kib"] - first["rss_kib"] < 40 * 1024, result.samples

    # SSH hosts went away and came back: fetches failed cleanly meanwhile, then recovered
    assert result.ssh["outages"] >= 3, result.ssh
    assert result.ssh["failed"] >= 1 and result.ssh["ok"] >= 10, result.ssh
    # every outage but perhaps the last (cut short by the end of the run) was recovered from
    assert result.ssh["recoveries"] >= result.ssh["outages"] - 1, result.ssh

    # no token in the log file or on screen
    assert "tok-" not in log and "tok-" not in result.screen_text
