"""Mapping at the solver's boundary: domain objects in, ``domain.job.Slot`` out.

The caller (the coordinator) gathers each resource's free time from its
actor; this module only converts. Instants become whole minutes from the
shop-local midnight of ``now`` (free time is rounded inwards, so a rounded
slot never leaves the real free time), and the slot-step grid is aligned to
that local midnight, hence to the wall clock (any DST shift that is a
multiple of the step keeps it aligned).

Technicians without the skill and bays without the equipment are kept but
flagged (``skilled``/``equipped`` False): the solver's own skill and bay
rules then rule them out and can say so in explanations.

The policy's reserves reach the problem as the ones this job is kept out of
(``SchedulingPolicy.reserves_closed_to``), with each technician's working and
booked minutes per local day and the urgent reserve's blocks placed over the
shop's technicians (``solver.reserves.place_blocks``); its buffer and shortest
job reach it for the fragmentation term.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from domain.catalog import ServiceCategory, ServiceType
from domain.errors import NoSlotAvailable
from domain.job import Job, Slot
from domain.parts import PartsAvailability
from domain.policy import URGENT_WORK, SchedulingPolicy
from domain.resources import ServiceBay, Technician
from domain.shop import Shop
from domain.time_windows import Interval, local_date, local_day_bounds, local_window, require_aware
from domain.urgency import Urgency
from solver import reserves
from solver.problem import BayFree, ReserveRule, SlotProblem, TechnicianFree, Visit, Weights
from solver.result import SlotResult
from solver.spans import Span, normalize

ON_SITE_BAY_ID = "on-site"
"""``Slot.bay_id`` of an on-site (mobile) job, which needs no bay."""

DEFAULT_HORIZON_DAYS = 14


def floor_minutes(instant: datetime, origin: datetime) -> int:
    """Whole minutes from ``origin`` to ``instant``, rounded down."""
    return math.floor((require_aware(instant) - origin).total_seconds() / 60)


def ceil_minutes(instant: datetime, origin: datetime) -> int:
    """Whole minutes from ``origin`` to ``instant``, rounded up."""
    return math.ceil((require_aware(instant) - origin).total_seconds() / 60)


_MINUTE = timedelta(minutes=1)


def inner_spans(intervals: Sequence[Interval], origin: datetime) -> tuple[Span, ...]:
    """Free or working time in whole minutes, rounded inwards (a slot inside never leaves the real time)."""
    # Exact integer division of timedeltas: hundreds of intervals a search, already aware (``Interval``).
    return tuple(normalize((-((origin - iv.start) // _MINUTE), (iv.end - origin) // _MINUTE) for iv in intervals))


def busy_span(iv: Interval, origin: datetime) -> Span:
    """Busy time in whole minutes, rounded outwards (it never shrinks)."""
    return (floor_minutes(iv.start, origin), ceil_minutes(iv.end, origin))


def whole_minutes(span: timedelta) -> int:
    """A duration in whole minutes, rounded up."""
    return math.ceil(span.total_seconds() / 60)


def step_minutes(policy: SchedulingPolicy) -> int:
    """The policy's slot grid in minutes (at least 1)."""
    return max(1, round(policy.slot_step.total_seconds() / 60))


def _per_day(spans: Sequence[Span], day_starts: Sequence[int], horizon_end: int) -> tuple[int, ...]:
    """Minutes of ``spans`` on each local day."""
    bounds = [*day_starts, horizon_end]
    return tuple(
        sum(max(0, min(hi, bounds[d + 1]) - max(lo, bounds[d])) for lo, hi in spans) for d in range(len(day_starts))
    )


