"""Rate limits: a token bucket per caller (its key, else its address) and endpoint class.

Each class (``search``, ``write``) has a sustained rate and a burst. A caller
over its limit gets 429 with ``Retry-After`` (whole seconds until a token is
back). Buckets live in the replica's memory: with N replicas a caller may get
up to N times the limit. The clock is injected, so tests never wait.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from config.settings import Settings


class EndpointClass(StrEnum):
    SEARCH = "search"
    WRITE = "write"


@dataclass(frozen=True, slots=True)
class Limit:
    per_second: float
    burst: int


class RateLimited(Exception):
    """Over the limit: try again after ``retry_after`` seconds."""

    def __init__(self, endpoint_class: EndpointClass, retry_after: float) -> None:
        super().__init__(f"too many {endpoint_class.value} requests; retry after {math.ceil(retry_after)} s")
        self.endpoint_class = endpoint_class
        self.retry_after = retry_after


class TokenBucket:
    """``burst`` tokens, refilled at ``per_second``; a request takes one."""

    __slots__ = ("_limit", "_tokens", "_updated")

    def __init__(self, limit: Limit, now: float) -> None:
        self._limit = limit
        self._tokens = float(limit.burst)
        self._updated = now

    def take(self, now: float) -> float:
        """0 when a token was taken; else the seconds until one is back (nothing taken)."""
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self._limit.burst), self._tokens + elapsed * self._limit.per_second)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self._limit.per_second


MAX_BUCKETS = 100_000
"""Buckets kept per replica; the least recently used go first (a new bucket starts full, so forgetting
one only ever errs in the caller's favour)."""


class RateLimiter:
    """The buckets of one process, by (endpoint class, caller)."""

    def __init__(
        self,
        limits: dict[EndpointClass, Limit],
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._max = max_buckets
        self._buckets: OrderedDict[tuple[EndpointClass, str], TokenBucket] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        return cls(
            {
                EndpointClass.SEARCH: Limit(settings.rate_limit_search_per_second, settings.rate_limit_search_burst),
                EndpointClass.WRITE: Limit(settings.rate_limit_write_per_second, settings.rate_limit_write_burst),
            },
            clock,
        )

    def check(self, endpoint_class: EndpointClass, caller: str) -> None:
        """Take a token for ``caller``; ``RateLimited`` when its bucket is empty."""
        now = self._clock()
        key = (endpoint_class, caller)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._limits[endpoint_class], now)
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        wait = bucket.take(now)
        if wait > 0:
            raise RateLimited(endpoint_class, wait)
