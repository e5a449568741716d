"""A circuit breaker: after repeated failures a neighbour is left alone for a while, then tried once.

Closed: calls go through and consecutive failures are counted. At
``failure_threshold`` the circuit opens: calls are refused at once (no
connection, no timeout to wait out) for ``reset_after_s``. Then it is
half-open: exactly one trial call goes through; its success closes the
circuit, its failure opens it again for another ``reset_after_s``.

A class of our own rather than a library: it is thirty lines, it must run on
an injected clock (tests move time by hand), and it must not sleep or spawn
anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts failures of one neighbour and decides whether the next call may go out."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_after_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_after_s > 0")
        self._threshold = failure_threshold
        self._reset_after = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._state = CircuitState.CLOSED

    @property
    def state(self) -> CircuitState:
        if self._state is CircuitState.OPEN and self._rested():
            return CircuitState.HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """Whether a call may go out now; once the circuit has rested, only one trial call may."""
        if self._state is CircuitState.CLOSED:
            return True
        if self._rested():
            # This caller carries the trial. A trial that never reports back (its caller was
            # cancelled) does not wedge the circuit: after another rest, another trial goes.
            self._state = CircuitState.HALF_OPEN
            self._opened_at = self._clock()
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._state = CircuitState.CLOSED

    def record_failure(self) -> None:
        self._failures += 1
        if self._state is CircuitState.HALF_OPEN or self._failures >= self._threshold:
            self._state = CircuitState.OPEN
            self._opened_at = self._clock()

    def _rested(self) -> bool:
        return self._clock() - self._opened_at >= self._reset_after
