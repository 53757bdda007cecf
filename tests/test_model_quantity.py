"""kataview.model.quantity: Kubernetes quantities to millicores and bytes."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kataview.model.quantity import cpu_millis, format_bytes, format_millis, memory_bytes, parse_quantity


@pytest.mark.parametrize(
    ("text", "millis"),
    [("250m", 250), ("1", 1000), ("1.0", 1000), ("0.5", 500), ("2", 2000), ("100m", 100), ("1.5", 1500),
     ("0.0001", 1), ("1k", 1_000_000), ("500u", 1), (" 3 ", 3000), (8, 8000), (0.25, 250)],
)
def test_cpu(text, millis) -> None:
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "count"),
    [("160Mi", 160 * 2**20), ("1Gi", 2**30), ("128974848", 128974848), ("129e6", 129_000_000),
     ("123M", 123_000_000), ("2048Mi", 2 * 2**30), ("16393244Ki", 16393244 * 1024), ("1.5Gi", 3 * 2**29),
     ("1E", 10**18), ("1Ei", 2**60), ("12e-1", 2), ("0", 0), (1073741824, 1073741824)],
)
def test_memory(text, count) -> None:
    assert memory_bytes(text) == count


@pytest.mark.parametrize("bad", ["", "Mi", "1.2.3", "abc", "1 Gi", "1iB", "--1", "1e99999", None, True, [], {}, "²m", float("nan"), float("inf")])
def test_garbage_is_none(bad) -> None:
    assert cpu_millis(bad) is None
    assert memory_bytes(bad) is None


def test_exact_fractions() -> None:
    assert parse_quantity("1.5Gi") == Fraction(3, 2) * 2**30
    assert parse_quantity("-250m") == Fraction(-1, 4)


@given(st.text(max_size=12))
def test_never_raises(text) -> None:
    cpu_millis(text)
    memory_bytes(text)


def test_format() -> None:
    assert [format_millis(v) for v in (250, 1000, 1500, None)] == ["250m", "1", "1.5", "-"]
    assert [format_bytes(v) for v in (160 * 2**20, 2**30, 1536 * 2**20, 100, None)] == ["160Mi", "1Gi", "1.5Gi", "100", "-"]
