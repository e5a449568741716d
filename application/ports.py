"""The ports through which the use cases reach a technician's or bay's calendar.

``actors/`` implements them on Ray (a calendar host per shop, commands in
batches); tests implement them in-process. The value types here are what
crosses the port: which resource, what the job requires of it, the token a
hold answers, and a resource's view of a window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from domain.calendar import CalendarEntry
from domain.fast_pickle import FastPickle
from domain.time_windows import Interval


class ResourceKind(StrEnum):
    TECHNICIAN = "technician"
    BAY = "bay"


@dataclass(frozen=True, slots=True, order=True)
class ResourceRef(FastPickle):
    """A technician or bay of one shop; the shop scopes every lookup."""

    kind: ResourceKind
    shop_id: str
    resource_id: str

    @property
    def label(self) -> str:
        return f"{'tech' if self.kind is ResourceKind.TECHNICIAN else 'bay'}:{self.resource_id}"


@dataclass(frozen=True, slots=True)
class Requirement(FastPickle):
    """What the job needs from the resource: a skill (technician) or equipment (bay)."""

    skill: str | None = None
    equipment: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class HoldToken(FastPickle):
    """A live soft lock on one resource, plus what the booking needs to know about it."""

    key: str
    resource_id: str
    resource_name: str
    rid: int
    """The integer twin the database's exclusion constraint compares."""
    interval: Interval
    expires_at: datetime
    timezone: str


@dataclass(frozen=True, slots=True)
class ResourceView(FastPickle):
    """A resource's state in a window, as its actor sees it (memory, not the database)."""

    resource_id: str
    name: str
    busy: tuple[Interval, ...]
    """Time a new job may not overlap (buffer included for technicians)."""
    working: tuple[Interval, ...]
    free: tuple[Interval, ...]
    jobs_per_day: dict[date, int]
    entries: tuple[CalendarEntry, ...]


class ResourceHandle(Protocol):
    """One technician's or bay's calendar, wherever it lives. Every mutation is idempotent by key."""

    ref: ResourceRef
    host: str
    """The host carrying this calendar: commands to one host are applied in the order they were sent."""

    async def hold(
        self, key: str, interval: Interval, expires_at: datetime, *, now: datetime, requirement: Requirement = ...
    ) -> HoldToken: ...

    async def book(
        self, key: str, interval: Interval, *, now: datetime, requirement: Requirement = ...
    ) -> HoldToken: ...

    async def confirm(self, key: str, interval: Interval, *, now: datetime) -> None: ...

    async def restore(self, key: str, interval: Interval, held_until: datetime | None, *, now: datetime) -> None: ...

    async def finish(self, key: str, interval: Interval, *, now: datetime) -> None:
        """The job booked at ``interval`` was completed: its time is free, and it still counts toward the cap."""
        ...

    async def release(self, key: str, *, now: datetime) -> bool: ...

    async def cancel(self, key: str, *, now: datetime) -> bool: ...

    async def reload(self, *, now: datetime, refresh: bool = False) -> None:
        """Rebuild memory from the store; with ``refresh``, also re-read the resource (its hours, time off)."""
        ...

    async def expire(self, *, now: datetime) -> list[str]: ...

    async def view(self, window: Interval, *, now: datetime) -> ResourceView: ...

    async def busy(self, window: Interval, *, now: datetime) -> list[Interval]: ...

    async def free(self, window: Interval, *, now: datetime) -> list[Interval]: ...


class ResourceDirectory(Protocol):
    """Finds (and on first use creates) the actor of a shop's technician or bay."""

    def technician(self, shop_id: str, technician_id: str) -> ResourceHandle: ...

    def bay(self, shop_id: str, bay_id: str) -> ResourceHandle: ...

    async def activate(self, refs: Sequence[ResourceRef], now: datetime) -> None: ...

    async def shutdown(self) -> None: ...
