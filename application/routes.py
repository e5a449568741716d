"""Mobile technicians' routes (issue 17, item 4): a technician's day with its drives, and re-planning a shop-day.

``RoutePlanner.optimize`` re-plans the on-site visits of one shop-day that have
not started: their order, planned times and technician (where skills and van
allow), each inside the arrival window its customer was promised and each
technician inside their hours, for the least total driving
(``solver.day_routes``, PyVRP). A visit that has started (checked in, in
progress, or past its planned start), a live hold, and everything before them
on that technician's day stay as they are: the technician's route then starts
from that visit's place when it ends.

The plan is made from a snapshot and applied in one transaction under every
touched technician's and van's advisory lock (the booking lock's order), after
checking that the day is still the snapshot: a booking that committed
meanwhile makes the optimizer plan again (``attempts``); a booking that comes
after waits for the lock and is then checked against the new routes. Moves
inside the window tell no customer; a visit given to another technician
publishes ``technician.assigned``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from application import booking_events as events
from application.booking import BookingService
from application.mobile import MobileRules
from application.reassigned_booking import reload
from application.transactions import in_transaction, read
from application.travel import travel_table
from domain.appointment import Appointment, AppointmentStatus
from domain.errors import SlotTaken
from domain.events import TechnicianAssigned
from domain.mobile import Leg, Stop, day_legs, travel
from domain.resources import Technician
from domain.shop import GeoPoint, Shop
from domain.time_windows import Interval, local_day_bounds, merge
from solver.checker import day_route_violations
from solver.day_routes import DayRoutingProblem, VanDay, VisitToPlan, plan_travel, solve_day_routes
from store import appointment_repository as appointments
from store import visit_repository as visits

OPTIMIZE_SECONDS = 1.0
"""PyVRP's time for one shop-day (a few vans with a few visits each converge well within it)."""


@dataclass(frozen=True, slots=True)
class TechnicianRoute:
    """A technician's on-site visits of one local day in order, with the drive before each and home."""

    technician: Technician
    day: date
    hours: Interval | None
    stops: tuple[tuple[Appointment, Leg], ...]
    home: Leg | None

    @property
    def travel_minutes(self) -> int:
        return sum(leg.minutes for _, leg in self.stops) + (self.home.minutes if self.home else 0)


@dataclass(frozen=True, slots=True)
class VisitChange:
    """One visit the plan moves: from which technician and start to which."""

    appointment_id: str
    technician_from: str
    technician_to: str
    start_from: datetime
    start_to: datetime
    arrival_window: Interval


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """What ``optimize`` did: minutes driven before and after (the part of the day it may change), each move."""

    shop_id: str
    day: date
    travel_before: int
    travel_after: int
    changes: tuple[VisitChange, ...]
    visits: int
    """On-site visits it could re-plan."""
    attempts: int = 1


class _DayChanged(Exception):
    """The day changed between the snapshot and the locks: plan again."""


@dataclass(frozen=True, slots=True)
class _Snapshot:
    shop: Shop
    origin: datetime
    vans: tuple[Technician, ...]
    problem: DayRoutingProblem
    movable: tuple[Appointment, ...]
    current: tuple[tuple[tuple[int, int], ...], ...]
    fingerprint: frozenset[tuple[str, int, str]]


