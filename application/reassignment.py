"""Book by reassignment: when urgent work finds no slot in time, make room on a shop-day (issue 14).

A CRITICAL job that has no slot by the end of the shop's next working day, or
a HIGH job none within ``SchedulingPolicy.reassign_horizon_days``, may still
fit if booked appointments that have not started change technician or bay
(``solver.reassign``): every customer keeps their shop, start and end, so
nobody sees the change. ``RoomMaker.offer`` builds that model for one
shop-day from the store (appointments: the last word) and the calendars
(working hours, in-flight holds), and answers a ``Reassignment``: the slot,
and the moves that make it free. ``BookingService.book_reassigned`` applies
it in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import asyncpg

from application.booking_queries import ShopBusy
from application.catalog_cache import CatalogCache, ShopCatalog
from application.slot_search import AvailabilitySource
from application.transactions import read
from domain.appointment import Appointment, AppointmentStatus
from domain.catalog import ServiceType
from domain.job import Job, Slot
from domain.parts import check_parts
from domain.policy import URGENT_WORK, SchedulingPolicy
from domain.shop import Shop
from domain.time_windows import Interval, local_date, local_day_bounds
from domain.urgency import Urgency
from solver.build import busy_span, ceil_minutes, floor_minutes, inner_spans, step_minutes, whole_minutes
from solver.checker import plan_violations
from solver.reassign import BookedJob, Place, ReassignProblem, solve_reassignment
from solver.reserves import place_blocks
from solver.spans import Span, normalize
from store import appointment_repository as appointments

REASSIGNABLE = frozenset({Urgency.CRITICAL, Urgency.HIGH})


@dataclass(frozen=True, slots=True)
class PlannedMove:
    """A booked appointment's new technician and bay; ``sequence`` is the version the plan was made from."""

    appointment_id: str
    sequence: int
    technician_from: str
    technician_to: str
    bay_from: str
    bay_to: str


@dataclass(frozen=True, slots=True)
class Reassignment:
    """A slot that is free once ``moves`` are applied."""

    slot: Slot
    moves: tuple[PlannedMove, ...]


def reassignment_days(shop: Shop, urgency: Urgency, now: datetime, horizon_days: int) -> list[date]:
    """The local days reassignment may make room on: CRITICAL, today and the next open day; HIGH, ``horizon_days``."""
    today = local_date(now, shop.tz)
    if urgency is not Urgency.CRITICAL:
        return [today + timedelta(days=n) for n in range(max(1, horizon_days))]
    days = [today]
    for n in range(1, 15):
        day = today + timedelta(days=n)
        days.append(day)
        if shop.open_windows(day):
            break
    return days


