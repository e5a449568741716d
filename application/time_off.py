"""A technician's time off, and the replan of the appointments it falls on (issue 14).

Recording an absence (``TimeOffService.record``) stores it (merged with the
technician's absences it overlaps or touches), re-reads the technician's
calendar, and replans every live appointment of theirs inside it, urgent
work first, then by start:

- **kept**: it has started, or it is a client's hold (its client confirms or
  lets it lapse), or the appointment never overlapped the absence;
- **reassigned**: another active technician with the skill is free at exactly
  that time (buffer and daily cap kept): the customer's time and bay stay;
- **rescheduled**: otherwise its best alternative slot, ranked as a new
  request of the same urgency would be (``appointment.rescheduled``);
- **unplaced**: nothing within the search horizon (14 days): reported, left
  where it is, for the shop to call the customer.

``dry_run`` answers the same plan and writes nothing. Each change names the
rule that forced it and where the appointment was before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.booking import BookingService
from application.booking_queries import BookingQueries
from application.catalog_cache import CatalogCache
from application.freed_time import FreedTime
from application.reassigned_booking import apply_moves
from application.reassignment import PlannedMove
from application.slot_search import SlotFinder, SlotSearch
from application.transactions import in_transaction, read
from domain.appointment import Appointment, AppointmentStatus
from domain.errors import DomainError, InvalidRequest, NotFound
from domain.time_windows import Interval, local_date, require_aware
from domain.urgency import Urgency
from store import absence_repository as absences
from store import appointment_repository as appointments

MAX_ABSENCE = timedelta(days=90)
_URGENCY_ORDER = {Urgency.CRITICAL: 0, Urgency.HIGH: 1, Urgency.MEDIUM: 2, Urgency.LOW: 3}


@dataclass(frozen=True, slots=True)
class Change:
    """What the replan does to one appointment, why, and where it was before."""

    appointment_id: str
    outcome: str
    """``kept``, ``reassigned``, ``rescheduled`` or ``unplaced``."""
    reason: str
    before: tuple[str, str, datetime]
    """(technician, bay, start) before the replan."""
    after: tuple[str, str, datetime] | None = None
    """(technician, bay, start) after it; None when kept or unplaced."""


@dataclass(frozen=True, slots=True)
class TimeOffPlan:
    """The absence as recorded (or as it would be) and the change to each appointment it falls on."""

    technician_id: str
    interval: Interval
    reason: str | None
    absence_id: str | None
    """None on a dry run."""
    changes: tuple[Change, ...]
    dry_run: bool


class TimeOffService:
    """Records and withdraws a technician's time off; replans what it falls on."""

    def __init__(
        self, booking: BookingService, queries: BookingQueries, finder: SlotFinder, catalog: CatalogCache
    ) -> None:
        self._booking = booking
        self._queries = queries
        self._finder = finder
        self._catalog = catalog

    async def record(
        self,
        technician_id: str,
        start: datetime,
        end: datetime,
        reason: str | None,
        *,
        dry_run: bool = False,
        now: datetime | None = None,
    ) -> TimeOffPlan:
        now = require_aware(now, "now") if now is not None else self._booking.clock.now()
        start, end = require_aware(start, "from"), require_aware(end, "to")
        if end <= start:
            raise InvalidRequest("time off must end after it starts", field="to")
        if end - start > MAX_ABSENCE:
            raise InvalidRequest(f"time off may span at most {MAX_ABSENCE.days} days", field="to")
        tech = await self._catalog.technician(technician_id)  # NotFound: 404
        interval = Interval(start, end)
        absence_id: str | None = None
        if not dry_run:
            absence, changed = await in_transaction(
                self._booking.pool, lambda conn: absences.record(conn, tech.id, interval, reason, now)
            )
            absence_id, interval = absence.id, absence.interval
            if changed:
                self._catalog.invalidate()
                await self._booking.directory.technician(tech.shop_id, tech.id).reload(now=now, refresh=True)
        affected = await read(
            self._booking.pool, lambda conn: appointments.list_live_for_technician(conn, tech.id, interval, now)
        )
        affected.sort(key=lambda a: (_URGENCY_ORDER[a.urgency], a.start))
        tz = (await self._catalog.shop(tech.shop_id)).tz  # the reason reads in the shop's wall-clock time
        off, back = (t.astimezone(tz).isoformat(timespec="minutes") for t in (interval.start, interval.end))
        why = f"{tech.id} is off from {off} to {back}" + (f" ({reason})" if reason else "")
        # Plan every appointment first (no writes), then apply the plan: a dry run answers exactly the plan.
        planned: dict[str, list[Interval]] = {}
        changes = [await self._replan(a, tech.id, why, planned, now) for a in affected]
        if not dry_run:
            changes = [await self._apply(c, a, tech.id, why, now) for c, a in zip(changes, affected, strict=True)]
        return TimeOffPlan(tech.id, interval, reason, absence_id, tuple(changes), dry_run)

    async def _apply(self, change: Change, a: Appointment, absent: str, why: str, now: datetime) -> Change:
        """Carry out one planned change; if its place was taken meanwhile, the best slot now."""
        if change.after is None:
            return change
        tech, bay, start = change.after
        try:
            if change.outcome == "reassigned":
                await apply_moves(
                    self._booking, a.shop_id, [PlannedMove(a.id, a.sequence, a.technician_id, tech, a.bay_id, bay)], now
                )
            else:
                await self._booking.reschedule(a.id, start=start, technician_id=tech, bay_id=bay, now=now)
            return change
        except DomainError:
            return await self._reschedule(a, absent, why, {}, False, now, change.before)

    async def withdraw(self, technician_id: str, absence_id: str, now: datetime | None = None) -> absences.Absence:
        """Delete one absence (nothing moves back: the appointments keep where the replan put them)."""
        now = require_aware(now, "now") if now is not None else self._booking.clock.now()
        tech = await self._catalog.technician(technician_id)
        gone = await in_transaction(self._booking.pool, lambda conn: absences.withdraw(conn, tech.id, absence_id))
        if gone is None:
            raise NotFound(f"no time off {absence_id} of technician {tech.id}", absence_id=absence_id)
        self._catalog.invalidate()
        await self._booking.directory.technician(tech.shop_id, tech.id).reload(now=now, refresh=True)
        self._booking.freed.announce(FreedTime.of_absence(tech.shop_id, gone.interval, gone.id))
        return gone

    async def absences_of(self, technician_id: str) -> list[absences.Absence]:
        tech = await self._catalog.technician(technician_id)
        return await read(self._booking.pool, lambda conn: absences.list_for(conn, tech.id))

    # -- one appointment ---------------------------------------------------------------------------

    async def free_colleague(self, a: Appointment, busy: str, now: datetime) -> str | None:
        """Another technician with the skill free (buffer and cap kept) for exactly ``a``'s time; None if none."""
        return await self._free_colleague(a, busy, {}, now)

    async def reschedule_elsewhere(
        self, a: Appointment, busy: str, why: str, now: datetime, before: tuple[str, str, datetime]
    ) -> Change:
        """Move ``a`` to its best other slot (never with ``busy``), or report it unplaced."""
        return await self._reschedule(a, busy, why, {}, False, now, before)

    async def _replan(
        self, a: Appointment, absent: str, why: str, planned: dict[str, list[Interval]], now: datetime
    ) -> Change:
        """The change planned for one appointment (nothing is written: ``_apply`` carries it out)."""
        before = (a.technician_id, a.bay_id, a.start)
        if a.status is not AppointmentStatus.SCHEDULED or a.start <= now:
            state = "a hold its client confirms or lets lapse" if a.status is AppointmentStatus.HELD else "started"
            return Change(a.id, "kept", f"{why}; it is {state}, so it stays", before)
        other = await self._free_colleague(a, absent, planned, now)
        if other is not None:
            planned.setdefault(other, []).append(a.interval)
            reason = f"{why}; {other} has the skill and is free then"
            return Change(a.id, "reassigned", reason, before, (other, a.bay_id, a.start))
        return await self._reschedule(a, absent, why, planned, True, now, before)

    async def _free_colleague(
        self, a: Appointment, absent: str, planned: dict[str, list[Interval]], now: datetime
    ) -> str | None:
        """An active technician with the skill who is free (buffer and cap kept) for exactly ``a``'s time."""
        service = await self._catalog.service_type(a.service_type)
        cat = await self._catalog.shop_catalog(a.shop_id)
        busy = await self._queries.resource_busy(a.shop_id, a.interval, now)
        day = local_date(a.start, cat.shop.tz)
        cap = self._booking.policy.max_bookings_per_technician_per_day
        buffer = self._booking.policy.buffer
        options = []
        for t in cat.technicians:
            view = busy.technicians.get(t.id)
            if t.id == absent or not t.active or not t.has_skill(service.required_skill) or view is None:
                continue
            fits = any(iv.start <= a.start and a.end <= iv.end for iv in view.free)
            clash = _clashes(planned.get(t.id, ()), a.interval, buffer)
            jobs = view.jobs_per_day.get(day, 0) + sum(
                local_date(p.start, cat.shop.tz) == day for p in planned.get(t.id, ())
            )
            if fits and not clash and jobs < cap:
                options.append((jobs, -t.rating, t.id))
        return min(options)[2] if options else None

    async def _reschedule(
        self,
        a: Appointment,
        absent: str,
        why: str,
        planned: dict[str, list[Interval]],
        dry_run: bool,
        now: datetime,
        before: tuple[str, str, datetime],
    ) -> Change:
        search = SlotSearch(
            vehicle_id=a.vehicle_id,
            service_type=a.service_type,
            urgency=a.urgency,
            duration=a.interval.duration,
            customer_tier=a.customer.tier,
            shop_ids=(a.shop_id,),
            exclude_technicians=(absent,),
            top_k=5,
        )
        result = await self._finder.find(search, now)
        for slot in result.slots:
            if _clashes(planned.get(slot.technician_id, ()), slot.interval, self._booking.policy.buffer):
                continue  # a dry run's calendars do not hold what this plan already gave that technician
            try:
                if not dry_run:
                    await self._booking.reschedule(
                        a.id, start=slot.start, technician_id=slot.technician_id, bay_id=slot.bay_id, now=now
                    )
            except DomainError:
                continue  # taken meanwhile: the next one
            planned.setdefault(slot.technician_id, []).append(slot.interval)
            return Change(
                a.id,
                "rescheduled",
                f"{why}; no one with the skill is free at that time, so its best other slot",
                before,
                (slot.technician_id, slot.bay_id, slot.start),
            )
        return Change(a.id, "unplaced", f"{why}; no slot within {search.search_days} days; call the customer", before)


def _clashes(planned: Sequence[Interval], interval: Interval, buffer: timedelta) -> bool:
    """Whether ``interval`` comes within the buffer of a job this plan already gave the technician."""
    return any(p.start - buffer < interval.end and interval.start < p.end + buffer for p in planned)


def summary(changes: Sequence[Change]) -> dict[str, int]:
    """How many appointments each outcome has."""
    out = {"kept": 0, "reassigned": 0, "rescheduled": 0, "unplaced": 0}
    for c in changes:
        out[c.outcome] += 1
    return out
