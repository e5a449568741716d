"""The solver's input: one job to place at one shop, in integer minutes.

A ``SlotProblem`` is plain data with no datetimes: every instant is a whole
number of minutes from ``origin`` (an aware instant kept only so results can
be mapped back). ``solver.build`` makes one from domain objects; tests and
benchmarks may build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.fast_pickle import FastPickle
from solver.spans import Span


@dataclass(frozen=True, slots=True)
class Visit(FastPickle):
    """An on-site job a mobile technician already has, and the drive to ours.

    ``travel`` is the minutes between that visit's site and this job's site;
    the new job must leave that much time after (or before) the visit.
    ``onward`` is the drive from that visit to the technician's next stop as
    planned now, which the job would replace by two drives (the objective's
    extra-travel term). A zero-length visit stands for the technician's base
    at the start or end of their day. A technician's visits are in time order.
    """

    span: Span
    travel: int
    onward: int = 0


@dataclass(frozen=True, slots=True)
class TechnicianFree(FastPickle):
    """One technician as the solver sees them.

    ``free`` is working time minus busy time widened by the buffer (so the
    buffer is already respected); ``jobs_per_day[i]`` counts the jobs the
    technician has on the problem's local day ``i``.
    """

    id: str
    free: tuple[Span, ...]
    jobs_per_day: tuple[int, ...]
    daily_cap: int
    rating: float = 4.0
    skilled: bool = True
    visits: tuple[Visit, ...] = ()
    working_minutes: tuple[int, ...] = ()
    """Working minutes on each local day of the problem (whole days); empty: no reserve applies."""
    booked_minutes: tuple[int, ...] = ()
    """Minutes of jobs (and live holds) already on each local day; with ``working_minutes`` for reserves."""
    reserved: tuple[Span, ...] = ()
    """The urgent reserve's blocks on this technician's days (``solver.reserves.place_blocks``);
    set only for a job kept out of it."""


@dataclass(frozen=True, slots=True)
class BayFree(FastPickle):
    """One service bay: its free (open and unbooked) time and whether it has the equipment."""

    id: str
    free: tuple[Span, ...]
    equipped: bool = True


@dataclass(frozen=True, slots=True)
class ReserveRule(FastPickle):
    """Time the job may not take until ``release`` minutes before its day starts.

    ``code`` names it in explanations and checker findings (``urgent_reserve``,
    ``priority_reserve``). A *positioned* reserve keeps the technicians'
    ``reserved`` blocks; any other keeps ``share`` of each technician's day's
    minutes. See ``solver.reserves``.
    """

    code: str
    share: float
    release: int
    positioned: bool = False


@dataclass(frozen=True, slots=True)
class Weights(FastPickle):
    """Points per unit of each objective term (see ``solver.objective``).

    The defaults make a customer's preferred date worth more than a few days
    of waiting, and keep balance and rating as tie-breakers.
    """

    urgency_delay: int = 1
    """Per urgency-weight unit, per slot step of delay past the wanted time."""
    preferred_date: int = 300
    """Per tier unit, per day away from the preferred date."""
    preferred_window: int = 10
    """Per tier unit, per slot step outside the preferred wall-clock window."""
    preferred_technician: int = 150
    """Per tier unit, when the slot is not with the preferred technician."""
    waiting: int = 20
    """Per tier unit, per day the customer waits from ``earliest``."""
    workload_balance: int = 15
    """Per job the technician already has that day."""
    rating: int = 10
    """Per rating point below 5.0."""
    stranded_gap: int = 5
    """Per slot step of technician or bay time a placement strands (``solver.fragmentation``)."""
    loose_routine: int = 20
    """When a routine (LOW/MEDIUM) job touches neither an existing job, nor a day edge, nor now."""
    reserve_use: int = 100
    """When a job that may borrow the urgent reserve touches a held block (``SlotProblem.borrows``)."""
    extra_travel: int = 2
    """Per minute of driving an on-site job adds to the technician's route (``TechnicianFree.visits``)."""


