"""Recurring appointments: a series booked occurrence by occurrence, all or nothing, or with alternatives.

Every occurrence is its own appointment row (linked by ``series_id``), booked
through ``BookingService.book`` like a single booking: the same actor holds,
the same rules (working hours, caps, the vehicle in one place, notice and
horizon), and PostgreSQL's exclusion constraints have the last word, so two
clients racing to book overlapping series can never both hold the same time.

A series is taken in two phases. First every occurrence is *held* (a hold
publishes nothing); only when every one is held are they confirmed (each
confirmation publishes that occurrence's ``appointment.scheduled``). In
``reject`` mode one clash releases every hold and deletes the released rows:
nothing is left behind, and the 409 names the clashing occurrences with the
nearest alternatives on their days. If the process dies between the phases the
holds simply expire (``hold_ttl``) like any other hold. In ``alternatives``
mode a clashing occurrence is placed at its best alternative (the same local
day first, else within three days either side) and reported as moved.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from application.booking import BookingRequest, BookingService
from application.catalog_cache import CatalogCache
from application.idempotent_effects import unclaimed
from application.slot_search import SlotFinder, SlotSearch
from application.transactions import in_transaction, read
from domain.appointment import Appointment, AppointmentStatus
from domain.customer import Customer
from domain.errors import (
    DailyCapReached,
    DomainError,
    InvalidRequest,
    NoSlotAvailable,
    NotFound,
    OutsideBookingWindow,
    OutsideWorkingHours,
    SlotTaken,
    VehicleAlreadyBooked,
)
from domain.job import Slot
from domain.recurrence import occurrences, parse_rrule
from domain.time_windows import local_date, local_day_bounds
from store import appointment_repository as appointments

CLASHES = (SlotTaken, DailyCapReached, VehicleAlreadyBooked, OutsideWorkingHours, OutsideBookingWindow, NoSlotAvailable)
"""What keeps one occurrence from its requested time (other errors, e.g. a missing skill, refuse the series)."""
_RequestFactory = Callable[[datetime, str, str], BookingRequest]
"""``request(start, technician_id, bay_id)``: an occurrence's booking request."""
NEAREST_ALTERNATIVES = 3
MOVE_DAYS = 3
"""How many days either side of its own an occurrence may move to in ``alternatives`` mode."""


class ConflictMode(StrEnum):
    """What a series does when an occurrence's time is not free."""

    REJECT = "reject"
    ALTERNATIVES = "alternatives"


