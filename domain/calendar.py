"""A resource's calendar: the overlap, buffer, working-time, cap and hold rules.

Technician and bay actors are thin shells around one ``ResourceCalendar``
each. Every check-then-set here is synchronous, so an actor that calls it
without awaiting in between is race-free by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.errors import DailyCapReached, HoldExpired, HoldNotFound, OutsideWorkingHours, SlotTaken
from domain.fast_pickle import FastPickle
from domain.time_windows import Interval, local_date, local_day_bounds, merge, subtract

WorkingTime = Callable[[Interval], list[Interval]]
"""Given a window, the resource's working intervals inside it."""


@dataclass(frozen=True, slots=True)
class CalendarEntry(FastPickle):
    """An appointment (``held_until`` None) or a hold on the resource.

    ``key`` is the appointment id; it makes every mutation idempotent. A
    ``finished`` entry is a completed job: it occupies no time any more (the
    database's no-overlap constraints stop covering it at completion, early or
    not), but it was one of its day's jobs and still counts toward the daily
    cap, as PostgreSQL counts it (``store.appointment_repository.insert_under_cap``).
    """

    key: str
    interval: Interval
    held_until: datetime | None = None
    finished: bool = False

    def live(self, now: datetime) -> bool:
        return self.held_until is None or self.held_until > now

    def occupies(self, now: datetime) -> bool:
        """Whether it takes the resource's time at ``now``: a live hold or appointment, not a finished job."""
        return not self.finished and self.live(now)