@dataclass(frozen=True, slots=True)
class SlotProblem(FastPickle):
    """Place one job of ``duration`` minutes with one technician and one bay.

    ``day_starts`` are the minute offsets of each shop-local day in the
    horizon (a local day may be 23 or 25 hours long across DST); the horizon
    ends at ``horizon_end``. ``earliest`` is the first allowed start (now, or
    the parts' arrival). ``preferred_windows`` holds the preferred wall-clock
    window on each day (any day, not only the preferred date).
    """

    origin: datetime
    duration: int
    earliest: int
    horizon_end: int
    day_starts: tuple[int, ...]
    technicians: tuple[TechnicianFree, ...]
    bays: tuple[BayFree, ...]
    urgency_weight: int = 2
    tier_weight: int = 1
    emergency: bool = False
    step: int = 15
    preferred_day: int | None = None
    preferred_windows: tuple[Span, ...] = ()
    preferred_technician: str | None = None
    needs_bay: bool = True
    """False for on-site (mobile) work: no bay, but travel between visits applies."""
    parts_ready: int | None = None
    """When parts are missing: the minute they arrive (may lie past the horizon)."""
    top_k: int = 3
    weights: Weights = field(default_factory=Weights)
    shop_id: str = ""
    routine: bool = False
    """LOW/MEDIUM work: placed next to existing jobs or day edges by preference (``solver.objective``)."""
    reserves: tuple[ReserveRule, ...] = ()
    """The reserves this job is kept out of until their release (hard rules)."""
    borrows: tuple[ReserveRule, ...] = ()
    """Positioned reserves this job may use at a cost (HIGH work in the urgent reserve's blocks:
    ``Weights.reserve_use``), so it takes a block only when that saves it real waiting."""
    now: int | None = None
    """The minute of now, for the reserves' release; None means ``earliest``."""
    buffer: int = 0
    """Minutes a technician keeps between jobs (already cut out of ``free``; fragmentation needs it)."""
    shortest_job: int = 0
    """A gap left free shorter than this (plus the buffer, for technicians) is stranded; 0 turns that off."""

    def __post_init__(self) -> None:
        if self.duration <= 0 or self.step <= 0:
            raise ValueError("duration and step must be positive")
        if not self.day_starts:
            raise ValueError("day_starts must name at least one day")
        days = len(self.day_starts)
        for tech in self.technicians:
            if len(tech.jobs_per_day) != days:
                raise ValueError(f"technician {tech.id}: jobs_per_day must have one entry per day")
            if (tech.working_minutes or tech.booked_minutes) and not (
                len(tech.working_minutes) == len(tech.booked_minutes) == days
            ):
                raise ValueError(f"technician {tech.id}: working and booked minutes need one entry per day")

    @property
    def clock(self) -> int:
        """Now, in minutes from the origin (the reserves are released against it)."""
        return self.earliest if self.now is None else self.now

    def day_of(self, minute: int) -> int:
        """Index of the local day holding ``minute`` (clamped to the horizon's days)."""
        lo, hi = 0, len(self.day_starts) - 1
        while lo < hi:  # bisect by hand: this is on the hot path and tiny
            mid = (lo + hi + 1) // 2
            if self.day_starts[mid] <= minute:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def day_span(self, day: int) -> Span:
        end = self.day_starts[day + 1] if day + 1 < len(self.day_starts) else self.horizon_end
        return (self.day_starts[day], end)

    @property
    def first_start(self) -> int:
        """The first allowed start: not before ``earliest`` nor before the parts arrive."""
        return self.earliest if self.parts_ready is None else max(self.earliest, self.parts_ready)

    @property
    def wanted_start(self) -> int:
        """The instant the customer wants: start of the preferred window/date, never before first_start."""
        wanted = self.first_start
        if self.preferred_day is not None and 0 <= self.preferred_day < len(self.day_starts):
            day_span = self.day_span(self.preferred_day)
            wanted = max(wanted, day_span[0])
            for start, _end in self.preferred_windows:
                if day_span[0] <= start < day_span[1]:
                    wanted = max(self.first_start, start)
                    break
        return wanted
