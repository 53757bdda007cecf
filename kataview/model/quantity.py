"""Kubernetes resource quantities ("250m", "1", "1.0", "160Mi", "129e6", "123M") as numbers.

Pure and stdlib only. Parsing follows k8s.io/apimachinery/pkg/api/resource: an optional sign,
a decimal number, then either a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix
(n u m "" k M G T P E) or a decimal exponent (e3, E-2). Like Quantity.MilliValue() and
Quantity.Value(), results are rounded up to whole millicores / bytes. Anything unparseable
gives None, never an exception: the values come from the cluster.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"  # number
    r"(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?[0-9]+))?$"  # suffix or exponent
)
_MAX_EXPONENT = 64  # "1e999999" must not build a giant integer


def parse_quantity(value: object) -> Fraction | None:
    """The exact value of a quantity, or None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Fraction(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit() and text.isascii():  # fast path: "2", "128974848"
        return Fraction(int(text))
    match = _QUANTITY.match(text)
    if match is None:
        return None
    number, suffix, exponent = match.groups()
    try:
        base = Fraction(Decimal(number))
    except (InvalidOperation, ValueError):
        return None
    if exponent is not None:
        power = int(exponent)
        if abs(power) > _MAX_EXPONENT:
            return None
        return base * Fraction(10) ** power
    suffix = suffix or ""
    if suffix in _BINARY:
        return base * _BINARY[suffix]
    return base * _DECIMAL[suffix]


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def cpu_millis(value: object) -> int | None:
    """CPU quantity in millicores, rounded up: "250m" -> 250, "1" -> 1000, "1.0" -> 1000."""
    if isinstance(value, str) and value.endswith("m") and value[:-1].isascii() and value[:-1].isdigit():
        return int(value[:-1])  # fast path
    parsed = parse_quantity(value)
    return None if parsed is None else _ceil(parsed * 1000)


def memory_bytes(value: object) -> int | None:
    """Memory quantity in bytes, rounded up: "160Mi" -> 167772160, "129e6" -> 129000000."""
    parsed = parse_quantity(value)
    return None if parsed is None else _ceil(parsed)


def format_millis(millis: int | None) -> str:
    """Millicores for display: 250 -> "250m", 1000 -> "1", 1500 -> "1.5"."""
    if millis is None:
        return "-"
    if millis % 1000 == 0:
        return str(millis // 1000)
    if millis < 1000:
        return f"{millis}m"
    return f"{millis / 1000:g}"


def format_bytes(count: int | None) -> str:
    """Bytes for display with binary units: 167772160 -> "160Mi"; exact units when possible."""
    if count is None:
        return "-"
    for suffix, size in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if abs(count) >= size:
            if count % size == 0:
                return f"{count // size}{suffix}"
            return f"{count / size:.1f}{suffix}"
    return str(count)