class RoomMaker:
    """Finds a reassignment that frees room for one urgent job on one shop-day."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        catalog: CatalogCache,
        availability: AvailabilitySource,
        policy: SchedulingPolicy,
        *,
        time_limit_s: float = 1.0,
    ) -> None:
        self._pool = pool
        self._catalog = catalog
        self._availability = availability
        self._policy = policy
        self._time_limit_s = time_limit_s

    async def offer(
        self,
        cat: ShopCatalog,
        job: Job,
        day: date,
        now: datetime,
        *,
        vehicle_busy: Sequence[Interval] = (),
        pinned: tuple[str, str, datetime] | None = None,
    ) -> Reassignment | None:
        """The earliest slot on ``day`` that reassignment frees for ``job``, with the fewest moves; None if none.

        ``pinned`` (technician, bay, start) asks for that slot only: a client booking a reassignment slot.
        """
        service = await self._catalog.service_type(job.service_type)
        duration = job.duration
        window = local_day_bounds(day, cat.shop.tz)
        busy = await self._availability.shop_availability(cat, window, now)
        booked = await read(self._pool, lambda conn: appointments.list_for_shop(conn, cat.shop.id, window, now))
        services = {a.service_type: await self._catalog.service_type(a.service_type) for a in booked}
        parts = check_parts(service.required_parts, cat.parts, now)
        if not parts.available:
            return None  # waiting for parts is not what reassignment solves
        problem, movable = self._problem(cat, service, job, duration, window, now, busy, booked, services, vehicle_busy)
        if pinned is not None:
            tech_id, bay_id, start = pinned
            minute = floor_minutes(start, window.start)
            if minute not in problem.starts or tech_id not in problem.skilled or bay_id not in problem.equipped:
                return None
            problem = replace(problem, starts=(minute,), skilled=frozenset({tech_id}), equipped=frozenset({bay_id}))
        plan = solve_reassignment(problem, self._time_limit_s)
        if plan is None or not plan.moves or plan_violations(problem, plan):
            return None  # no room, or room that needs no move (the plain search offers it)
        start = window.start + timedelta(minutes=plan.start)
        slot = Slot(
            shop_id=cat.shop.id,
            technician_id=plan.technician,
            bay_id=plan.bay,
            interval=Interval(start, start + duration),
            parts_available=True,
            confidence=1.0 if plan.optimal else 0.7,
            penalties=(("requires_reassignment", float(len(plan.moves))),),
            requires_reassignment=len(plan.moves),
        )
        moves = tuple(
            PlannedMove(m.job_id, movable[m.job_id].sequence, m.technician_from, m.technician_to, m.bay_from, m.bay_to)
            for m in plan.moves
        )
        return Reassignment(slot, moves)

    def _held_blocks(self, places: Sequence[Place], window: Interval, now: datetime) -> dict[str, tuple[Span, ...]]:
        """The urgent reserve's blocks on this day, while it still holds them (``solver.reserves``)."""
        urgent = self._policy.urgent_reserve
        if urgent.block is None or urgent.share <= 0 or now >= window.start - urgent.release:
            return {}
        working = {p.id: p.working for p in places}
        day_length = floor_minutes(window.end, window.start)
        return place_blocks(
            working, [0], day_length, urgent.share, whole_minutes(urgent.block), step_minutes(self._policy)
        )

    def _problem(
        self,
        cat: ShopCatalog,
        service: ServiceType,
        job: Job,
        duration: timedelta,
        window: Interval,
        now: datetime,
        busy: ShopBusy,
        booked: Sequence[Appointment],
        services: dict[str, ServiceType],
        vehicle_busy: Sequence[Interval],
    ) -> tuple[ReassignProblem, dict[str, Appointment]]:
        origin = window.start
        movable = {
            a.id: a
            for a in booked
            if a.status is AppointmentStatus.SCHEDULED
            and a.start > now
            and window.start <= a.start < window.end
            and a.site is None  # on-site work keeps its technician and van (routes move it: issue 17)
        }
        # Shop work only: mobile technicians and their vans take on-site jobs, which never move here.
        techs = [t for t in cat.technicians if t.active and not t.mobile and t.id in busy.technicians]
        bays = [b for b in cat.bays if b.active and b.van_of is None and b.id in busy.bays]

        def fixed_of(resource_id: str, attr: str, entries: Sequence[Interval]) -> tuple[Span, ...]:
            # Everything on the resource that does not move: the store's rows and the calendar's in-flight holds.
            rows = [a.interval for a in booked if getattr(a, attr) == resource_id and a.id not in movable]
            return tuple(normalize(busy_span(iv, origin) for iv in [*rows, *entries]))

        places_t = []
        for t in techs:
            view = busy.technicians[t.id]
            entries = [e.interval for e in view.entries if e.key not in movable]
            # the day's jobs as the calendar counts them toward the cap (completed ones too, as PostgreSQL does),
            # less the ones this plan may move
            moving = sum(1 for a in movable.values() if a.technician_id == t.id)
            on_day = max(0, view.jobs_per_day.get(local_date(window.start, cat.shop.tz), 0) - moving)
            places_t.append(
                Place(
                    t.id,
                    inner_spans(view.working, origin),
                    fixed_of(t.id, "technician_id", entries),
                    fixed_jobs=on_day,
                )
            )
        places_b = []
        for b in bays:
            view = busy.bays[b.id]
            entries = [e.interval for e in view.entries if e.key not in movable]
            places_b.append(Place(b.id, inner_spans(view.working, origin), fixed_of(b.id, "bay_id", entries)))
        kept = self._held_blocks(places_t, window, now)

        def may_take(tech_id: str, a: Appointment) -> bool:
            # A routine job moved to another technician keeps out of that technician's held urgent blocks,
            # as it would if it were booked there now; where it is stays allowed (the solver keeps it anyway).
            if a.urgency in URGENT_WORK or tech_id == a.technician_id:
                return True
            lo, hi = busy_span(a.interval, origin)
            return not any(b_lo - buffer < hi and lo < b_hi + buffer for b_lo, b_hi in kept.get(tech_id, ()))

        buffer = whole_minutes(self._policy.buffer)
        jobs = tuple(
            BookedJob(
                a.id,
                busy_span(a.interval, origin),
                a.technician_id,
                a.bay_id,
                tuple(
                    t.id for t in techs if t.has_skill(services[a.service_type].required_skill) and may_take(t.id, a)
                ),
                tuple(b.id for b in bays if b.has_equipment(services[a.service_type].required_equipment)),
            )
            for a in movable.values()
        )
        step = step_minutes(self._policy)
        d = whole_minutes(duration)
        # The booking notice binds a slot made by reassignment as any other (CRITICAL: the emergency notice).
        notice_ends = self._policy.earliest_start(job.urgency, now)
        first = max(notice_ends, job.earliest or now, window.start)
        lo = -(-ceil_minutes(first, origin) // step) * step
        day_len = floor_minutes(window.end, origin)
        car = [busy_span(iv, origin) for iv in vehicle_busy]
        starts = tuple(s for s in range(lo, day_len - d + 1, step) if all(s + d <= a or b <= s for a, b in car))
        problem = ReassignProblem(
            duration=d,
            starts=starts,
            skilled=frozenset(t.id for t in techs if t.has_skill(service.required_skill)),
            equipped=frozenset(b.id for b in bays if b.has_equipment(service.required_equipment)),
            technicians=tuple(places_t),
            bays=tuple(places_b),
            jobs=jobs,
            buffer=buffer,
            cap=self._policy.max_bookings_per_technician_per_day,
        )
        return problem, movable
