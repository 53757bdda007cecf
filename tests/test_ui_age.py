"""The pods pane's AGE column is kubectl's: the same function as the API double's Table
(moved out of test_model_age so that no model test imports the UI)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kataview.demo import tables
from kataview.model.age import human_duration
from kataview.ui.formatting import age


def test_screens_and_api_double_share_it() -> None:
    """The dashboard's AGE and the API double's Table (what kubectl prints) are one function."""
    now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    created = now - timedelta(days=2, hours=3, minutes=5)
    assert tables.human_duration is human_duration
    assert age(created, now) == tables.since(created.isoformat(), now) == "2d3h"
    assert age(None, now) == "-"