def build_slot_problem(
    shop: Shop,
    technicians: Sequence[tuple[Technician, Sequence[Interval], Mapping[date, int]]],
    bays: Sequence[tuple[ServiceBay, Sequence[Interval]]],
    service: ServiceType,
    job: Job,
    parts: PartsAvailability,
    policy: SchedulingPolicy,
    now: datetime,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    top_k: int = 3,
    weights: Weights | None = None,
    on_site: bool = False,
    visits: Mapping[str, Sequence[tuple[Interval, int, int]]] | None = None,
    technician_days: Mapping[str, tuple[Sequence[Interval], Sequence[Interval]]] | None = None,
    current_time: datetime | None = None,
) -> SlotProblem:
    """A ``SlotProblem`` for ``job`` at ``shop`` over ``horizon_days`` local days from ``now``.

    ``technicians`` pairs each technician with their free time (working time
    minus busy time widened by the buffer: ``ResourceCalendar.free``) and
    their job count per local date; ``bays`` pairs each bay with its free
    time. ``visits`` (on-site work only) gives each technician's existing
    on-site jobs (and base edges) with the minutes of driving to and from the
    job's place and on to their next stop (``application.mobile``). ``technician_days`` gives
    each technician's working intervals and booked intervals (jobs and live
    holds) over whole local days, for the reserves; a technician without them
    is not held to any reserve. ``current_time`` is the present, against
    which reserves are released (``now``, where the search starts, by
    default). Raises ``NoSlotAvailable`` when the shop has never stocked a
    required part (no lead time is known).
    """
    if parts.unknown:
        raise NoSlotAvailable(
            f"shop {shop.id} does not stock {', '.join(parts.unknown)}",
            reasons=[{"code": "parts_unknown", "parts": list(parts.unknown)}],
        )
    tz = shop.tz
    first_day = local_date(now, tz)
    dates = [first_day + timedelta(days=n) for n in range(horizon_days)]
    origin = local_day_bounds(first_day, tz).start
    day_starts = tuple(floor_minutes(local_day_bounds(d, tz).start, origin) for d in dates)
    horizon_end = floor_minutes(local_day_bounds(dates[-1], tz).end, origin)
    earliest = ceil_minutes(max(require_aware(now), require_aware(job.earliest or now)), origin)
    parts_ready = None if parts.available else ceil_minutes(parts.ready_at, origin)

    windows: list[Span] = []
    if job.preferred_window is not None:
        opens, closes = job.preferred_window
        for d in dates:
            iv = local_window(d, opens, closes, tz)
            if iv is not None:
                windows.append((ceil_minutes(iv.start, origin), floor_minutes(iv.end, origin)))
    preferred_day = (
        (job.preferred_date - first_day).days
        if job.preferred_date is not None and 0 <= (job.preferred_date - first_day).days < horizon_days
        else None
    )

    emergency = job.urgency is Urgency.CRITICAL or service.category is ServiceCategory.EMERGENCY
    closed = () if emergency else policy.reserves_closed_to(job.urgency, job.customer_tier)
    # Urgent work that is not an emergency (HIGH) may take the urgent blocks, at a cost.
    urgent = policy.urgent_reserve
    borrowed = (
        (urgent,)
        if not emergency and job.urgency in URGENT_WORK and urgent.block is not None and urgent.share > 0
        else ()
    )
    reserve_rules = tuple(
        ReserveRule(r.kind.value, r.share, whole_minutes(r.release), positioned=r.block is not None) for r in closed
    )
    step = step_minutes(policy)

    def day_minutes(tech: Technician) -> tuple[tuple[int, ...], tuple[int, ...]]:
        if not reserve_rules or technician_days is None or tech.id not in technician_days:
            return (), ()
        working, booked = technician_days[tech.id]
        booked_spans = normalize(busy_span(iv, origin) for iv in booked)
        return _per_day(inner_spans(working, origin), day_starts, horizon_end), _per_day(
            booked_spans, day_starts, horizon_end
        )

    def visits_of(tech: Technician) -> tuple[Visit, ...]:
        if not on_site or visits is None:
            return ()
        # in time order: the extra-travel term finds a slot's neighbours by bisection
        return tuple(
            sorted(
                (Visit(busy_span(iv, origin), travel, onward) for iv, travel, onward in visits.get(tech.id, ())),
                key=lambda v: v.span,
            )
        )

    minutes = {tech.id: day_minutes(tech) for tech, _, _ in technicians}
    positioned = next((r for r in (*closed, *borrowed) if r.block is not None), None)
    blocks: dict[str, tuple[Span, ...]] = {}
    if positioned is not None and technician_days is not None:
        # Every active technician of the shop counts, skilled for this job or not: the blocks are the
        # shop's, the same for every search of the day.
        working = {
            tech.id: inner_spans(technician_days[tech.id][0], origin)
            for tech, _, _ in technicians
            if tech.active and tech.id in technician_days
        }
        blocks = reserves.place_blocks(
            working, day_starts, horizon_end, positioned.share, whole_minutes(positioned.block or timedelta(0)), step
        )
    return SlotProblem(
        origin=origin,
        duration=whole_minutes(job.duration),
        earliest=earliest,
        horizon_end=horizon_end,
        day_starts=day_starts,
        technicians=tuple(
            TechnicianFree(
                id=tech.id,
                free=inner_spans(free, origin),
                jobs_per_day=tuple(counts.get(d, 0) for d in dates),
                daily_cap=policy.max_bookings_per_technician_per_day,
                rating=tech.rating,
                skilled=tech.active
                and tech.has_skill(service.required_skill)
                # on site, a mobile technician's van must carry the equipment (there is no bay to have it)
                and (not (on_site and tech.mobile) or service.required_equipment <= tech.van_equipment),
                visits=visits_of(tech),
                working_minutes=minutes[tech.id][0],
                booked_minutes=minutes[tech.id][1],
                reserved=blocks.get(tech.id, ()),
            )
            for tech, free, counts in technicians
        ),
        bays=tuple(
            BayFree(
                id=bay.id,
                free=inner_spans(free, origin),
                equipped=bay.active and bay.has_equipment(service.required_equipment),
            )
            for bay, free in bays
        ),
        urgency_weight=job.urgency.weight,
        tier_weight=job.customer_tier.weight,
        emergency=emergency,
        step=step,
        preferred_day=preferred_day,
        preferred_windows=tuple(windows),
        preferred_technician=job.preferred_technician_id,
        needs_bay=not on_site,
        parts_ready=parts_ready,
        top_k=top_k,
        weights=weights or Weights(),
        shop_id=shop.id,
        routine=not emergency and job.urgency not in URGENT_WORK,
        reserves=reserve_rules,
        borrows=tuple(ReserveRule(r.kind.value, r.share, whole_minutes(r.release), positioned=True) for r in borrowed),
        now=floor_minutes(current_time or now, origin),
        buffer=whole_minutes(policy.buffer),
        shortest_job=whole_minutes(policy.shortest_job),
    )


def instant_of(problem: SlotProblem, minute: int) -> datetime:
    """The aware UTC instant of a minute offset of ``problem``."""
    return problem.origin + timedelta(minutes=minute)


def to_slots(problem: SlotProblem, result: SlotResult) -> list[Slot]:
    """The result's ranked slots as domain ``Slot`` objects, best first.

    ``score`` is the negated objective (0 is a perfect slot, higher is
    better); ``penalties`` are the objective terms that cost it points.
    """
    return [
        Slot(
            shop_id=problem.shop_id,
            technician_id=s.technician_id,
            bay_id=s.bay_id if s.bay_id is not None else ON_SITE_BAY_ID,
            interval=Interval(instant_of(problem, s.start), instant_of(problem, s.end)),
            parts_available=not s.waits_for_parts,
            confidence=s.confidence,
            score=float(-s.cost),
            penalties=tuple((name, float(points)) for name, points in s.penalties),
        )
        for s in result.slots
    ]


def suggested_date(problem: SlotProblem, result: SlotResult, shop: Shop) -> date | None:
    """The shop-local date to ask again from, when parts arrive past the horizon."""
    if result.suggested_start is None:
        return None
    return local_date(instant_of(problem, result.suggested_start), shop.tz)
