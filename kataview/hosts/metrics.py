"""Read the Prometheus text a Kata shim (or kata-monitor) serves on ``/metrics``.

Families used (Kata 2.x metrics design, docs/design/kata-2-0-metrics.md):

- ``kata_guest_meminfo{item="mem_total"|"mem_free"|"mem_available"}``: guest /proc/meminfo
  in bytes (the agent exports procfs::Meminfo, which converts kB to bytes);
- ``kata_guest_load{item="load1"|"load5"|"load15"}``;
- ``kata_hypervisor_threads``, ``kata_hypervisor_fds``;
- ``kata_shim_threads``, ``kata_shim_fds``.

The shim's own endpoint has one sandbox; kata-monitor aggregates many and labels each
sample with ``sandbox_id``: :func:`parse_metrics_by_sandbox` splits those. Any family may
be missing; malformed lines are skipped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_SAMPLE = re.compile(
    r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+-?\d+)?"
)
_ESCAPE = re.compile(r"\\(.)")  # label values escape \\, \" and \n
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class ShimMetrics:
    sandbox_id: str | None = None
    guest_mem_total_bytes: int | None = None
    guest_mem_free_bytes: int | None = None
    guest_mem_available_bytes: int | None = None
    guest_load1: float | None = None
    guest_load5: float | None = None
    guest_load15: float | None = None
    hypervisor_threads: int | None = None
    hypervisor_fds: int | None = None
    shim_threads: int | None = None
    shim_fds: int | None = None


def parse_samples(text: str) -> list[Sample]:
    """All samples of a Prometheus text exposition; comments and junk lines are skipped."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.fullmatch(line)
        if match is None:
            continue
        labels = _labels(match.group("labels") or "")
        value = _number(match.group("value"))
        if labels is not None and value is not None:
            samples.append(Sample(match.group("name"), labels, value))
    return samples


def parse_metrics(text: str, sandbox_id: str | None = None) -> ShimMetrics:
    """The record for one sandbox (samples without a ``sandbox_id`` label count for it)."""
    samples = [
        s for s in parse_samples(text)
        if sandbox_id is None or s.labels.get("sandbox_id") in (None, sandbox_id)
    ]
    return _record(samples, sandbox_id)


def parse_metrics_by_sandbox(text: str) -> dict[str, ShimMetrics]:
    """kata-monitor output: one record per ``sandbox_id`` label value."""
    groups: dict[str, list[Sample]] = {}
    for sample in parse_samples(text):
        sandbox = sample.labels.get("sandbox_id")
        if sandbox:
            groups.setdefault(sandbox, []).append(sample)
    return {sandbox: _record(samples, sandbox) for sandbox, samples in groups.items()}


def _record(samples: list[Sample], sandbox_id: str | None) -> ShimMetrics:
    def value(name: str, item: str | None = None) -> float | None:
        for sample in samples:
            if sample.name == name and (item is None or sample.labels.get("item") == item):
                return sample.value
        return None

    def whole(name: str, item: str | None = None) -> int | None:
        number = value(name, item)
        return int(number) if number is not None and number >= 0 else None

    return ShimMetrics(
        sandbox_id=sandbox_id,
        guest_mem_total_bytes=whole("kata_guest_meminfo", "mem_total"),
        guest_mem_free_bytes=whole("kata_guest_meminfo", "mem_free"),
        guest_mem_available_bytes=whole("kata_guest_meminfo", "mem_available"),
        guest_load1=value("kata_guest_load", "load1"),
        guest_load5=value("kata_guest_load", "load5"),
        guest_load15=value("kata_guest_load", "load15"),
        hypervisor_threads=whole("kata_hypervisor_threads"),
        hypervisor_fds=whole("kata_hypervisor_fds"),
        shim_threads=whole("kata_shim_threads"),
        shim_fds=whole("kata_shim_fds"),
    )


def _labels(text: str) -> dict[str, str] | None:
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _LABEL.match(text, position)
        if match is None or match.end() == position:
            return None if text[position:].strip() else labels
        labels[match.group(1)] = _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1),
                                             match.group(2))
        position = match.end()
    return labels


def _number(text: str) -> float | None:
    try:
        number = float(text)  # accepts NaN, +Inf, -Inf as Prometheus writes them
    except ValueError:
        return None
    return None if math.isnan(number) or math.isinf(number) else number
