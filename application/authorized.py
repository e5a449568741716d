"""The use cases as a caller may run them: every read and write checked against its scope, here, once.

The HTTP API calls only this for anything a caller addresses; the event
bridge, which acts for the service itself, calls the use cases directly. An
object outside the caller's scope answers exactly as an unknown id
(``application.access``); lists and searches only ever see the caller's shops
(and, for a booking key, what it booked).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from application.access import (
    Action,
    Caller,
    Role,
    authorize_appointment,
    require,
    unknown_series,
    unknown_technician,
)
from application.booking import UNSET, BookingService
from application.booking_queries import BookingQueries, TechnicianSchedule
from application.calendar_feed_tokens import CalendarFeedTokens
from application.catalog_cache import CatalogCache
from application.kpis import KpiService, kpi_window
from application.lifecycle import LifecycleService
from application.mobile import MobileRules
from application.overrun import OverrunPlan, OverrunService
from application.routes import RoutePlan, RoutePlanner, TechnicianRoute
from application.scheduler import Scheduler
from application.search_log import SearchLog
from application.series import BookedSeries, SeriesBooker, SeriesRequest
from application.shop_day import ShopDay, ShopDayService
from application.slot_search import SlotSearch, SlotSearchResult
from application.time_off import TimeOffPlan, TimeOffService
from application.waitlist import EntryView, JoinRequest, WaitlistService, unknown_entry
from domain.appointment import Appointment
from domain.catalog import ServiceType
from domain.customer import Customer
from domain.errors import InvalidRequest, NotFound, Unauthenticated
from domain.kpis import KpiReport
from domain.resources import Technician
from domain.time_windows import Interval
from domain.waitlist import WaitlistOffer
from integrations.travel_times import StraightLineTravel
from store.absence_repository import Absence


class AuthorizedUseCases:
    """Search, book, read, change and cancel appointments, read technicians: as ``caller`` may."""

    def __init__(
        self,
        scheduler: Scheduler,
        booking: BookingService,
        queries: BookingQueries,
        catalog: CatalogCache,
        feed_tokens: CalendarFeedTokens,
        time_off: TimeOffService | None = None,
        overrun: OverrunService | None = None,
        lifecycle: LifecycleService | None = None,
        kpis: KpiService | None = None,
        *,
        series: SeriesBooker | None = None,
        waitlist: WaitlistService | None = None,
        searches: SearchLog | None = None,
        routes: RoutePlanner | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._booking = booking
        self._queries = queries
        self._catalog = catalog
        self._feed_tokens = feed_tokens
        self._time_off = time_off
        self._overrun = overrun
        self._lifecycle = lifecycle or LifecycleService(booking)
        self._searches = searches or SearchLog(booking.pool, booking.clock)
        self._kpis = kpis or KpiService(booking.pool, catalog, self._searches)
        self._series = series or SeriesBooker(scheduler.finder, booking, catalog)
        self._waitlist = waitlist
        self._shop_day = ShopDayService(booking.pool, catalog, self._kpis, booking.clock)
        self._routes = routes

    # -- slots and booking ---------------------------------------------------------------

    async def search(self, caller: Caller, search: SlotSearch) -> SlotSearchResult:
        """The ranked slots, the search recorded for the KPIs (its id in ``search_id``)."""
        require(caller, Action.SEARCH)
        result = await self._scheduler.find(_scoped(caller, search))
        return replace(result, search_id=await self._searches.record(caller.principal, search, result))

    async def book_chosen(
        self, caller: Caller, search: SlotSearch, *, search_id: str | None = None, **chosen: Any
    ) -> Appointment:
        """``Scheduler.book_chosen`` within the caller's shops, recorded as booked by its key (and linked to
        the search it followed: ``search_id``, else the caller's latest for the vehicle and service)."""
        require(caller, Action.BOOK)
        appt = await self._scheduler.book_chosen(_scoped(caller, search), booked_by=caller.key_id, **chosen)
        await self._searches.link(appt, caller.principal, search_id)
        return appt

    async def book_best(
        self, caller: Caller, search: SlotSearch, *, search_id: str | None = None, **choice: Any
    ) -> Appointment:
        """``Scheduler.book_best`` within the caller's shops, recorded as booked by its key (and linked)."""
        require(caller, Action.BOOK)
        appt = await self._scheduler.book_best(_scoped(caller, search), booked_by=caller.key_id, **choice)
        await self._searches.link(appt, caller.principal, search_id)
        return appt

    async def purge_searches(self, retention: timedelta) -> int:
        """Drop recorded searches older than ``retention`` (``SEARCH_RETENTION_DAYS``); the service's own chore."""
        return await self._searches.purge(retention)

    # -- recurring series ----------------------------------------------------------------

    async def book_series(self, caller: Caller, req: SeriesRequest) -> BookedSeries:
        """``SeriesBooker.book`` within the caller's shops, every occurrence recorded as booked by its key."""
        require(caller, Action.BOOK)
        return await self._series.book(replace(req, search=_scoped(caller, req.search), booked_by=caller.key_id))

    async def series(self, caller: Caller, series_id: str) -> list[Appointment]:
        """The occurrences of a series ``caller`` may read; a series with none of them is as unknown as no series."""
        require(caller, Action.READ_APPOINTMENT)
        visible = [a for a in await self._series_or_unknown(series_id) if caller.covers(a)]
        if not visible:
            raise unknown_series(series_id)
        return visible

    async def cancel_series(
        self, caller: Caller, series_id: str, *, since: datetime | None, reason: str | None = None
    ) -> list[Appointment]:
        """Cancel the caller's live occurrences from ``since`` on (all without it); the series as it is then."""
        require(caller, Action.CANCEL)
        visible = [a for a in await self._series_or_unknown(series_id) if caller.covers(a)]
        if not visible:
            raise unknown_series(series_id)
        await self._series.cancel(visible, since=since, reason=reason)
        return [a for a in await self._series.series(series_id) if caller.covers(a)]

    async def _series_or_unknown(self, series_id: str) -> list[Appointment]:
        try:
            return await self._series.series(series_id)
        except NotFound:
            raise unknown_series(series_id) from None

    # -- the waitlist ----------------------------------------------------------------------

    async def join_waitlist(self, caller: Caller, req: JoinRequest) -> tuple[EntryView, bool]:
        """Put a job on the waitlist at one of the caller's shops (a key scoped to shops must name one)."""
        require(caller, Action.WAITLIST)
        if req.shop_id is not None and not caller.covers_shop(req.shop_id):
            raise InvalidRequest(f"unknown shop {req.shop_id}", field="shop_id")  # as for an unknown shop
        if req.shop_id is None and caller.shops is not None:
            raise InvalidRequest("a key scoped to shops joins with a shop_id, not a location", field="shop_id")
        entry, new = await self._waitlist_service().join(req, booked_by=caller.key_id)
        if not _covers_entry(caller, entry.shop_id, entry.booked_by):
            # the vehicle already waits for this service, on another key's or shop's list: not this caller's to see
            raise InvalidRequest(
                f"vehicle {req.vehicle_id} already waits for {req.service_type} elsewhere", field="vehicle_id"
            )
        return await self._waitlist_service().entry(entry.id), new

    async def waitlist_entry(self, caller: Caller, entry_id: str) -> EntryView:
        """The entry and its live offer, if it lies in the caller's scope (else as unknown as a missing one)."""
        require(caller, Action.WAITLIST)
        try:
            view = await self._waitlist_service().entry(entry_id)
        except NotFound:
            raise unknown_entry(entry_id) from None
        if not _covers_entry(caller, view.entry.shop_id, view.entry.booked_by):
            raise unknown_entry(entry_id)
        return view

    async def leave_waitlist(self, caller: Caller, entry_id: str) -> EntryView:
        await self.waitlist_entry(caller, entry_id)
        return await self._waitlist_service().leave(entry_id)

    async def accept_offer(self, token: str) -> Appointment:
        """Book a waitlist offer's held slot: the token is the credential (single use, hashed at rest)."""
        return await self._waitlist_service().accept(token)

    async def decline_offer(self, token: str) -> WaitlistOffer:
        """Refuse a waitlist offer with its token: the slot passes to the next entry."""
        return await self._waitlist_service().decline(token)

    def _waitlist_service(self) -> WaitlistService:
        if self._waitlist is None:
            raise RuntimeError("the waitlist is not wired into this application")
        return self._waitlist

    # -- one appointment ------------------------------------------------------------------

    async def appointment(
        self, caller: Caller, appointment_id: str, action: Action = Action.READ_APPOINTMENT
    ) -> Appointment:
        """The appointment if ``caller`` may do ``action`` on it (403 by role, else 404 as if unknown)."""
        require(caller, action)
        return authorize_appointment(caller, action, await self._queries.get(appointment_id))

    async def confirm(self, caller: Caller, appointment_id: str) -> Appointment:
        await self.appointment(caller, appointment_id, Action.CONFIRM)
        return await self._booking.confirm(appointment_id)

    async def reschedule(
        self,
        caller: Caller,
        appointment_id: str,
        *,
        start: datetime,
        technician_id: str | None = None,
        bay: str | None = None,
    ) -> Appointment:
        """Move it (a customer link: its time only); ``bay`` is a bay's id or name at the appointment's shop."""
        if technician_id is not None or bay is not None:
            require(caller, Action.REASSIGN)
        appt = await self.appointment(caller, appointment_id, Action.RESCHEDULE)
        bay_id = await self._bay_at(appt.shop_id, bay) if bay is not None else None
        if technician_id is not None:
            try:
                tech = await self._catalog.technician(technician_id)
            except NotFound:
                tech = None
            if tech is None or tech.shop_id != appt.shop_id:
                raise InvalidRequest(f"no technician {technician_id!r} at {appt.shop_id}", field="technician_id")
        return await self._booking.reschedule(appointment_id, start=start, technician_id=technician_id, bay_id=bay_id)

    async def update_details(
        self, caller: Caller, appointment_id: str, *, notes: str | None = UNSET, customer: Customer = UNSET
    ) -> Appointment:
        await self.appointment(caller, appointment_id, Action.EDIT_DETAILS)
        return await self._booking.update_details(appointment_id, notes=notes, customer=customer)

    async def cancel(self, caller: Caller, appointment_id: str, *, reason: str | None = None) -> Appointment:
        await self.appointment(caller, appointment_id, Action.CANCEL)
        return await self._booking.cancel(appointment_id, reason=reason)

    # -- the lifecycle after booking ----------------------------------------------------------

    async def check_in(self, caller: Caller, appointment_id: str) -> Appointment:
        await self.appointment(caller, appointment_id, Action.RUN_LIFECYCLE)
        return await self._lifecycle.check_in(appointment_id)

    async def start(self, caller: Caller, appointment_id: str, *, actual_start: datetime | None = None) -> Appointment:
        await self.appointment(caller, appointment_id, Action.RUN_LIFECYCLE)
        return await self._lifecycle.start(appointment_id, actual_start=actual_start)

    async def complete(
        self,
        caller: Caller,
        appointment_id: str,
        *,
        actual_start: datetime | None = None,
        actual_end: datetime | None = None,
        notes: str | None = None,
    ) -> Appointment:
        await self.appointment(caller, appointment_id, Action.RUN_LIFECYCLE)
        return await self._lifecycle.complete(
            appointment_id, actual_start=actual_start, actual_end=actual_end, notes=notes
        )

    async def no_show(self, caller: Caller, appointment_id: str) -> Appointment:
        await self.appointment(caller, appointment_id, Action.RUN_LIFECYCLE)
        return await self._lifecycle.no_show(appointment_id)

    # -- figures ------------------------------------------------------------------------------

    async def shop_kpis(self, caller: Caller, shop_id: str, start: datetime, end: datetime) -> KpiReport:
        """One shop's figures over ``[start, end)``; a shop outside the caller's is as unknown as a missing one."""
        require(caller, Action.READ_KPIS)
        window = kpi_window(start, end)
        if not caller.covers_shop(shop_id):
            raise NotFound(f"no shop {shop_id!r}", shop_id=shop_id)  # CatalogCache.shop's words for an unknown one
        return await self._kpis.report([shop_id], window)

    async def chain_kpis(self, caller: Caller, start: datetime, end: datetime) -> KpiReport:
        """The figures of every shop the caller covers, together."""
        require(caller, Action.READ_KPIS)
        return await self._kpis.chain(kpi_window(start, end), caller.shops)

    async def shop_day(self, caller: Caller, shop_id: str, day: date) -> ShopDay:
        """The shop-day page's content: staff and admins, at their shops (another shop is as unknown as none)."""
        require(caller, Action.READ_SCHEDULE)
        require(caller, Action.READ_KPIS)
        if not caller.covers_shop(shop_id):
            raise NotFound(f"no shop {shop_id!r}", shop_id=shop_id)
        return await self._shop_day.day(shop_id, day, caller.shops)

    async def appointment_for_calendar(
        self, appointment_id: str, *, caller: Caller | None, feed_token: str | None
    ) -> Appointment:
        """The appointment for its ``.ics``: a caller who may read it, or the file's secret URL token."""
        if caller is not None:
            return await self.appointment(caller, appointment_id)
        if feed_token and await self._feed_tokens.opens_appointment(appointment_id, feed_token):
            return await self._queries.get(appointment_id)
        raise Unauthenticated("send an API key, or use the calendar file's URL with its token")

    # -- lists ------------------------------------------------------------------------------

    async def vehicle_appointments(
        self, caller: Caller, vehicle_id: str, *, limit: int, offset: int
    ) -> tuple[list[Appointment], int]:
        """A page of the vehicle's appointments that the caller may see, and how many there are."""
        require(caller, Action.LIST_VEHICLE)
        shops = sorted(caller.shops) if caller.shops is not None else None
        items = await self._queries.list_by_vehicle(
            vehicle_id, limit, offset, shop_ids=shops, booked_by=caller.booked_by
        )
        total = await self._queries.count_by_vehicle(vehicle_id, shop_ids=shops, booked_by=caller.booked_by)
        return items, total

    async def technicians(
        self, caller: Caller, *, shop_id: str | None, skill: str | None, limit: int, offset: int
    ) -> tuple[list[Technician], int]:
        require(caller, Action.READ_TECHNICIANS)
        return await self._catalog.list_technicians(
            shop_id=shop_id, skill=skill, limit=limit, offset=offset, within_shops=caller.shops
        )

    async def technician(
        self, caller: Caller, technician_id: str, action: Action = Action.READ_TECHNICIANS
    ) -> Technician:
        require(caller, action)
        tech = await self._catalog.technician(technician_id)
        if not caller.covers_shop(tech.shop_id):
            raise unknown_technician(technician_id)
        return tech

    # -- the catalog and mobile routes (issue 17) -------------------------------------------

    async def service_types(self, caller: Caller) -> list[ServiceType]:
        """The service catalog (chain-wide: every shop books from the same list)."""
        require(caller, Action.READ_CATALOG)
        return await self._catalog.service_types()

    async def technician_route(self, caller: Caller, technician_id: str, day: date) -> TechnicianRoute:
        tech = await self.technician(caller, technician_id, Action.READ_SCHEDULE)
        return await self._planner().route(tech, day)

    async def optimize_routes(self, caller: Caller, shop_id: str, day: date) -> RoutePlan:
        require(caller, Action.OPTIMIZE_ROUTES)
        if not caller.covers_shop(shop_id):
            raise NotFound(f"no shop {shop_id!r}", shop_id=shop_id)  # CatalogCache.shop's words for an unknown one
        await self._catalog.shop(shop_id)  # NotFound: 404
        return await self._planner().optimize(shop_id, day)

    def _planner(self) -> RoutePlanner:
        if self._routes is None:
            self._routes = RoutePlanner(self._booking, MobileRules(StraightLineTravel()))
        return self._routes

    async def record_time_off(
        self, caller: Caller, technician_id: str, window: Interval, reason: str | None, *, dry_run: bool
    ) -> TimeOffPlan:
        """Record (or with ``dry_run`` plan) a technician's time off at the caller's shops, and replan."""
        await self.technician(caller, technician_id, Action.MANAGE_TIME_OFF)
        return await self._time_off_service().record(technician_id, window.start, window.end, reason, dry_run=dry_run)

    async def withdraw_time_off(self, caller: Caller, technician_id: str, absence_id: str) -> Absence:
        await self.technician(caller, technician_id, Action.MANAGE_TIME_OFF)
        return await self._time_off_service().withdraw(technician_id, absence_id)

    async def time_off(self, caller: Caller, technician_id: str) -> list[Absence]:
        await self.technician(caller, technician_id, Action.MANAGE_TIME_OFF)
        return await self._time_off_service().absences_of(technician_id)

    async def extend(self, caller: Caller, appointment_id: str, minutes: int) -> OverrunPlan:
        """Lengthen a job in progress at the caller's shops, moving what it collides with."""
        await self.appointment(caller, appointment_id, Action.EXTEND_JOB)
        if self._overrun is None:
            raise RuntimeError("overruns are not wired into this application")
        return await self._overrun.extend(appointment_id, minutes)

    def _time_off_service(self) -> TimeOffService:
        if self._time_off is None:
            raise RuntimeError("time off is not wired into this application")
        return self._time_off

    async def technician_schedule(self, caller: Caller, technician_id: str, window: Interval) -> TechnicianSchedule:
        await self.technician(caller, technician_id, Action.READ_SCHEDULE)
        return await self._queries.technician_schedule(technician_id, window)

    async def technician_for_feed(
        self, technician_id: str, *, caller: Caller | None, feed_token: str | None
    ) -> Technician:
        """The technician for its calendar feed: a caller who may read schedules, or the feed's URL token."""
        if caller is not None:
            return await self.technician(caller, technician_id, Action.READ_SCHEDULE)
        if feed_token and await self._feed_tokens.opens_technician(technician_id, feed_token):
            return await self._catalog.technician(technician_id)
        raise Unauthenticated("send an API key, or use the feed's URL with its token")

    # -- secret URLs ---------------------------------------------------------------------------

    async def technician_feed_token(self, caller: Caller, technician_id: str) -> str:
        """The secret of the technician's feed URL, for a caller who may read that schedule."""
        await self.technician(caller, technician_id, Action.READ_SCHEDULE)
        return await self._feed_tokens.technician(technician_id)

    async def appointment_file_token(self, caller: Caller, appt: Appointment) -> str:
        """The secret of the appointment's ``.ics`` URL, for a caller who may read it."""
        authorize_appointment(caller, Action.READ_APPOINTMENT, appt)
        return await self._feed_tokens.appointment(appt.id)

    async def _bay_at(self, shop_id: str, bay: str) -> str:
        cat = await self._catalog.shop_catalog(shop_id)
        found = next((b for b in cat.bays if bay in (b.id, b.name)), None)
        if found is None:
            raise InvalidRequest(f"no service bay {bay!r} at {shop_id}", field="service_bay")
        return found.id


def _covers_entry(caller: Caller, shop_id: str | None, booked_by: str | None) -> bool:
    """Whether a waitlist entry lies in the caller's scope: its shop (a location entry: chain-wide keys only), and
    for a booking key, the entries it made."""
    if caller.shops is not None and (shop_id is None or shop_id not in caller.shops):
        return False
    if caller.role is Role.BOOKING:
        return booked_by is not None and booked_by == caller.key_id
    return caller.role is not Role.CUSTOMER


def _scoped(caller: Caller, search: SlotSearch) -> SlotSearch:
    """The search narrowed to the caller's shops (a named shop outside them is as unknown as a missing one)."""
    if caller.shops is None:
        return search
    within = caller.shops if search.within_shops is None else caller.shops & search.within_shops
    return replace(search, within_shops=within)
