"""Small text formatters shared by the screens: ages, clock times, quantities, counts.

Pure functions; `now` is always passed in so a frozen clock (Settings.frozen_now) makes every
rendered age deterministic.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Mapping

from kataview.model.age import human_duration
from kataview.model.quantity import format_bytes, format_millis


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def age(created: datetime | None, now: datetime) -> str:
    """The age kubectl prints (HumanDuration: 45s, 3m10s, 5h, 2d3h, 3y45d); "-" when unknown."""
    if created is None:
        return "-"
    return human_duration((now - created).total_seconds())


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
