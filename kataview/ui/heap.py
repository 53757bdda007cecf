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
# A full collection of a 150,000-pod heap stalls the loop for seconds: do it while the
# operator is not typing (IDLE_S without a key), sooner when idle, at the latest FORCE_S.
IDLE_S = 5.0
IDLE_COLLECT_EVERY_S = 180.0
FORCE_S = 1_800.0


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
            self.full_collection(now)
        else:
            gc.collect()  # only what is not frozen yet: what changed since the last view
        gc.freeze()
        self.frozen = True

    def full_collection(self, now: float) -> None:
        # Textual's rendering leaves self-referencing strips behind (Strip._divide_cache can
        # hold [self]); frozen while on screen, they are only freed here.
        gc.unfreeze()
        gc.collect()
        self.last_full = now
        self.full_collections += 1

    def on_tick(self, seconds_since_key: float) -> None:
        """Call every few seconds: collects the whole heap while the operator is idle."""
        if not self.frozen:
            return
        now = time.monotonic()
        due = now - self.last_full
        if (seconds_since_key >= IDLE_S and due >= IDLE_COLLECT_EVERY_S) or due >= FORCE_S:
            self.full_collection(now)
            gc.freeze()
