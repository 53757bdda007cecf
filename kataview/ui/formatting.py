"""Small text formatters shared by the screens: ages, clock times, quantities, counts.

Pure functions; `now` is always passed in so a frozen clock (Settings.frozen_now) makes every
rendered age deterministic.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Mapping


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


def cpu(millis: int | None) -> str:
    if millis is None:
        return "-"
    return f"{millis // 1000}" if millis % 1000 == 0 else f"{millis}m"


def memory(size: int | None) -> str:
    if size is None:
        return "-"
    for unit, factor in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    if size >= 2**20:
        return f"{size / 2**20:.0f}Mi"
    return str(size)


def count(number: int) -> str:
    return f"{number:,}"


def labels_text(labels: Mapping[str, str] | None) -> str:
    if not labels:
        return ""
    return ",".join(f"{key}={value}" if value else key for key, value in sorted(labels.items()))


def plural(number: int, word: str) -> str:
    return f"{count(number)} {word}{'' if number == 1 else 's'}"