@dataclass(frozen=True, slots=True)
class SeriesRequest:
    """A recurring booking: the job (``search``), the first start, the RRULE, and who and where."""

    search: SlotSearch
    start: datetime
    recurrence: str
    customer: Customer
    notes: str | None = None
    technician_id: str | None = None
    bay: str | None = None
    """A bay's id or name, with ``technician_id``; without both, the service picks per occurrence."""
    shop_id: str | None = None
    conflicts: ConflictMode = ConflictMode.REJECT
    booked_by: str | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence: the start the rule gave, and the appointment booked for it (None: none fitted)."""

    requested: datetime
    appointment: Appointment | None
    reason: str | None = None
    """Why it moved or was not booked."""

    @property
    def moved(self) -> bool:
        """Placed at an alternative (another time, or another technician or bay) because its own clashed."""
        return self.appointment is not None and self.reason is not None


@dataclass(frozen=True, slots=True)
class BookedSeries:
    """The answer of a series booking: its id, rule and occurrences in order."""

    series_id: str
    recurrence: str
    occurrences: tuple[Occurrence, ...]


@dataclass(frozen=True, slots=True)
class _Clash:
    requested: datetime
    error: DomainError
    first: bool = False


class SeriesConflict(SlotTaken):
    """A ``reject`` series with clashing occurrences: nothing was booked; ``details['clashes']`` says which."""

    code = "series_conflict"


class SeriesBooker:
    """Books, reads and cancels recurring series."""

    def __init__(self, finder: SlotFinder, booking: BookingService, catalog: CatalogCache) -> None:
        self._finder = finder
        self._booking = booking
        self._catalog = catalog

    async def book(self, req: SeriesRequest, now: datetime | None = None) -> BookedSeries:
        """Book every occurrence of ``req`` (``reject``: all or nothing; ``alternatives``: each where it fits)."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        shop_id, tech_id, bay_id = await self._where(req)
        cat = await self._catalog.shop_catalog(shop_id)
        rule = parse_rrule(req.recurrence, req.start, cat.shop.tz)
        starts = occurrences(rule, req.start, cat.shop.tz)
        search, _ = await self._finder.in_context(replace(req.search, shop_ids=(shop_id,)))
        _, duration = await self._catalog.service_and_duration(search.service_type, search.duration)
        if req.conflicts is ConflictMode.REJECT:
            self._check_window(starts, search, now)
        series_id = str(uuid.uuid4())

        def request_for(first: bool) -> _RequestFactory:
            """The booking requests of one occurrence (the horizon binds the series' first only)."""

            def request(start: datetime, tech: str, bay: str) -> BookingRequest:
                return BookingRequest(
                    shop_id=shop_id,
                    technician_id=tech,
                    bay_id=bay,
                    start=start,
                    job=search.job(duration),
                    customer=req.customer,
                    notes=req.notes,
                    booked_by=req.booked_by,
                    series_id=series_id,
                    recurrence=rule.text,
                    past_horizon=not first,
                )

            return request

        held: list[Occurrence] = []
        clashes: list[_Clash] = []
        # A series is many writes under one request: the per-write idempotency stamp would refuse the second.
        with unclaimed():
            try:
                for index, start in enumerate(starts):
                    request = request_for(index == 0)
                    this = replace(search, past_horizon=index > 0)
                    try:
                        appt = await self._hold_at(this, start, tech_id, bay_id, request, now)
                        held.append(Occurrence(start, appt))
                    except CLASHES as exc:
                        if req.conflicts is ConflictMode.REJECT:
                            clashes.append(_Clash(start, exc, first=index == 0))
                            continue
                        held.append(await self._hold_elsewhere(this, start, exc, request, now))
                if clashes:
                    await self._undo(series_id, held, now)
                    raise SeriesConflict(
                        f"{len(clashes)} of {len(starts)} occurrences clash; nothing was booked",
                        clashes=[
                            await self._clash_answer(replace(search, past_horizon=not c.first), c, now)
                            for c in clashes
                        ],
                    )
                return BookedSeries(series_id, rule.text, tuple(await self._confirm_all(series_id, held, req, now)))
            except SeriesConflict:
                raise
            except BaseException:
                await self._undo(series_id, held, now)
                raise

    def _check_window(self, starts: Sequence[datetime], search: SlotSearch, now: datetime) -> None:
        """All or nothing: an occurrence inside the notice, or a first occurrence beyond the horizon, refuses the
        series (a 422, as for a single booking: the request breaks the rule, whatever the calendar holds). The
        horizon binds the first occurrence only: the later ones run to the series' own end."""
        for number, start in enumerate(starts, 1):
            try:
                self._booking.policy.check_booking_window(start, search.urgency, now, horizon=number == 1)
            except OutsideBookingWindow as exc:
                raise OutsideBookingWindow(
                    f"occurrence {number} of {len(starts)}: {exc.message}", occurrence=start.isoformat(), **exc.details
                ) from None

    async def series(self, series_id: str) -> list[Appointment]:
        """Every occurrence of the series (all statuses), by start; NotFound when there is none."""
        found = await read(self._booking.pool, lambda conn: appointments.list_by_series(conn, series_id))
        if not found:
            raise NotFound(f"no series {series_id}")
        return found

    async def cancel(
        self, occurrences_: Sequence[Appointment], *, since: datetime | None, reason: str | None
    ) -> list[Appointment]:
        """Cancel the live occurrences starting at or after ``since`` (all without it); each publishes its event."""
        out: list[Appointment] = []
        for appt in occurrences_:
            if since is not None and appt.start < since:
                continue
            if appt.status is AppointmentStatus.HELD:
                out.append(await self._booking.release_hold(appt.id))
            elif appt.status is AppointmentStatus.SCHEDULED:
                out.append(await self._booking.cancel(appt.id, reason=reason))
        return out

    # -- placing one occurrence --------------------------------------------------------------

    async def _where(self, req: SeriesRequest) -> tuple[str, str | None, str | None]:
        """The series' shop, and the technician and bay if the client chose them (checked as a single booking)."""
        within = req.search.within_shops
        if req.technician_id is None:
            shop_id = req.shop_id or (req.search.shop_ids[0] if len(req.search.shop_ids) == 1 else None)
            if shop_id is None:
                raise InvalidRequest("a recurring booking needs shop_id or technician_id", field="shop_id")
            if within is not None and shop_id not in within:
                raise InvalidRequest(f"unknown shop {shop_id}", field="shop_id")
            await self._catalog.shop_catalog(shop_id)
            return shop_id, None, None
        try:
            tech = await self._catalog.technician(req.technician_id)
            if within is not None and tech.shop_id not in within:
                raise NotFound(f"no technician {req.technician_id}")
        except NotFound:
            raise InvalidRequest(f"no technician {req.technician_id!r}", field="technician_id") from None
        if req.shop_id is not None and tech.shop_id != req.shop_id:
            raise InvalidRequest(
                f"technician {tech.id} works at {tech.shop_id}, not {req.shop_id}", field="technician_id"
            )
        cat = await self._catalog.shop_catalog(tech.shop_id)
        bay = next((b for b in cat.bays if req.bay in (b.id, b.name)), None)
        if bay is None:
            raise InvalidRequest(f"no service bay {req.bay!r} at {tech.shop_id}", field="service_bay")
        return tech.shop_id, tech.id, bay.id

    async def _hold_at(
        self,
        search: SlotSearch,
        start: datetime,
        tech_id: str | None,
        bay_id: str | None,
        request: _RequestFactory,
        now: datetime,
    ) -> Appointment:
        """Hold the occurrence at exactly ``start``: the chosen technician and bay, else the best pair then."""
        if tech_id is not None and bay_id is not None:
            return await self._booking.book(request(start, tech_id, bay_id), hold=True, now=now)
        result = await self._finder.find(replace(search, exact_start=start, top_k=5), now)
        if not result.slots:
            raise NoSlotAvailable(
                "; ".join(result.explanation) or "no technician and bay are free then", reasons=result.explanation
            )
        return await self._hold_first(result.slots, request, now)

    async def _hold_first(self, slots: Sequence[Slot], request: _RequestFactory, now: datetime) -> Appointment:
        last: DomainError | None = None
        for slot in slots:
            try:
                return await self._booking.book(
                    request(slot.start, slot.technician_id, slot.bay_id), hold=True, now=now
                )
            except CLASHES as exc:  # lost to a concurrent booking: the next slot
                last = exc
        raise last or NoSlotAvailable("no alternative is free")

    async def _hold_elsewhere(
        self, search: SlotSearch, start: datetime, why: DomainError, request: _RequestFactory, now: datetime
    ) -> Occurrence:
        """``alternatives`` mode: the nearest free time on the same local day, else within ``MOVE_DAYS``."""
        for days in (0, MOVE_DAYS):
            slots = await self._nearest(search, start, now, days=days, limit=5)
            if not slots:
                continue
            try:
                appt = await self._hold_first(slots, request, now)
            except CLASHES:
                continue
            where = "the same day" if days == 0 else f"within {MOVE_DAYS} days"
            return Occurrence(start, appt, f"{why.message}; moved to {appt.start.isoformat()} ({where})")
        return Occurrence(start, None, f"{why.message}; no alternative within {MOVE_DAYS} days")

    async def _nearest(
        self, search: SlotSearch, start: datetime, now: datetime, *, days: int, limit: int
    ) -> list[Slot]:
        """Free slots around ``start`` (its local day, ``days`` either side), nearest to it first."""
        tz = (await self._catalog.shop_catalog(search.shop_ids[0])).shop.tz
        day = local_date(start, tz)
        earliest = max(local_day_bounds(day - timedelta(days=days), tz).start, now)
        last = local_day_bounds(day + timedelta(days=days), tz).end
        if earliest >= last:
            return []
        around = replace(
            search,
            exact_start=None,
            preferred_date=None,
            earliest=earliest,
            search_days=(day + timedelta(days=days) - local_date(earliest, tz)).days + 1,
            top_k=10,
        )
        try:
            result = await self._finder.find(around, now)
        except NoSlotAvailable:
            return []
        slots = [s for s in result.slots if s.start < last]
        return sorted(slots, key=lambda s: (abs((s.start - start).total_seconds()), s.start))[:limit]

    async def _clash_answer(self, search: SlotSearch, clash: _Clash, now: datetime) -> dict[str, object]:
        nearest = await self._nearest(search, clash.requested, now, days=0, limit=NEAREST_ALTERNATIVES)
        return {
            "requested": clash.requested.isoformat(),
            "code": clash.error.code,
            "reason": clash.error.message,
            "alternatives": [
                {
                    "datetime": s.start.isoformat(),
                    "technician_id": s.technician_id,
                    "service_bay_id": s.bay_id,
                    "shop_id": s.shop_id,
                }
                for s in nearest
            ],
        }

    # -- the second phase ----------------------------------------------------------------------

    async def _confirm_all(
        self, series_id: str, held: list[Occurrence], req: SeriesRequest, now: datetime
    ) -> list[Occurrence]:
        confirmed: list[Occurrence] = []
        for index, occ in enumerate(held):
            if occ.appointment is None:
                confirmed.append(occ)
                continue
            try:
                appt = await self._booking.confirm(occ.appointment.id)
            except DomainError as exc:  # the hold expired meanwhile (a very slow series)
                if req.conflicts is ConflictMode.REJECT:
                    for done in confirmed:
                        if done.appointment is not None:
                            await self._booking.cancel(done.appointment.id, reason="series refused")
                    await self._undo(series_id, held[index:], now)
                    raise
                confirmed.append(Occurrence(occ.requested, None, exc.message))
                continue
            confirmed.append(replace(occ, appointment=appt))
        return confirmed

    async def _undo(self, series_id: str, held: Sequence[Occurrence], now: datetime) -> None:
        """Release the holds taken so far and delete them: a refused series leaves no row."""
        for occ in held:
            if occ.appointment is not None and occ.appointment.status is AppointmentStatus.HELD:
                # already expired or released: nothing holds the time
                with suppress(DomainError):
                    await self._booking.release_hold(occ.appointment.id, now=now)
        await in_transaction(self._booking.pool, lambda conn: appointments.purge_released_series(conn, series_id))
