"""Small text formatters shared by the screens: ages, clock times, quantities, counts.

Pure functions; `now` is always passed in so a frozen clock (Settings.frozen_now) makes every
rendered age deterministic.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Mapping

from kataview.model.quantity import format_bytes, format_millis


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def age(created: datetime | None, now: datetime) -> str:
    """kubectl-style age: 45s, 12m, 5h, 3d, 2y; "-" when unknown."""
    if created is None:
        return "-"
    seconds = int((now - created).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 730:
        return f"{days}d"
    return f"{days // 365}y"


def clock(moment: datetime | None) -> str:
    """HH:MM:SS in local time (tests pin TZ=UTC)."""
    if moment is None:
        return "--:--:--"
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%H:%M:%S")


# CPU and memory read as Kubernetes quantities ("250m", "160Mi"), the model's formatting.
cpu = format_millis
memory = format_bytes


def count(number: int) -> str:
    return f"{number:,}"


def labels_text(labels: Mapping[str, str] | None) -> str:
    if not labels:
        return ""
    return ",".join(f"{key}={value}" if value else key for key, value in sorted(labels.items()))


def plural(number: int, word: str) -> str:
    return f"{count(number)} {word}{'' if number == 1 else 's'}"