class ResourceCalendar:
    """One technician's or bay's committed and held time.

    ``buffer`` is kept free between consecutive jobs (technicians); ``daily_cap``
    bounds the jobs per shop-local day (technicians). Bays pass neither.
    """

    def __init__(
        self,
        resource_id: str,
        *,
        tz: ZoneInfo,
        working_time: WorkingTime,
        buffer: timedelta = timedelta(0),
        daily_cap: int | None = None,
    ) -> None:
        self.resource_id = resource_id
        self.tz = tz
        self.buffer = buffer
        self.daily_cap = daily_cap
        self._working_time = working_time
        self._entries: dict[str, CalendarEntry] = {}

    # -- reading -------------------------------------------------------------

    def entries(self, now: datetime) -> list[CalendarEntry]:
        """Entries that take time (appointments and unexpired holds, not finished jobs), by start."""
        return sorted((e for e in self._entries.values() if e.occupies(now)), key=lambda e: e.interval)

    def get(self, key: str) -> CalendarEntry | None:
        return self._entries.get(key)

    def busy(self, window: Interval, now: datetime) -> list[Interval]:
        """Time around ``window`` that a new job may not overlap: the live entries touching it, widened by the buffer.

        Only entries near the window are looked at (slot searches ask for two
        weeks of a calendar that may hold months).
        """
        lo, hi = window.start - self.buffer, window.end + self.buffer
        return merge(
            e.interval.widened(self.buffer, self.buffer)
            for e in self._entries.values()
            if e.interval.start < hi and lo < e.interval.end and e.occupies(now)
        )

    def free(self, window: Interval, now: datetime, busy: list[Interval] | None = None) -> list[Interval]:
        """Working time in ``window`` where a job could start and run (ignoring caps).

        ``busy`` may pass ``self.busy(window, now)`` when the caller has it already.
        """
        return subtract(self._working_time(window), self.busy(window, now) if busy is None else busy)

    def jobs_on(self, day: date, now: datetime, ignore: str | None = None) -> int:
        """The jobs of ``day`` that count toward the daily cap: live ones and finished ones."""
        return self.jobs_per_day({day}, now, ignore).get(day, 0)

    def jobs_per_day(self, days: set[date], now: datetime, ignore: str | None = None) -> dict[date, int]:
        """``jobs_on`` for each of ``days`` that has a job, in one pass."""
        counts: dict[date, int] = {}
        for e in self._entries.values():
            if e.key == ignore or not e.live(now):
                continue
            day = local_date(e.interval.start, self.tz)
            if day in days:
                counts[day] = counts.get(day, 0) + 1
        return counts

    # -- rules ---------------------------------------------------------------

    def check(self, interval: Interval, now: datetime, ignore: str | None = None) -> None:
        """Raise the first rule ``interval`` breaks; ``ignore`` is the entry being moved."""
        working = self._working_time(interval)
        # windows that touch (a shop open around the clock: one per local day) are one stretch of work
        if not any(w.contains(interval) for w in working) and not any(w.contains(interval) for w in merge(working)):
            raise OutsideWorkingHours(
                f"{self.resource_id} does not work the whole of "
                f"{interval.start.isoformat()}–{interval.end.isoformat()}",
                resource_id=self.resource_id,
            )
        # One unsorted pass with plain comparisons: this runs for every hold,
        # so it avoids sorting the calendar and building widened intervals.
        lo, hi = interval.start - self.buffer, interval.end + self.buffer
        day = local_day_bounds(local_date(interval.start, self.tz), self.tz) if self.daily_cap is not None else None
        conflict: CalendarEntry | None = None
        same_day = 0
        for entry in self._entries.values():
            if entry.key == ignore or not entry.live(now):
                continue
            if conflict is None and not entry.finished and entry.interval.start < hi and lo < entry.interval.end:
                conflict = entry
            # a finished job still counts toward its day's cap
            if day is not None and day.start <= entry.interval.start < day.end:
                same_day += 1
        if conflict is not None:
            raise SlotTaken(
                f"{self.resource_id} is busy at {interval.start.isoformat()}",
                resource_id=self.resource_id,
                conflicting=conflict.key,
            )
        if day is not None and self.daily_cap is not None and same_day >= self.daily_cap:
            raise DailyCapReached(
                f"{self.resource_id} already has {self.daily_cap} jobs on {local_date(interval.start, self.tz)}",
                resource_id=self.resource_id,
                day=local_date(interval.start, self.tz).isoformat(),
            )

    # -- mutations (each idempotent by key) ------------------------------------

    def hold(self, key: str, interval: Interval, expires_at: datetime, now: datetime) -> CalendarEntry:
        """Place (or re-affirm) a hold; the same key and interval is a no-op."""
        existing = self._entries.get(key)
        if existing is not None and existing.interval == interval and existing.occupies(now):
            return existing
        self.check(interval, now, ignore=key)
        entry = CalendarEntry(key, interval, held_until=expires_at)
        self._entries[key] = entry
        return entry

    def book(self, key: str, interval: Interval, now: datetime) -> CalendarEntry:
        """Place a confirmed appointment directly (or move an existing entry to ``interval``)."""
        existing = self._entries.get(key)
        if (
            existing is not None
            and existing.interval == interval
            and existing.occupies(now)
            and existing.held_until is None
        ):
            return existing
        self.check(interval, now, ignore=key)
        entry = CalendarEntry(key, interval)
        self._entries[key] = entry
        return entry

    def confirm(self, key: str, now: datetime) -> CalendarEntry:
        """Turn a live hold into an appointment; confirming twice is a no-op."""
        entry = self._entries.get(key)
        if entry is None:
            raise HoldNotFound(f"no hold {key} on {self.resource_id}", key=key)
        if entry.held_until is None:
            return entry
        if not entry.live(now):
            del self._entries[key]
            raise HoldExpired(f"hold {key} on {self.resource_id} expired", key=key)
        confirmed = replace(entry, held_until=None)
        self._entries[key] = confirmed
        return confirmed

    def finish(self, key: str, interval: Interval) -> CalendarEntry:
        """The job at ``interval`` (as booked) is done: its time is free, it still counts toward its day's cap.

        Idempotent; the database has committed the completion, so no rule is checked.
        """
        entry = CalendarEntry(key, interval, finished=True)
        self._entries[key] = entry
        return entry

    def release(self, key: str) -> bool:
        """Drop an entry (hold released or appointment cancelled). True if it existed."""
        return self._entries.pop(key, None) is not None

    def expire(self, now: datetime) -> list[str]:
        """Drop holds past their expiry; returns their keys."""
        dead = [k for k, e in self._entries.items() if not e.live(now)]
        for k in dead:
            del self._entries[k]
        return dead

    def replace_all(self, entries: Iterable[CalendarEntry]) -> None:
        """Reload from the store (the database has the last word)."""
        self._entries = {e.key: e for e in entries}