class RoutePlanner:
    """Routes of mobile technicians: read one, or re-plan a shop-day."""

    def __init__(
        self, booking: BookingService, rules: MobileRules, *, seconds: float = OPTIMIZE_SECONDS, attempts: int = 3
    ) -> None:
        self._booking = booking
        self._rules = rules
        self._seconds = seconds
        self._attempts = attempts

    # -- reading --

    async def route(self, technician: Technician, day: date, now: datetime | None = None) -> TechnicianRoute:
        """The technician's live on-site visits of ``day`` in order, with the drive before each and home."""
        now = now or self._booking.clock.now()
        shop = await self._booking.catalog.shop(technician.shop_id)
        bounds = local_day_bounds(day, shop.tz)
        found = await read(self._booking.pool, lambda conn: visits.live_visits(conn, [technician.id], bounds, now))
        windows = merge(technician.working_windows(shop, day))
        hours = Interval(windows[0].start, windows[-1].end) if windows else None
        if technician.base is None or not found:
            return TechnicianRoute(technician, day, hours, (), None)
        stops = [Stop(a.id, a.interval, a.site) for a in found if a.site is not None]
        table = await travel_table(self._rules.travel, [technician.base, *(s.site for s in stops)])
        legs = day_legs(hours or bounds, technician.base, stops, table)
        by_id = {a.id: a for a in found}
        return TechnicianRoute(
            technician, day, hours, tuple((by_id[leg.destination], leg) for leg in legs[:-1]), legs[-1]
        )

    # -- re-planning --

    async def optimize(self, shop_id: str, day: date, now: datetime | None = None) -> RoutePlan:
        """Re-plan the day's visits that have not started (see the module's docstring); applied in one transaction."""
        now = now or self._booking.clock.now()
        for attempt in range(1, self._attempts + 1):
            snap = await self._snapshot(shop_id, day, now)
            before = plan_travel(snap.problem, snap.current)
            if not snap.movable:
                return RoutePlan(shop_id, day, before, before, (), 0, attempt)
            plan = await asyncio.to_thread(solve_day_routes, snap.problem, self._seconds)
            # The independent checker has the last word before anything is written.
            if not plan.feasible or day_route_violations(snap.problem, plan.routes) or plan.travel >= before:
                return RoutePlan(shop_id, day, before, before, (), len(snap.movable), attempt)
            changes = self._changes(snap, plan.routes)
            try:
                await self._apply(snap, changes, now)
            except _DayChanged:
                continue
            return RoutePlan(shop_id, day, before, plan.travel, tuple(changes), len(snap.movable), attempt)
        raise SlotTaken(f"the routes of {shop_id} on {day.isoformat()} kept changing; try again")

    async def _snapshot(self, shop_id: str, day: date, now: datetime) -> _Snapshot:
        cat = await self._booking.catalog.shop_catalog(shop_id)
        shop = cat.shop
        bounds = local_day_bounds(day, shop.tz)
        origin = bounds.start
        vans = tuple(t for t in cat.technicians if t.mobile and t.active and t.base is not None)
        booked = await read(
            self._booking.pool, lambda conn: visits.live_visits(conn, [t.id for t in vans], bounds, now)
        )
        services = {code: await self._booking.catalog.service_type(code) for code in {a.service_type for a in booked}}
        buffer = _minutes(self._booking.policy.buffer)
        cap = self._booking.policy.max_bookings_per_technician_per_day

        movable: list[Appointment] = []
        van_days: list[VanDay] = []
        places: list[GeoPoint] = []

        def place(p: GeoPoint) -> int:
            if p not in places:
                places.append(p)
            return places.index(p)

        current_orders: list[list[Appointment]] = []
        for tech in vans:
            assert tech.base is not None
            mine = sorted((a for a in booked if a.technician_id == tech.id), key=lambda a: a.start)
            fixed = [a for a in mine if not _movable(a, now)]
            last_fixed = max(fixed, key=lambda a: a.end, default=None)
            free = [a for a in mine if a not in fixed and (last_fixed is None or a.start >= last_fixed.end)]
            kept = [a for a in mine if a not in free]  # started, held, and whatever lies before them
            last = max(kept, key=lambda a: a.end, default=None)
            windows = merge(tech.working_windows(shop, day))
            if not windows:
                continue
            opens = max(_at(windows[0].start, origin), _at(now, origin))
            start_place = place(tech.base)
            if last is not None and last.site is not None:
                start_place, opens = place(last.site), max(opens, _at(last.end, origin) + buffer)
            van_days.append(
                VanDay(start_place, place(tech.base), opens, _at(windows[-1].end, origin), max(0, cap - len(kept)))
            )
            movable += free
            current_orders.append(free)
        vans = tuple(t for t in vans if merge(t.working_windows(shop, day)))
        index = {a.id: n for n, a in enumerate(movable)}
        to_plan = tuple(
            VisitToPlan(
                place(a.site or vans[0].base or GeoPoint(0, 0)),
                _at(a.arrival_window.start, origin) if a.arrival_window else _at(a.start, origin),
                (_at(a.arrival_window.end, origin) - 1) if a.arrival_window else _at(a.start, origin),
                _minutes(a.interval.duration),
                frozenset(
                    n
                    for n, t in enumerate(vans)
                    if t.can_visit(services[a.service_type].required_skill, services[a.service_type].required_equipment)
                    or t.id == a.technician_id
                ),
            )
            for a in movable
        )
        table = await travel_table(self._rules.travel, places)
        matrix = tuple(tuple(travel(table, a, b) for b in places) for a in places)
        problem = DayRoutingProblem(matrix, tuple(van_days), to_plan, buffer)
        current = tuple(tuple((index[a.id], _at(a.start, origin)) for a in order) for order in current_orders)
        fingerprint = frozenset((a.id, a.sequence, a.status.value) for a in booked)
        return _Snapshot(shop, origin, vans, problem, tuple(movable), current, fingerprint)

    def _changes(self, snap: _Snapshot, routes: Sequence[Sequence[tuple[int, int]]]) -> list[VisitChange]:
        out = []
        for van, route in zip(snap.vans, routes, strict=True):
            for i, start in route:
                a = snap.movable[i]
                to = snap.origin + timedelta(minutes=start)
                if (van.id, to) != (a.technician_id, a.start):
                    assert a.arrival_window is not None
                    out.append(VisitChange(a.id, a.technician_id, van.id, a.start, to, a.arrival_window))
        return out

    async def _apply(self, snap: _Snapshot, changes: Sequence[VisitChange], now: datetime) -> None:
        shop_id = snap.shop.id
        by_id = {a.id: a for a in snap.movable}
        techs = {t.id for t in snap.vans}
        vans = {t.van_id for t in snap.vans}
        names = {t.id: t.name for t in snap.vans}
        bay_names = {b.id: b.name for b in (await self._booking.catalog.shop_catalog(shop_id)).bays}
        rids = await read(self._booking.pool, lambda conn: appointments.resource_rids_for_shop(conn, shop_id))
        bounds = local_day_bounds(snap.origin.astimezone(snap.shop.tz).date(), snap.shop.tz)

        async def write(conn: asyncpg.Connection) -> None:
            await appointments.lock_many(conn, [rids["technician", t] for t in techs], [rids["bay", b] for b in vans])
            live = await visits.live_visits(conn, sorted(techs), bounds, now)
            if frozenset((a.id, a.sequence, a.status.value) for a in live) != snap.fingerprint:
                raise _DayChanged
            await appointments.defer_overlap_checks(conn)
            moved = []
            for c in changes:
                a = by_id[c.appointment_id]
                van = next(t.van_id for t in snap.vans if t.id == c.technician_to)
                after = await visits.move_visit(
                    conn,
                    a.id,
                    a.sequence,
                    (c.technician_to, rids["technician", c.technician_to]),
                    (van, rids["bay", van]),
                    Interval(c.start_to, c.start_to + a.interval.duration),
                    self._booking.policy.buffer,
                    now,
                )
                if after is None:
                    raise _DayChanged
                moved.append(after)
            if moved:
                await appointments.check_overlaps_now(conn, moved[0])
            for a, c in zip(moved, changes, strict=True):
                if c.technician_to != c.technician_from:
                    # the technician hears of the job; the customer is not told (same window)
                    assigned = TechnicianAssigned(a, names[a.technician_id], bay_names[a.bay_id])
                    await events.record(conn, a.id, [assigned], now)

        try:
            await in_transaction(self._booking.pool, write)
        finally:
            if changes:
                await reload(self._booking, shop_id, techs, vans, now)


def _movable(a: Appointment, now: datetime) -> bool:
    """A scheduled visit that has not started and has a promised window; anything else stays put."""
    return a.status is AppointmentStatus.SCHEDULED and a.start > now and a.arrival_window is not None


def _at(instant: datetime, origin: datetime) -> int:
    return int((instant - origin).total_seconds() // 60)


def _minutes(span: timedelta) -> int:
    return -(-int(span.total_seconds()) // 60)
