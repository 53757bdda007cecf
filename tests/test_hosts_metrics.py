"""kataview.hosts.metrics on samples shaped like the Kata shim's /metrics and kata-monitor's.

No metrics text is in the corpus; names and labels follow docs/design/kata-2-0-metrics.md.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kataview.hosts.metrics import parse_metrics, parse_metrics_by_sandbox, parse_samples

SHIM_METRICS = """\
# HELP kata_guest_load Guest system load.
# TYPE kata_guest_load gauge
kata_guest_load{item="load1"} 0.08
kata_guest_load{item="load15"} 0.01
kata_guest_load{item="load5"} 0.03
# HELP kata_guest_meminfo Statistics about memory usage in the system.
# TYPE kata_guest_meminfo gauge
kata_guest_meminfo{item="mem_available"} 1.9349504e+09
kata_guest_meminfo{item="mem_free"} 1.95366912e+09
kata_guest_meminfo{item="mem_total"} 2.092093440e+09
# HELP kata_hypervisor_fds Open FDs for hypervisor.
# TYPE kata_hypervisor_fds gauge
kata_hypervisor_fds 124
# HELP kata_hypervisor_threads Hypervisor process threads.
# TYPE kata_hypervisor_threads gauge
kata_hypervisor_threads 9
# HELP kata_shim_fds Kata containerd shim v2 open FDs.
# TYPE kata_shim_fds gauge
kata_shim_fds 31
kata_shim_threads 12
kata_shim_rpc_durations_histogram_milliseconds_bucket{action="create",le="+Inf"} 1
"""


def test_shim_endpoint():
    metrics = parse_metrics(SHIM_METRICS)
    assert metrics.guest_mem_total_bytes == 2092093440
    assert metrics.guest_mem_free_bytes == 1953669120
    assert metrics.guest_mem_available_bytes == 1934950400
    assert (metrics.guest_load1, metrics.guest_load5, metrics.guest_load15) == (0.08, 0.03, 0.01)
    assert (metrics.hypervisor_threads, metrics.hypervisor_fds) == (9, 124)
    assert (metrics.shim_threads, metrics.shim_fds) == (12, 31)


def test_missing_families_are_none():
    metrics = parse_metrics("kata_shim_threads 12\n")
    assert metrics.shim_threads == 12
    assert metrics.guest_mem_total_bytes is None and metrics.hypervisor_fds is None
    assert parse_metrics("") == parse_metrics("# only comments\n")


def test_kata_monitor_aggregate_split_by_sandbox():
    text = (
        'kata_hypervisor_threads{sandbox_id="aaa"} 9\n'
        'kata_hypervisor_threads{sandbox_id="bbb"} 15\n'
        'kata_guest_meminfo{item="mem_total",sandbox_id="bbb"} 4.294967296e+09\n'
        'kata_monitor_running_shim_count 2\n'
    )
    by_sandbox = parse_metrics_by_sandbox(text)
    assert set(by_sandbox) == {"aaa", "bbb"}
    assert by_sandbox["bbb"].hypervisor_threads == 15
    assert by_sandbox["bbb"].guest_mem_total_bytes == 4294967296
    assert parse_metrics(text, sandbox_id="aaa").hypervisor_threads == 9


def test_label_escapes_timestamps_and_junk():
    text = (
        'x{a="q\\"uote",b="back\\\\slash",c="new\\nline"} 1 1700000000000\n'
        'broken{a="unterminated} 3\n'
        "no_value\n"
        "nan_value NaN\n"
        "ok 2\n"
    )
    samples = parse_samples(text)
    assert [s.name for s in samples] == ["x", "ok"]
    assert samples[0].labels == {"a": 'q"uote', "b": "back\\slash", "c": "new\nline"}


@given(st.text())
def test_garbage_never_raises(text):
    parse_metrics(text)
    parse_metrics_by_sandbox(text)
