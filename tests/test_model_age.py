"""kataview.model.age: ages exactly as kubectl prints them.

The expected values are the table of k8s.io/apimachinery/pkg/util/duration/duration_test.go
(TestHumanDuration and TestHumanDurationBoundaries), converted from Go durations to seconds.
"""

from __future__ import annotations

import pytest

from kataview.model.age import human_duration

SECOND = 1.0
MS = 0.001
NS = 1e-9
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
YEAR = 365 * DAY

# TestHumanDuration
GO_EXAMPLES = [
    (SECOND, "1s"),
    (70 * SECOND, "70s"),
    (190 * SECOND, "3m10s"),
    (70 * MINUTE, "70m"),
    (47 * HOUR, "47h"),
    (49 * HOUR, "2d1h"),
    ((8 * 24 + 2) * HOUR, "8d"),
    (367 * 24 * HOUR, "367d"),
    ((365 * 2 * 24 + 25) * HOUR, "2y1d"),
    ((365 * 8 * 24 + 2) * HOUR, "8y"),
]

# TestHumanDurationBoundaries
GO_BOUNDARIES = [
    (-2 * SECOND, "<invalid>"),
    (-2 * SECOND + NS, "0s"),
    (0, "0s"),
    (SECOND - MS, "0s"),
    (2 * MINUTE - MS, "119s"),
    (2 * MINUTE, "2m"),
    (2 * MINUTE + SECOND, "2m1s"),
    (10 * MINUTE - MS, "9m59s"),
    (10 * MINUTE, "10m"),
    (10 * MINUTE + SECOND, "10m"),
    (3 * HOUR - MS, "179m"),
    (3 * HOUR, "3h"),
    (3 * HOUR + MINUTE, "3h1m"),
    (8 * HOUR - MS, "7h59m"),
    (8 * HOUR, "8h"),
    (8 * HOUR + 59 * MINUTE, "8h"),
    (2 * DAY - MS, "47h"),
    (2 * DAY, "2d"),
    (2 * DAY + HOUR, "2d1h"),
    (8 * DAY - MS, "7d23h"),
    (8 * DAY, "8d"),
    (8 * DAY + 23 * HOUR, "8d"),
    (2 * YEAR - MS, "729d"),
    (2 * YEAR, "2y"),
    (2 * YEAR + 23 * HOUR, "2y"),
    (2 * YEAR + 23 * HOUR + 59 * MINUTE, "2y"),
    (2 * YEAR + DAY - MS, "2y"),
    (2 * YEAR + DAY, "2y1d"),
    (3 * YEAR, "3y"),
    (4 * YEAR, "4y"),
    (5 * YEAR, "5y"),
    (6 * YEAR, "6y"),
    (7 * YEAR, "7y"),
    (8 * YEAR - MS, "7y364d"),
    (8 * YEAR, "8y"),
    (8 * YEAR + 364 * DAY, "8y"),
    (9 * YEAR, "9y"),
]


@pytest.mark.parametrize(("seconds", "text"), GO_EXAMPLES + GO_BOUNDARIES)
def test_matches_apimachinery_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [(-1 * SECOND, "0s"), (-1.5, "0s"), (-3600, "<invalid>")])
def test_clock_skew(seconds: float, text: str) -> None:
    """Go truncates toward zero (int(d.Seconds())): up to two seconds in the future is "now"."""
    assert human_duration(seconds) == text
