"""What the API server double records of every request (for tests)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    user: str
    status: int = 0  # 0 while the handler runs
    verb: str = ""  # get, list, watch, create, update, patch, delete ("" for discovery)
    resource: str = ""  # plural, "" for discovery
    at: float = field(default_factory=time.monotonic)


RECORD = web.RequestKey("record", RecordedRequest)
