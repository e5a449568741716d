"""Choosing and booking in one step: the use cases the API and the event bridge share.

``book_chosen`` books the slot a client picked and, if it was taken, answers
with fresh alternatives; ``book_best`` lets the optimizer pick (an exact time,
a preferred date, or the immediate next slot for an emergency) and walks down
the ranking when a concurrent client wins the first choice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from application.booking import BookingRequest, BookingService
from application.catalog_cache import CatalogCache
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

SLOTS_PER_ROUND = 5
"""Ranked slots tried in turn when concurrent clients take the first ones."""
SEARCH_ROUNDS = 3
"""Fresh searches after a round of slots was lost entirely."""


class Scheduler:
    """Slot search plus booking, with alternatives on conflict."""

    def __init__(self, finder: SlotFinder, booking: BookingService, catalog: CatalogCache) -> None:
        self.finder = finder
        self.booking = booking
        self.catalog = catalog

    async def find(self, search: SlotSearch, now: datetime | None = None) -> SlotSearchResult:
        return await self.finder.find(search, now)

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
            alternatives = await self._alternatives(
                replace(search, shop_ids=(tech.shop_id,), preferred_date=start.date()), now
            )
            raise SlotTaken(exc.message, **{**exc.details, "alternatives": alternatives}) from None

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
        _, duration = await self.catalog.service_and_duration(search.service_type, search.duration)
        last: DomainError | None = None
        for round_ in range(SEARCH_ROUNDS):
            result = await self.finder.find(replace(search, top_k=max(search.top_k, SLOTS_PER_ROUND)), now)
            if not result.slots:
                if round_ > 0:
                    break
                raise NoSlotAvailable(
                    "no slot fits: " + ("; ".join(result.explanation) or "no technician and bay are free"),
                    reasons=list(result.explanation),
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
        result = await self.finder.find(search, now or datetime.now(UTC))
        return list(result.slots)
