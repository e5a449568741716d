"""Choosing and booking in one step: the use cases the API and the event bridge share.

``book_chosen`` books the slot a client picked and, if it was taken, answers
with fresh alternatives; ``book_best`` lets the optimizer pick (an exact time,
a preferred date, or the immediate next slot for an emergency) and walks down
the ranking when a concurrent client wins the first choice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from application.booking import BookingRequest, BookingService
from application.catalog_cache import CatalogCache
from application.reassigned_booking import book_reassigned
from application.reassignment import REASSIGNABLE, Reassignment, RoomMaker, reassignment_days
from application.shared_alternatives import SharedAlternatives
from application.slot_search import SlotFinder, SlotSearch, SlotSearchResult
from domain.appointment import Appointment
from domain.customer import Customer
from domain.errors import (
    DailyCapReached,
    DomainError,
    InvalidRequest,
    NoSlotAvailable,
    NotFound,
    SlotTaken,
    VehicleAlreadyBooked,
)
from domain.job import Slot
from domain.time_windows import Interval, local_date, local_day_bounds

SLOTS_PER_ROUND = 5
"""Ranked slots tried in turn when concurrent clients take the first ones."""
SEARCH_ROUNDS = 3
"""Fresh searches after a round of slots was lost entirely."""


class Scheduler:
    """Slot search plus booking, with alternatives on conflict."""

    def __init__(
        self, finder: SlotFinder, booking: BookingService, catalog: CatalogCache, room: RoomMaker | None = None
    ) -> None:
        self.finder = finder
        self.booking = booking
        self.catalog = catalog
        self.room = room
        self.alternatives = SharedAlternatives(finder)
        """Losers of the same race share one search for their alternatives (``application.shared_alternatives``)."""

    async def find(self, search: SlotSearch, now: datetime | None = None) -> SlotSearchResult:
        """The ranked slots; for urgent work with none in time, first the earliest slot reassignment frees."""
        return (await self._find(search, now))[0]

    async def _find(self, search: SlotSearch, now: datetime | None) -> tuple[SlotSearchResult, Reassignment | None]:
        now = (now or datetime.now(UTC)).astimezone(UTC)
        # The vehicle's health may raise the urgency: adjust once here, so reassignment sees the job as searched.
        search, health_notes = await self.finder.in_context(search)
        result = await self.finder.find(search, now)
        if health_notes:
            result = replace(result, explanation=(*health_notes, *result.explanation))
        offer = await self._reassignment(search, result, now)
        if offer is None:
            return result, None
        note = (
            f"no slot was free in time: {offer.slot.start.isoformat()} is freed by giving "
            f"{len(offer.moves)} booked appointment(s) another technician or bay at the same time"
        )
        moves = [
            f"appointment {m.appointment_id} would move from {m.technician_from} / {m.bay_from} to "
            f"{m.technician_to} / {m.bay_to}, same time, to free {offer.slot.technician_id} / {offer.slot.bay_id}"
            for m in offer.moves
        ]
        slots = (offer.slot, *result.slots)[: max(1, search.top_k)]
        return replace(result, slots=slots, explanation=(*result.explanation, note, *moves)), offer

    async def _reassignment(self, search: SlotSearch, result: SlotSearchResult, now: datetime) -> Reassignment | None:
        """The earliest slot within the urgency's horizon that reassignment frees, when none is free in it."""
        if self.room is None or search.urgency not in REASSIGNABLE or search.exact_start is not None:
            return None
        _, duration = await self.catalog.service_and_duration(search.service_type, search.duration)
        job = search.job(duration)
        vehicle_busy: list[Interval] | None = None  # read once, and only for a shop-day worth solving
        for shop_id in result.shops_searched:
            cat = await self.catalog.shop_catalog(shop_id)
            days = reassignment_days(cat.shop, search.urgency, now, self.booking.policy.reassign_horizon_days)
            horizon_end = local_day_bounds(days[-1], cat.shop.tz).end
            if _asked_for_later(search, days[-1], horizon_end):
                # The customer wants a later day: moving other customers' work to serve them sooner
                # is not what they asked for (and a solve per horizon day on every such search).
                continue
            if any(s.shop_id == shop_id and s.start < horizon_end for s in result.slots):
                continue
            if vehicle_busy is None:
                vehicle_busy = await self.finder.vehicle_busy(search, now)
            for day in days:
                offer = await self.room.offer(cat, job, day, now, vehicle_busy=vehicle_busy)
                if offer is not None:
                    return offer
        return None

    async def book_chosen(
        self,
        search: SlotSearch,
        *,
        technician_id: str,
        bay: str,
        start: datetime,
        customer: Customer,
        notes: str | None,
        hold: bool,
        shop_id: str | None = None,
        source_ref: str | None = None,
        booked_by: str | None = None,
        now: datetime | None = None,
    ) -> Appointment:
        """Book the technician, bay and start a client chose; SlotTaken carries alternatives.

        A technician outside ``search.within_shops`` is refused exactly as an unknown one.
        """
        try:
            tech = await self.catalog.technician(technician_id)
            if search.within_shops is not None and tech.shop_id not in search.within_shops:
                raise NotFound(f"no technician {technician_id}")
        except NotFound:  # a name in the request body, not the resource addressed: invalid input
            raise InvalidRequest(f"no technician {technician_id!r}", field="technician_id") from None
        if shop_id is not None and tech.shop_id != shop_id:
            raise InvalidRequest(
                f"technician {technician_id} works at {tech.shop_id}, not {shop_id}", field="technician_id"
            )
        cat = await self.catalog.shop_catalog(tech.shop_id)
        chosen_bay = next((b for b in cat.bays if bay in (b.id, b.name)), None)
        if chosen_bay is None:
            raise InvalidRequest(f"no service bay {bay!r} at {tech.shop_id}", field="service_bay")
        # The slot was offered for the job as the vehicle's health shaped it: book that job.
        search, _ = await self.finder.in_context(search)
        _, duration = await self.catalog.service_and_duration(search.service_type, search.duration)
        request = BookingRequest(
            shop_id=tech.shop_id,
            technician_id=tech.id,
            bay_id=chosen_bay.id,
            start=start,
            job=search.job(duration),
            customer=customer,
            notes=notes,
            source_ref=source_ref,
            booked_by=booked_by,
        )
        try:
            return await self.booking.book(request, hold=hold, now=now)
        except SlotTaken as exc:
            refusal = exc
            if not hold and self.room is not None and search.urgency in REASSIGNABLE:
                # A slot that reassignment frees looks taken: make the room, at that very slot, if still possible.
                offer = await self.room.offer(
                    cat,
                    request.job,
                    local_date(start, cat.shop.tz),
                    now or datetime.now(UTC),
                    pinned=(tech.id, chosen_bay.id, start),
                )
                if offer is not None:
                    try:
                        return await book_reassigned(self.booking, request, offer.moves, now)
                    except SlotTaken as lost:  # the day changed meanwhile: a 409 with fresh alternatives
                        refusal = lost
            alternatives = await self._alternatives(
                replace(search, shop_ids=(tech.shop_id,), preferred_date=start.date()), now
            )
            raise SlotTaken(refusal.message, **{**refusal.details, "alternatives": alternatives}) from None

    async def book_best(
        self,
        search: SlotSearch,
        *,
        customer: Customer,
        notes: str | None,
        hold: bool,
        source_ref: str | None = None,
        booked_by: str | None = None,
        now: datetime | None = None,
    ) -> Appointment:
        """Book the optimizer's best slot.

        Concurrent clients at one shop compute the same ranking, so a slot can
        be lost to a race: the walk goes down the ranking, and after a round
        lost entirely it searches again (the actors now show the winners).
        """
        # Health is read once: every round searches (and books) the same job.
        search, health_notes = await self.finder.in_context(search)
        if search.exact_start is not None:
            # A named time inside the notice or beyond the horizon is the request's fault (422), not the calendar's.
            self.booking.policy.check_booking_window(
                search.exact_start, search.urgency, (now or self.booking.clock.now()).astimezone(UTC)
            )
        _, duration = await self.catalog.service_and_duration(search.service_type, search.duration)
        last: DomainError | None = None
        for round_ in range(SEARCH_ROUNDS):
            result, offer = await self._find(replace(search, top_k=max(search.top_k, SLOTS_PER_ROUND)), now)
            if offer is not None and not hold:
                try:
                    return await book_reassigned(
                        self.booking,
                        self._request(search, duration, offer.slot, customer, notes, source_ref, booked_by),
                        offer.moves,
                        now,
                    )
                except (SlotTaken, DailyCapReached, VehicleAlreadyBooked) as exc:  # the day changed meanwhile
                    last = exc
                    continue
            if not result.slots:
                if round_ > 0:
                    break
                explanation = [*health_notes, *result.explanation]
                raise NoSlotAvailable(
                    "no slot fits: " + ("; ".join(explanation) or "no technician and bay are free"),
                    reasons=explanation,
                    suggested_date=result.suggested_date.isoformat() if result.suggested_date else None,
                    alternatives=await self._alternatives(replace(search, exact_start=None), now)
                    if search.exact_start is not None
                    else None,
                )
            for slot in result.slots[:SLOTS_PER_ROUND]:
                try:
                    request = self._request(search, duration, slot, customer, notes, source_ref, booked_by)
                    return await self.booking.book(request, hold=hold, now=now)
                except (SlotTaken, DailyCapReached, VehicleAlreadyBooked) as exc:  # lost to a concurrent booking
                    last = exc
        alternatives = await self._alternatives(replace(search, exact_start=None), now)
        message = last.message if last is not None else "every slot found was taken meanwhile"
        raise SlotTaken(message, **{**(last.details if last else {}), "alternatives": alternatives})

    def _request(
        self,
        search: SlotSearch,
        duration: timedelta,
        slot: Slot,
        customer: Customer,
        notes: str | None,
        source_ref: str | None,
        booked_by: str | None,
    ) -> BookingRequest:
        return BookingRequest(
            shop_id=slot.shop_id,
            technician_id=slot.technician_id,
            bay_id=slot.bay_id,
            start=slot.start,
            job=search.job(duration),
            customer=customer,
            notes=notes,
            source_ref=source_ref,
            booked_by=booked_by,
        )

    async def _alternatives(self, search: SlotSearch, now: datetime | None) -> list[Slot]:
        return await self.alternatives.find(search, (now or datetime.now(UTC)).astimezone(UTC))


def _asked_for_later(search: SlotSearch, last_day: date, horizon_end: datetime) -> bool:
    """True when the search itself starts after the reassignment horizon (a preferred date or ``earliest``)."""
    if search.preferred_date is not None and search.preferred_date > last_day:
        return True
    return search.earliest is not None and search.earliest >= horizon_end
