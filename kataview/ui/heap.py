"""Keeping the cyclic garbage collector off a large, long-lived heap without leaking.

A 150,000-pod snapshot is ~860,000 tracked, acyclic records: a full collection over them
takes ~0.8 s. Freezing them (gc.freeze) takes them out of the collector's sight, but anything
frozen is never collected, and a cycle that is alive when frozen and dies afterwards leaks
until the heap is unfrozen. Textual makes such cycles on every frame (a Strip whose
_divide_cache holds [self]; a finished Worker and its Task), so freezing after every view
leaked ~1 MiB/s under watch load.

So the heap is frozen once, when the first large view is shown, and afterwards only when the
collector says it is needed: a full collection (which then only sees what was allocated since
the freeze) that takes longer than SLOW_FULL_S asks for the next view to freeze again, at most
once every MIN_REFREEZE_S. Between freezes the collector works as usual, so Textual's cycles
are collected as they die. What the rare freezes still catch is freed by a full collection
(unfreeze, collect, freeze) while the operator is idle.
"""

from __future__ import annotations

import gc
import time

FREEZE_FROM_PODS = 20_000
SLOW_FULL_S = 0.030  # a full collection this slow shows in a keypress: freeze again
MIN_REFREEZE_S = 10.0
# The full collection over the frozen heap stalls the loop 1-2 s at 150,000 pods: done only
# after a freeze (nothing else can leave garbage frozen), while nobody is typing.
IDLE_S = 5.0
IDLE_COLLECT_EVERY_S = 1_800.0


class HeapPolicy:
    def __init__(self, threshold: int = FREEZE_FROM_PODS, slow_full_s: float = SLOW_FULL_S,
                 min_refreeze_s: float = MIN_REFREEZE_S) -> None:
        self.threshold, self.slow_full_s, self.min_refreeze_s = threshold, slow_full_s, min_refreeze_s
        self.frozen = False
        self.refreeze_due = False
        self.freezes = 0  # since the last full collection: what may hold frozen garbage
        self.last_freeze = self.last_full = time.monotonic()
        self.full_collections = 0
        self.refreezes = 0
        self._ours = False  # inside one of our own collections: not the collector's verdict
        self._full_started = 0.0

    # -- the collector's callback ----------------------------------------------------------

    def start(self) -> None:
        if self._on_collection not in gc.callbacks:
            gc.callbacks.append(self._on_collection)

    def stop(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict) -> None:
        if info["generation"] != 2 or self._ours or not self.frozen:
            return
        if phase == "start":
            self._full_started = time.perf_counter()
        elif time.perf_counter() - self._full_started > self.slow_full_s:
            self.refreeze_due = True

    # -- called by the app -----------------------------------------------------------------

    def after_view(self, pods: int) -> None:
        """Call when a new snapshot has replaced the previous one."""
        if pods < self.threshold:
            if self.frozen:
                gc.unfreeze()
                self.frozen = self.refreeze_due = False
            return
        now = time.monotonic()
        if not self.frozen or (self.refreeze_due and now - self.last_freeze >= self.min_refreeze_s):
            self._freeze(now)

    def on_tick(self, seconds_since_key: float) -> None:
        """Call every few seconds: frees what the freezes caught, while the operator is idle."""
        now = time.monotonic()
        if (self.frozen and self.freezes and seconds_since_key >= IDLE_S
                and now - self.last_full >= IDLE_COLLECT_EVERY_S):
            self._ours = True
            try:
                gc.unfreeze()
                gc.collect()
            finally:
                self._ours = False
            self.last_full = now
            self.full_collections += 1
            self.freezes = 0
            self._freeze(now, counted=False)

    def _freeze(self, now: float, counted: bool = True) -> None:
        self._ours = True
        try:
            gc.collect()  # what is garbage now is not frozen
            gc.freeze()
            # An empty full collection: the collector counts its long-lived objects afresh
            # (none, all frozen), so its next full collections come as soon as anything new
            # survives, each over only what was allocated since now.
            gc.collect()
        finally:
            self._ours = False
        if self.frozen and counted:
            self.refreezes += 1
        self.frozen, self.refreeze_due, self.last_freeze = True, False, now
        if counted:
            self.freezes += 1
