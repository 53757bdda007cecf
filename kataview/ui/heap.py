"""Keeping the cyclic garbage collector off a large, long-lived heap without leaking.

A 150,000-pod snapshot is hundreds of thousands of acyclic records: letting the collector
rescan them on every full collection costs hundreds of milliseconds per keystroke. Freezing
them (gc.freeze) avoids that, but anything frozen is never collected, so a cycle that becomes
garbage after it was frozen (an exception's traceback, say) would leak for good. So: below
the threshold nothing is frozen; above it, everything not yet frozen is collected before each
freeze (cheap: the big heap is already frozen), and the whole heap is unfrozen and collected
once per interval, for cycles that became garbage after they were frozen.
"""

from __future__ import annotations

import gc
import time

FREEZE_FROM_PODS = 20_000
FULL_COLLECT_EVERY_S = 600.0


class HeapPolicy:
    def __init__(self, threshold: int = FREEZE_FROM_PODS, interval: float = FULL_COLLECT_EVERY_S) -> None:
        self.threshold, self.interval = threshold, interval
        self.frozen = False
        self.last_full = time.monotonic()
        self.full_collections = 0

    def after_view(self, pods: int) -> None:
        """Call when a new snapshot has replaced the previous one."""
        if pods < self.threshold:
            if self.frozen:
                gc.unfreeze()
                self.frozen = False
            return
        now = time.monotonic()
        if now - self.last_full >= self.interval:
            gc.unfreeze()
            gc.collect()
            self.last_full = now
            self.full_collections += 1
        else:
            gc.collect()  # only what is not frozen yet: what changed since the last view
        gc.freeze()
        self.frozen = True
