"""A transcript of every setup action: JSON lines appended to a file, flushed and fsynced each.

One line per action: {"time": ISO-8601 UTC, "step": ..., "action": check|plan|apply|verify|undo,
"result": ok|done|todo|failed|refused|skipped, "detail": one sentence, ...extra keys}. The file
is opened in append mode for every record, so a crash loses at most the line being written and
several runs (or an undo the next day) add to one history.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

__all__ = ["Transcript", "read_transcript"]


class Transcript:
    def __init__(self, path: str | Path | None, *, clock: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, step: str, action: str, result: str, detail: str = "", **extra: Any) -> dict[str, Any]:
        entry = {"time": self.clock().isoformat(timespec="milliseconds"), "step": step,
                 "action": action, "result": result, "detail": detail, **extra}
        line = json.dumps(entry, default=str, ensure_ascii=False) + "\n"
        with self._lock:
            self.entries.append(entry)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line.encode("utf-8"))
                    os.fsync(fd)
                finally:
                    os.close(fd)
        return entry


def read_transcript(path: str | Path) -> list[dict[str, Any]]:
    """Every entry of a transcript file; a torn last line (crash mid-write) is skipped."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries
