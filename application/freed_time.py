"""Freed time: what the booking commands announce when time on a technician and a bay becomes free again.

A cancellation, a move, a released or expired hold, a no-show, an early
completion, a withdrawn absence: each frees time that someone waiting may
want (``application.waitlist``). The commands announce it after their commit;
listeners must not block them, so a listener only schedules its work.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from domain.appointment import Appointment
from domain.time_windows import Interval

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FreedTime:
    """Time that freed up at a shop, and what freed it (an appointment's id, or a withdrawn absence's)."""

    shop_id: str
    interval: Interval
    source_id: str
    """A UUID naming the freed slot: the waitlist offers one freed slot to one entry at a time."""

    @classmethod
    def of(cls, appt: Appointment) -> FreedTime:
        return cls(appt.shop_id, appt.interval, appt.id)

    @classmethod
    def of_absence(cls, shop_id: str, interval: Interval, absence_id: str) -> FreedTime:
        """A withdrawn absence's time (its id need not be a UUID: a stable one is derived from it)."""
        return cls(shop_id, interval, str(uuid.uuid5(uuid.NAMESPACE_URL, f"absence:{absence_id}")))


FreedListener = Callable[[FreedTime], None]


class FreedTimeListeners:
    """Who hears of freed time; a listener that fails is logged and never fails the command that freed it."""

    def __init__(self) -> None:
        self._listeners: list[FreedListener] = []

    def subscribe(self, listener: FreedListener) -> None:
        self._listeners.append(listener)

    def announce(self, *freed: FreedTime) -> None:
        for item in freed:
            for listener in self._listeners:
                try:
                    listener(item)
                except Exception:  # the command committed; what listens to it is best effort
                    log.exception("a freed-time listener failed for %s", item.source_id)
