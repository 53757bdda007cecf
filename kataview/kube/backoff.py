"""How often an informer may ask the server again, and how often it may say so in the log.

The figures are client-go's (tools/cache/reflector.go and its backoff manager): about 1 s
first, doubling, jittered, capped at 30 s, and forgotten after 2 minutes without a failure;
a watch that ends within a second without a single event counts as a failure; the server
sends a bookmark about once a minute (kube-apiserver's watch cache), so a watch that has
been silent for two of those is treated as dead.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field

RETRY_AFTER_MIN = 1.0  # Retry-After: 0 must not turn into a tight loop
RETRY_AFTER_MAX = 60.0  # Retry-After: 86400 must not put an informer to sleep for a day
SHORT_WATCH = 1.0  # seconds: a watch closed sooner with no event is a failure
BOOKMARK_INTERVAL = 60.0  # kube-apiserver's bookmark frequency
IDLES_BEFORE_RELIST = 2  # silent watches in a row before the informer lists again
REPEAT_EVERY = 60.0  # seconds between two log lines saying the same thing


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with "equal jitter": attempt n waits in [d/2, d], d = initial *
    factor**(n-1) capped at cap. reset_after: seconds without a failure after which the
    next failure starts from attempt 1 again."""

    initial: float = 1.0
    cap: float = 30.0
    factor: float = 2.0
    reset_after: float = 120.0

    def delay(self, attempt: int) -> float:
        base = min(self.cap, self.initial * self.factor ** max(0, attempt - 1))
        return random.uniform(base / 2, base)


@dataclass(slots=True)
class RetryClock:
    """The attempt counter behind Backoff: grows with every failure, even across a short
    recovery (a watch that opens, delivers one event and breaks again), and starts over only
    after reset_after seconds without a failure."""

    backoff: Backoff
    attempt: int = 0
    last_failure: float = field(default=-1e18)

    def next_delay(self) -> float:
        now = time.monotonic()
        if now - self.last_failure > self.backoff.reset_after:
            self.attempt = 0
        self.attempt += 1
        self.last_failure = now
        return self.backoff.delay(self.attempt)


def clamp_retry_after(seconds: float) -> float:
    return min(RETRY_AFTER_MAX, max(RETRY_AFTER_MIN, seconds))


class LogLimiter:
    """One log line per new message, then at most one repeat per REPEAT_EVERY seconds saying
    how often it happened meanwhile. Shared by the informers of one watcher: an outage hits
    all five with the same message, and the log needs it once."""

    def __init__(self, logger: logging.Logger, repeat_every: float = REPEAT_EVERY) -> None:
        self.logger = logger
        self.repeat_every = repeat_every
        self._seen: dict[str, tuple[float, int]] = {}  # message -> (last logged, suppressed)

    def log(self, level: int, subject: str, message: str, key: str | None = None) -> None:
        """key: what makes two messages the same (default: the message itself)."""
        now = time.monotonic()
        key = message if key is None else key
        logged = self._seen.get(key)
        if logged is None:
            self._seen[key] = (now, 0)
            if len(self._seen) > 256:  # messages with ever-changing text must not pile up
                self._seen.pop(next(iter(self._seen)))
            self.logger.log(level, "%s: %s", subject, message)
        elif now - logged[0] >= self.repeat_every:
            self._seen[key] = (now, 0)
            self.logger.log(level, "%s: %s (again; %d more time(s) in the last %.0f s)",
                            subject, message, logged[1], now - logged[0])
        else:
            self._seen[key] = (logged[0], logged[1] + 1)
