"""What technician and bay actors share: a thin shell around one ``ResourceCalendar``.

Every method here is synchronous, so a host that calls one without awaiting
in between serializes check-then-set per resource by construction. The rules
(overlap, buffer, working time, daily cap, holds) live in ``domain.calendar``;
the shell adds the requirement check, the answers callers need (hold tokens,
views) and the reload merge.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import datetime

from actors.commands import Book, Hold, Settle
from application.ports import HoldToken, Requirement, ResourceRef, ResourceView
from domain.calendar import CalendarEntry, ResourceCalendar, WorkingTime
from domain.errors import DomainError
from domain.time_windows import Interval, local_dates, local_day_bounds


class CalendarShell(ABC):
    """One resource's calendar and soft locks, rebuilt from the store when its host starts."""

    def __init__(
        self,
        ref: ResourceRef,
        *,
        name: str,
        rid: int,
        timezone: str,
        calendar: ResourceCalendar,
        working_time: WorkingTime,
        loaded: Interval,
    ) -> None:
        self.ref = ref
        self.name = name
        self.rid = rid
        self.timezone = timezone
        self.calendar = calendar
        self.working_time = working_time
        self.loaded = loaded
        """The window whose appointments were read from the store; commands outside it extend it first."""
        self._dirty: set[str] | None = None
        self.stale = False
        """Memory may disagree with the store (a reload failed): the next command reloads first."""

    @abstractmethod
    def check_requirement(self, requirement: Requirement) -> None:
        """Raise MissingSkill / MissingEquipment / InvalidRequest if the job cannot use this resource."""

    # -- coverage ------------------------------------------------------------

    def span_needed(self, interval: Interval) -> Interval:
        """The window that must be loaded to judge ``interval``: its whole local days (the daily cap)."""
        tz = self.calendar.tz
        days = local_dates(interval, tz)
        return Interval(local_day_bounds(days[0], tz).start, local_day_bounds(days[-1], tz).end)

    def covers(self, interval: Interval) -> bool:
        return self.loaded.contains(self.span_needed(interval))

    # -- commands ------------------------------------------------------------

    def hold(self, cmd: Hold, now: datetime) -> HoldToken:
        self.check_requirement(cmd.requirement)
        self._touch(cmd.key)
        entry = self.calendar.hold(cmd.key, cmd.interval, cmd.expires_at, now)
        return self._token(entry)

    def book(self, cmd: Book, now: datetime) -> HoldToken:
        self.check_requirement(cmd.requirement)
        self._touch(cmd.key)
        return self._token(self.calendar.book(cmd.key, cmd.interval, now))

    def settle(self, cmd: Settle, now: datetime) -> bool:
        """Make memory agree with what the database committed; False when only a reload can."""
        self._touch(cmd.key)
        if cmd.finished:
            self.calendar.finish(cmd.key, cmd.interval)
            return True
        current = self.calendar.get(cmd.key)
        if (
            current is not None
            and not current.finished
            and current.interval == cmd.interval
            and current.held_until == cmd.held_until
        ):
            return True
        if cmd.held_until is None and current is not None and current.interval == cmd.interval and current.live(now):
            # A booking's confirm: its live hold on this very time was checked against every rule when
            # placed, and every entry since was checked against it, so turning it into an appointment
            # needs no second pass over the calendar (``book`` would re-check everything).
            self.calendar.confirm(cmd.key, now)
            return True
        try:
            if cmd.held_until is None:
                self.calendar.book(cmd.key, cmd.interval, now)
            elif cmd.held_until > now:
                self.calendar.hold(cmd.key, cmd.interval, cmd.held_until, now)
            else:
                self.calendar.release(cmd.key)
        except DomainError:
            return False
        return True

    def release(self, key: str) -> bool:
        self._touch(key)
        return self.calendar.release(key)

    def expire(self, now: datetime) -> list[str]:
        return self.calendar.expire(now)

    def view(self, window: Interval, now: datetime) -> ResourceView:
        entries = self.calendar.entries(now)
        # finished jobs take no time but count toward their day's cap, as in the database
        per_day = self.calendar.jobs_per_day(set(local_dates(window, self.calendar.tz)), now)
        busy = self.calendar.busy(window, now)
        return ResourceView(
            resource_id=self.ref.resource_id,
            name=self.name,
            busy=tuple(busy),
            working=tuple(self.working_time(window)),
            free=tuple(self.calendar.free(window, now, busy)),
            jobs_per_day=per_day,
            entries=tuple(e for e in entries if e.interval.overlaps(window)),
        )

    # -- reload --------------------------------------------------------------

    def begin_reload(self) -> None:
        """Start recording keys touched while the store is read, so the merge keeps newer changes."""
        self._dirty = set()

    def finish_reload(self, stored: Iterable[CalendarEntry], loaded: Interval, now: datetime) -> None:
        """Replace the calendar with the store's entries, keeping what changed meanwhile.

        Keys touched during the read are newer than the snapshot and keep their
        in-memory state; live holds the store does not know (bookings between
        hold and commit) are kept too, and expire on their own.
        """
        dirty, self._dirty = self._dirty or set(), None
        merged = {e.key: e for e in stored}
        for key in dirty:
            current = self.calendar.get(key)
            if current is None:
                merged.pop(key, None)
            else:
                merged[key] = current
        for entry in self.calendar.entries(now):
            if entry.held_until is not None and entry.key not in merged and entry.key not in dirty:
                merged[entry.key] = entry
        self.calendar.replace_all(merged.values())
        self.loaded = loaded

    def finish_reload_aborted(self) -> None:
        self._dirty = None

    def _touch(self, key: str) -> None:
        if self._dirty is not None:
            self._dirty.add(key)

    def _token(self, entry: CalendarEntry) -> HoldToken:
        return HoldToken(
            key=entry.key,
            resource_id=self.ref.resource_id,
            resource_name=self.name,
            rid=self.rid,
            interval=entry.interval,
            expires_at=entry.held_until or entry.interval.end,
            timezone=self.timezone,
        )
